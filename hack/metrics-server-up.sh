#!/usr/bin/env bash
# Runs metrics-server (built by hack/metrics-server.sh) for the local cluster
# of hack/cluster-up.sh, so that `kubectl top node|pod` work as on a kubeadm
# cluster; `make run` calls it. It runs on this machine like the control
# plane, listening on the Docker bridge gateway; the API server's aggregator
# reaches it through the APIService v1beta1.metrics.k8s.io, a Service without
# selector and an EndpointSlice naming the gateway (cluster-up runs the API
# server with --enable-aggregator-routing: there is no kube-proxy). It
# scrapes each node's kubelet API (/metrics/resource) at its InternalIP.
# Idempotent; hack/metrics-server-down.sh undoes it, cluster-down stops it.
#
# Env: METRICS_SERVER_PORT (4443), METRICS_RESOLUTION (15s; more than 11s: a
#      scrape of a node may take 10s),
#      METRICS_NODE_SELECTOR (label selector of the nodes to scrape; all).
set -euo pipefail

# shellcheck source=hack/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
PKI=$STATE/pki
PORT=${METRICS_SERVER_PORT:-4443}
RESOLUTION=${METRICS_RESOLUTION:-15s}
NODE_SELECTOR=${METRICS_NODE_SELECTOR:-}

log() { echo "metrics-server-up: $*"; }
die() {
	echo "metrics-server-up: ERROR: $*" >&2
	[[ -f $STATE/logs/metrics-server.log ]] && tail -n 30 "$STATE/logs/metrics-server.log" >&2
	exit 1
}
kubectl() { "$BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=10s "$@"; }

[[ -x $BIN/metrics-server ]] || die "$BIN/metrics-server is missing (make metrics-server)"
[[ -f $STATE/metrics-server.kubeconfig && -f $PKI/metrics-server.crt ]] ||
	die "no metrics-server credentials in $STATE (make cluster-up)"
GATEWAY=$(bash "$HACK_DIR/gateway.sh")

# What the official manifests grant: read nodes' metrics and the pods,
# delegate authentication and authorization of its callers to the API server.
kubectl apply -f - >/dev/null <<'YAML' || die "could not create metrics-server's RBAC"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:metrics-server
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:metrics-server
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:metrics-server
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:metrics-server
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: metrics-server:system:auth-delegator
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:metrics-server
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: metrics-server-auth-reader
  namespace: kube-system
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: extension-apiserver-authentication-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:metrics-server
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:aggregated-metrics-reader
  labels:
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
- apiGroups: [metrics.k8s.io]
  resources: [pods, nodes]
  verbs: [get, list, watch]
YAML

if pid=$(pid_of metrics-server); then
	log "already running (pid $pid)"
else
	mkdir -p "$STATE/logs"
	# Nodes are dialled at their InternalIP only: a Hostname address would
	# be a DNS query. A virtual node's serving certificate is self-signed
	# (or from its own CSR), as a kubeadm kubelet's is by default, hence
	# --kubelet-insecure-tls; its client certificate is checked by the node.
	args=(
		--kubeconfig="$STATE/metrics-server.kubeconfig"
		--authentication-kubeconfig="$STATE/metrics-server.kubeconfig"
		--authorization-kubeconfig="$STATE/metrics-server.kubeconfig"
		--bind-address="$GATEWAY"
		--secure-port="$PORT"
		--tls-cert-file="$PKI/metrics-server.crt"
		--tls-private-key-file="$PKI/metrics-server.key"
		--kubelet-preferred-address-types=InternalIP
		--kubelet-use-node-status-port
		--kubelet-insecure-tls
		--metric-resolution="$RESOLUTION"
	)
	[[ -z $NODE_SELECTOR ]] || args+=(--node-selector="$NODE_SELECTOR")
	log "starting metrics-server on $GATEWAY:$PORT"
	rm -f "$STATE/metrics-server.pid"
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$STATE/metrics-server.pid" "$BIN/metrics-server" "${args[@]}" \
		>>"$STATE/logs/metrics-server.log" 2>&1 </dev/null &
fi

# Registered only once it serves: an APIService without a live backend makes
# API discovery incomplete (namespace deletion waits for it).
deadline=$((SECONDS + 60))
until curl -sf --cacert "$PKI/ca.crt" "https://$GATEWAY:$PORT/livez" >/dev/null 2>&1; do
	pid_of metrics-server >/dev/null || die "metrics-server exited"
	((SECONDS < deadline)) || die "metrics-server not live on $GATEWAY:$PORT after 60s"
	sleep 0.5
done

ca=$(base64 -w0 <"$PKI/ca.crt")
kubectl apply -f - >/dev/null <<YAML || die "could not register the APIService"
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
  labels:
    k8s-app: metrics-server
spec:
  ports:
  - name: https
    port: 443
    protocol: TCP
    targetPort: $PORT
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: metrics-server
  namespace: kube-system
  labels:
    kubernetes.io/service-name: metrics-server
    endpointslice.kubernetes.io/managed-by: metrics-server-up.sh
addressType: IPv4
ports:
- name: https
  port: $PORT
  protocol: TCP
endpoints:
- addresses: ["$GATEWAY"]
  conditions:
    ready: true
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
  labels:
    k8s-app: metrics-server
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  caBundle: $ca
  service:
    name: metrics-server
    namespace: kube-system
    port: 443
YAML
kubectl wait --for=condition=Available --timeout=60s apiservice/v1beta1.metrics.k8s.io >/dev/null ||
	die "APIService v1beta1.metrics.k8s.io not Available: $(kubectl get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[0].message}' 2>&1)"
log "metrics.k8s.io served by metrics-server (pid $(pid_of metrics-server), log $STATE/logs/metrics-server.log); kubectl top works once it has scraped twice ($RESOLUTION apart)"
