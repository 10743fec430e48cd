# Shared by up.sh and down.sh (sourced): where the reference node lives and
# how to reach it, on top of the control plane's cluster-lib.sh.
# shellcheck shell=bash
# shellcheck source=../cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster-lib.sh"
REF_HACK_DIR=$HACK_DIR/kubelet-ref
# Runtime state; the kubelet's root holds mounts, so not inside the repository.
REF=${KUBELET_REF_DIR:-/tmp/vk-docker-kubelet-ref}
RUN=/run/vk-docker-kubelet-ref
SOCK=$RUN/containerd.sock
LOGS=$REF/logs
NODE=kubelet-ref
KCFG=${KUBECONFIG_ADMIN:-$STATE/kubeconfig}
CA=$STATE/pki/ca.crt
KUBECTL=$BIN/kubectl
KUBELET=$BIN/kubelet

k() { "$KUBECTL" --kubeconfig "$KCFG" --request-timeout=10s "$@"; }
ctr_() { ctr -a "$SOCK" -n k8s.io "$@"; }
