#!/usr/bin/env bash
# Starts the reference node "kubelet-ref" (`make kubelet-ref`): a real kubelet
# (bin/kubelet, k8s.io/kubernetes as pinned in hack/tools, built here when
# missing) on a second containerd with its CRI plugin (Debian's containerd,
# its own root, state and socket), registered with the local control plane,
# for `make bench BENCH_ARGS="-kubelet-node kubelet-ref"`. cri-dockerd is not
# served by the module proxy, so the kubelet cannot run on Docker itself.
# Docker and its containerd are not touched. Pods reach nothing beyond a
# bridge of their own (no masquerade, no default route). Rerun after down.sh.
#
# Env: PAUSE_IMAGE (default: the vk-docker/pause image found in Docker),
#      IMAGES (extra Docker images to import; default vk-docker/busybox:0.1.0),
#      CGROUPS_PER_QOS (true), READY_TIMEOUT (180 s), KUBECONFIG_ADMIN.
set -euo pipefail

T0=$(date +%s.%N)
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CGROUPS_PER_QOS=${CGROUPS_PER_QOS:-true}
READY_TIMEOUT=${READY_TIMEOUT:-180}
IMAGES=${IMAGES:-vk-docker/busybox:0.1.0}

log() { echo "up: $*"; }
die() {
	echo "up: ERROR: $*" >&2
	exit 1
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }


[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $KUBECTL ]] || die "$KUBECTL missing (make cluster-up)"
[[ $(k get --raw /readyz 2>/dev/null) == ok ]] || die "API server not ready (make cluster-up)"
command -v containerd >/dev/null || die "containerd missing (apt-get install containerd)"
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || die "CNI plugins missing (apt-get install containernetworking-plugins)"
if [[ ! -x $KUBELET ]]; then
	# The control plane's version flags, so that the node reports it.
	version=$(cd "$HACK_DIR/tools" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
	minor=${version#v*.}
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
	done
	log "building $KUBELET ($version; several minutes cold)"
	(cd "$HACK_DIR/tools" && go build -ldflags "$ldflags" -o "$KUBELET" k8s.io/kubernetes/cmd/kubelet)
fi
[[ -f $CA ]] || die "$CA missing"

mkdir -p "$LOGS" "$RUN" "$REF/kubelet" "$REF/pod-logs" "$REF/volume-plugins" "$REF/cni/ipam" "$REF/cni/net.d"
render() { sed -e "s#@STATE@#$REF#g" -e "s#@RUN@#$RUN#g" "$@"; }
render "$REF_HACK_DIR/cni.conflist.in" >"$REF/cni/net.d/10-kubelet-ref.conflist"

# --- images ------------------------------------------------------------------
if [[ -z ${PAUSE_IMAGE:-} ]]; then
	PAUSE_IMAGE=$(docker images --format '{{.Repository}}:{{.Tag}}' vk-docker/pause | grep -v '<none>' | sort -V | tail -1)
fi
[[ -n $PAUSE_IMAGE ]] || die "no vk-docker/pause image in Docker (make images)"
docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1 || die "image $PAUSE_IMAGE not in Docker"
# The name containerd gives an image imported from `docker save`.
normalize() {
	local r=$1
	[[ $r == */* ]] || r=library/$r
	[[ ${r%%/*} == *.* || ${r%%/*} == *:* || ${r%%/*} == localhost ]] || r=docker.io/$r
	[[ ${r##*/} == *:* || $r == *@* ]] || r=$r:latest
	echo "$r"
}
SANDBOX_IMAGE=$(normalize "$PAUSE_IMAGE")
log "sandbox image: $SANDBOX_IMAGE (from Docker $PAUSE_IMAGE)"

# --- containerd (CRI) ---------------------------------------------------------
render -e "s#@SANDBOX_IMAGE@#$SANDBOX_IMAGE#" "$REF_HACK_DIR/containerd.toml.in" >"$REF/containerd.toml"
if pid=$(pid_alive "$RUN/containerd.pid" /usr/bin/containerd); then
	log "containerd already running (pid $pid)"
else
	log "starting containerd"
	setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$RUN/containerd.pid" \
		/usr/bin/containerd --config "$REF/containerd.toml" >>"$LOGS/containerd.log" 2>&1 </dev/null &
fi
for _ in $(seq 100); do
	ctr -a "$SOCK" version >/dev/null 2>&1 && break
	sleep 0.1
done
ctr -a "$SOCK" version >/dev/null 2>&1 || die "containerd did not come up (see $LOGS/containerd.log)"
log "containerd ready after $(elapsed "$T0") s"

for img in "$PAUSE_IMAGE" $IMAGES; do
	ref=$(normalize "$img")
	if ctr_ images ls -q | grep -qxF "$ref"; then
		log "image $ref already imported"
		continue
	fi
	docker image inspect "$img" >/dev/null 2>&1 || die "image $img not in Docker"
	log "importing $img as $ref"
	docker save "$img" | ctr_ images import - >/dev/null
	ctr_ images ls -q | grep -qxF "$ref" || die "import of $img did not yield $ref"
done
log "images ready after $(elapsed "$T0") s"

# --- kubelet -----------------------------------------------------------------
NODE_IP=$(bash "$HACK_DIR/gateway.sh")
if [[ $CGROUPS_PER_QOS == true ]]; then ENFORCE='["pods"]'; else ENFORCE='[]'; fi
render -e "s#@NODE_IP@#$NODE_IP#" -e "s#@CA@#$CA#" -e "s#@CGROUPS_PER_QOS@#$CGROUPS_PER_QOS#" \
	-e "s#@ENFORCE@#$ENFORCE#" "$REF_HACK_DIR/kubelet-config.yaml.in" >"$REF/kubelet-config.yaml"
if pid=$(pid_alive "$REF/kubelet.pid" "$KUBELET"); then
	log "kubelet already running (pid $pid)"
else
	log "starting kubelet (node $NODE, node IP $NODE_IP)"
	TK=$(date +%s.%N)
	setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$REF/kubelet.pid" \
		"$KUBELET" --config "$REF/kubelet-config.yaml" --kubeconfig "$KCFG" \
		--root-dir "$REF/kubelet" --cert-dir "$REF/kubelet/pki" \
		--hostname-override "$NODE" --node-ip "$NODE_IP" \
		--node-labels kubelet-ref=true --v=2 \
		>>"$LOGS/kubelet.log" 2>&1 </dev/null &
fi
[[ -n ${TK:-} ]] || { TK=$T0; log "(kubelet was already running: times below are from up.sh start)"; }

deadline=$((SECONDS + READY_TIMEOUT))
while ((SECONDS < deadline)); do
	st=$(k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
	[[ $st == True ]] && break
	pid_alive "$REF/kubelet.pid" "$KUBELET" >/dev/null || die "kubelet exited (see $LOGS/kubelet.log): $(tail -3 "$LOGS/kubelet.log")"
	sleep 0.5
done
[[ $st == True ]] || die "node $NODE not Ready after ${READY_TIMEOUT}s: $(k get node "$NODE" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.message}{"\n"}{end}' 2>&1)"
log "node $NODE Ready: $(elapsed "$TK") s after kubelet start, $(elapsed "$T0") s after up.sh start"
