#!/usr/bin/env bash
# Starts a local Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) built by hack/build-control-plane.sh.
# No kubelet: nodes are virtual-kubelet instances started separately.
#
# State lives in $REPO/.cluster (pki/, etcd/, logs/, *.pid, kubeconfigs).
# Idempotent: exits 0 at once when the cluster is already running and healthy.
#
# Env: APISERVER_PORT (6443), ETCD_PORT (2379), ETCD_PEER_PORT (2380),
#      KCM_PORT (10357), SCHEDULER_PORT (10359), START_TIMEOUT (90 s).
set -euo pipefail

# shellcheck source=hack/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
PKI=$STATE/pki
LOGS=$STATE/logs

APISERVER_PORT=${APISERVER_PORT:-6443}
ETCD_PORT=${ETCD_PORT:-2379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-2380}
KCM_PORT=${KCM_PORT:-10357}
SCHEDULER_PORT=${SCHEDULER_PORT:-10359}
START_TIMEOUT=${START_TIMEOUT:-90}
FIRST_SERVICE_IP=10.0.0.1 # the first address of SERVICE_CIDR (cluster-lib.sh)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

log() { echo "cluster-up: $*"; }
die() {
	echo "cluster-up: ERROR: $*" >&2
	exit 1
}

kubectl() { "$BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s "$@"; }

apiserver_ready() { [[ $(kubectl get --raw /readyz 2>/dev/null) == ok ]]; }

healthy() {
	local c
	for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
	[[ -f $STATE/kubeconfig && -f $STATE/bootstrap-kubeconfig ]] && apiserver_ready
}

print_env() {
	echo
	echo "Cluster is up. Use it with:"
	echo "  export KUBECONFIG=$STATE/kubeconfig PATH=$BIN:\$PATH"
}

detect_gateway() { bash "$REPO/hack/gateway.sh"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME ARGS...: runs $BIN/NAME in its own session, logs to logs/NAME.log.
start() {
	local name=$1
	shift
	log "starting $name"
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$STATE/$name.pid" "$BIN/$name" "$@" \
		>>"$LOGS/$name.log" 2>&1 </dev/null &
	local i
	for i in $(seq 50); do
		[[ -s $STATE/$name.pid ]] && return 0
		sleep 0.1
	done
	die "$name did not start"
}

stop_recorded() {
	local c pid
	for c in "${COMPONENTS[@]}"; do
		if pid=$(pid_of "$c"); then
			log "stopping stale $c (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$STATE/$c.pid"
	done
}

dump_logs() {
	local f
	for f in "$LOGS"/*.log; do
		[[ -f $f ]] || continue
		echo "===== tail -n 40 $f" >&2
		tail -n 40 "$f" >&2
	done
}

fail() {
	echo "cluster-up: ERROR: $*" >&2
	dump_logs
	echo "cluster-up: processes left running for inspection; clean up with hack/cluster-down.sh" >&2
	exit 1
}

# --- already up? -----------------------------------------------------------
unreachable_service_route add
if [[ -x $BIN/kubectl ]] && healthy; then
	log "already running and healthy (API server https://127.0.0.1:$APISERVER_PORT)"
	print_env
	exit 0
fi

bash "$HACK_DIR/build-control-plane.sh"

mkdir -p "$STATE" "$LOGS" "$PKI"
chmod 700 "$STATE"

# Partially running (crashed component, half-finished start): restart all.
stop_recorded

for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT"; do
	if port_in_use "$p"; then
		die "port $p on 127.0.0.1 is already in use by another process (see the *_PORT env vars)"
	fi
done

# --- PKI ------------------------------------------------------------------
GATEWAY=$(detect_gateway)
log "Docker bridge gateway: $GATEWAY"
params="gateway=$GATEWAY apiserver_port=$APISERVER_PORT"
# A PKI from before the aggregation layer (no front-proxy CA) is completed.
if [[ -f $PKI/ca.crt && -f $PKI/front-proxy-ca.crt && -f $STATE/kubeconfig && -f $PKI/params && $(<"$PKI/params") == "$params" ]]; then
	log "reusing PKI in $PKI"
else
	log "generating PKI and kubeconfigs ($params)"
	"$BIN/mkcerts" -dir "$STATE" \
		-server "https://127.0.0.1:$APISERVER_PORT" \
		-gateway-server "https://$GATEWAY:$APISERVER_PORT" \
		-apiserver-ips "127.0.0.1,$GATEWAY,$FIRST_SERVICE_IP" \
		-metrics-server-ips "$GATEWAY"
	echo "$params" >"$PKI/params"
fi

# --- etcd -----------------------------------------------------------------
start etcd \
	--name=default \
	--data-dir="$STATE/etcd" \
	--listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
	--advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
	--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster="default=http://127.0.0.1:$ETCD_PEER_PORT" \
	--unsafe-no-fsync=true \
	--log-level=warn

deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; do
	pid_of etcd >/dev/null || fail "etcd exited"
	((SECONDS < deadline)) || fail "etcd not healthy after 30s"
	sleep 0.5
done
log "etcd healthy on 127.0.0.1:$ETCD_PORT"

# --- kube-apiserver -------------------------------------------------------
# The aggregation layer (requestheader/proxy-client flags) serves extension
# API servers such as metrics-server (hack/metrics-server-up.sh); with no
# kube-proxy, the aggregator dials their endpoints' IPs, not ClusterIPs.
# busybox's TLS client (wget in test pods) sends no signature_algorithms
# extension, which in TLS 1.2 means SHA-1 signatures; Go refuses those unless
# tlssha1=1. Clients that offer better (kubectl, client-go) still get better.
GODEBUG=tlssha1=1 start kube-apiserver \
	--bind-address=0.0.0.0 \
	--secure-port="$APISERVER_PORT" \
	--advertise-address="$GATEWAY" \
	--etcd-servers="http://127.0.0.1:$ETCD_PORT" \
	--endpoint-reconciler-type=none \
	--service-cluster-ip-range="$SERVICE_CIDR" \
	--authorization-mode=Node,RBAC \
	--enable-admission-plugins=NodeRestriction \
	--enable-bootstrap-token-auth=true \
	--allow-privileged=true \
	--client-ca-file="$PKI/ca.crt" \
	--tls-cert-file="$PKI/apiserver.crt" \
	--tls-private-key-file="$PKI/apiserver.key" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$PKI/sa.pub" \
	--service-account-signing-key-file="$PKI/sa.key" \
	--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
	--kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
	--kubelet-preferred-address-types=InternalIP,Hostname \
	--requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
	--requestheader-allowed-names=front-proxy-client \
	--requestheader-username-headers=X-Remote-User \
	--requestheader-group-headers=X-Remote-Group \
	--requestheader-extra-headers-prefix=X-Remote-Extra- \
	--proxy-client-cert-file="$PKI/front-proxy-client.crt" \
	--proxy-client-key-file="$PKI/front-proxy-client.key" \
	--enable-aggregator-routing=true

deadline=$((SECONDS + 60))
until apiserver_ready; do
	pid_of kube-apiserver >/dev/null || fail "kube-apiserver exited"
	((SECONDS < deadline)) || fail "kube-apiserver /readyz not ok after 60s"
	sleep 1
done
log "kube-apiserver ready on https://127.0.0.1:$APISERVER_PORT and https://$GATEWAY:$APISERVER_PORT"

# Let the API server reach kubelets (virtual nodes) for logs/exec/port-forward.
kubectl apply -f - <<'EOF' || fail "could not create ClusterRoleBinding kube-apiserver-kubelet-client"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kube-apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kube-apiserver-kubelet-client
EOF

# Nodes join the kubeadm way: a bootstrap token lets them ask for a client
# certificate (system:node:NAME) that the controller-manager approves and
# signs, and renew it later with their own credentials.
bash "$HACK_DIR/cluster-bootstrap.sh" || fail "could not set up node TLS bootstrap"

# --- controller-manager and scheduler --------------------------------------
start kube-controller-manager \
	--kubeconfig="$STATE/controller-manager.kubeconfig" \
	--authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
	--authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
	--bind-address=127.0.0.1 \
	--secure-port="$KCM_PORT" \
	--leader-elect=false \
	--use-service-account-credentials=true \
	--service-account-private-key-file="$PKI/sa.key" \
	--root-ca-file="$PKI/ca.crt" \
	--cluster-signing-cert-file="$PKI/ca.crt" \
	--cluster-signing-key-file="$PKI/ca.key" \
	--controllers='*,bootstrapsigner,tokencleaner' \
	--allocate-node-cidrs=false \
	--service-cluster-ip-range="$SERVICE_CIDR"

start kube-scheduler \
	--kubeconfig="$STATE/scheduler.kubeconfig" \
	--authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
	--authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
	--bind-address=127.0.0.1 \
	--secure-port="$SCHEDULER_PORT" \
	--leader-elect=false

# --- wait for the default ServiceAccount (created by the controller-manager)
deadline=$((SECONDS + START_TIMEOUT))
until kubectl -n default get serviceaccount default >/dev/null 2>&1; do
	for c in "${COMPONENTS[@]}"; do
		pid_of "$c" >/dev/null || fail "$c exited"
	done
	((SECONDS < deadline)) || fail "ServiceAccount default/default not created after ${START_TIMEOUT}s"
	sleep 1
done
apiserver_ready || fail "kube-apiserver /readyz not ok"

log "control plane up (state in $STATE, logs in $LOGS)"
log "bootstrap kubeconfig for nodes (--bootstrap-kubeconfig): $STATE/bootstrap-kubeconfig"
log "admin kubeconfig for containers (server https://$GATEWAY:$APISERVER_PORT): $STATE/kubeconfig-gateway"
print_env
