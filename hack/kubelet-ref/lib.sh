# Shared by up.sh and down.sh (sourced): where the reference node lives and
# how to reach it.
# shellcheck shell=bash
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HACK_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$HACK_DIR/../.." && pwd))
# Runtime state; the kubelet's root holds mounts, so not inside the repository.
REF=${KUBELET_REF_DIR:-/tmp/vk-docker-kubelet-ref}
RUN=/run/vk-docker-kubelet-ref
SOCK=$RUN/containerd.sock
LOGS=$REF/logs
NODE=kubelet-ref
KCFG=${KUBECONFIG_ADMIN:-$REPO/.cluster/kubeconfig}
CA=$REPO/.cluster/pki/ca.crt
KUBECTL=$REPO/bin/kubectl
KUBELET=$REPO/bin/kubelet

k() { "$KUBECTL" --kubeconfig "$KCFG" --request-timeout=10s "$@"; }
ctr_() { ctr -a "$SOCK" -n k8s.io "$@"; }

# alive PIDFILE EXE: prints the pid if the recorded process is alive and runs EXE.
alive() {
	local pid exe
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe% (deleted)} == "$2" ]] || return 1
	echo "$pid"
}
