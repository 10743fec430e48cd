#!/usr/bin/env bash
# Sets up node TLS bootstrap on the running local API server, as kubeadm does:
# a bootstrap token (Secret kube-system/bootstrap-token-ID), the
# ClusterRoleBindings that let its holders (group system:bootstrappers)
# request node client certificates which the controller-manager's
# csrapproving controller approves, and that let nodes (group system:nodes)
# renew their own; and $STATE/bootstrap-kubeconfig holding the token, which
# vk-docker takes as --bootstrap-kubeconfig. The token is kept in
# $STATE/bootstrap-token across runs. Called by cluster-up.sh; idempotent.
set -euo pipefail

# shellcheck source=hack/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
APISERVER_PORT=${APISERVER_PORT:-6443}
TOKEN_FILE=$STATE/bootstrap-token
OUT=$STATE/bootstrap-kubeconfig

kubectl() { "$BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s "$@"; }

# A token is ID.SECRET: [a-z0-9]{6}.[a-z0-9]{16}.
random() { LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c "$1"; }
if [[ ! -s $TOKEN_FILE ]]; then
	(umask 077 && echo "$(random 6).$(random 16)" >"$TOKEN_FILE")
fi
token=$(<"$TOKEN_FILE")
id=${token%%.*}
secret=${token#*.}

kubectl apply -f - <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-$id
  namespace: kube-system
type: bootstrap.kubernetes.io/token
stringData:
  description: vk-docker nodes of the local cluster (hack/cluster-bootstrap.sh)
  token-id: "$id"
  token-secret: "$secret"
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: vk-docker:node-bootstrapper
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node-bootstrapper
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:bootstrappers
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: vk-docker:node-autoapprove-bootstrap
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:certificates.k8s.io:certificatesigningrequests:nodeclient
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:bootstrappers
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: vk-docker:node-autoapprove-certificate-rotation
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:nodes
YAML

rm -f "$OUT.tmp"
k() { "$BIN/kubectl" --kubeconfig "$OUT.tmp" "$@" >/dev/null; }
k config set-cluster vk-docker --server="https://127.0.0.1:$APISERVER_PORT" \
	--certificate-authority="$STATE/pki/ca.crt" --embed-certs=true
chmod 600 "$OUT.tmp"
# kube-public/cluster-info holds the cluster alone; the bootstrap signer signs
# it with the token, so that a node holding only the token can check it talks
# to this cluster.
kubectl -n kube-public create configmap cluster-info --from-file=kubeconfig="$OUT.tmp" \
	--dry-run=client -o yaml | kubectl apply -f - >/dev/null
k config set-credentials "bootstrap-$id" --token="$token"
k config set-context default --cluster=vk-docker --user="bootstrap-$id"
k config use-context default
chmod 600 "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
