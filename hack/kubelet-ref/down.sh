#!/usr/bin/env bash
# Tears down the reference node started by up.sh (`make kubelet-ref-down`):
# its pods, the kubelet, the CRI containerd and its shims, the node object, the CNI bridge, network
# namespaces, mounts, cgroups and runtime state. Never touches Docker, Docker's
# containerd or their containers. Safe to run twice.
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNC_ROOT=$RUN/runc/k8s.io
BRIDGE=kref0
SUBNET=172.31.200.

log() { echo "down: $*"; }
# stop PID NAME: SIGTERM, up to 15 s, then SIGKILL.
stop() {
	local pid=$1 i
	log "stopping $2 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	log "$2 did not exit, SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	sleep 0.5
}
# Shims of OUR containerd only: their command line names our socket.
our_shims() {
	local p
	for p in $(pgrep -f -- "-address $SOCK" 2>/dev/null); do
		[[ $(readlink /proc/"$p"/exe 2>/dev/null) == /usr/bin/containerd-shim* ]] && echo "$p"
	done
}

api_ok=false
[[ -x $KUBECTL && $(k get --raw /readyz 2>/dev/null) == ok ]] && api_ok=true
kubelet_pid=$(pid_alive "$REF/kubelet.pid" "$KUBELET") || kubelet_pid=
containerd_pid=$(pid_alive "$RUN/containerd.pid" /usr/bin/containerd) || containerd_pid=

# 1. Pods on the node: grace 0 (kubectl asks for 1 s without --force, so the
#    kubelet still stops the containers and tears down the sandbox network).
if $api_ok; then
	pods=$(k get pods -A --field-selector spec.nodeName=$NODE -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>/dev/null)
	if [[ -n $pods ]]; then
		log "deleting pods: $(echo $pods)"
		while read -r nsname; do
			[[ -n $nsname ]] || continue
			if [[ -n $kubelet_pid ]]; then
				k delete pod -n "${nsname%%/*}" "${nsname#*/}" --grace-period=0 --wait=false 2>&1 | grep -v 'Immediate deletion' &
			else
				k delete pod -n "${nsname%%/*}" "${nsname#*/}" --grace-period=0 --force --wait=false 2>&1 | grep -v -i 'immediate deletion\|warning' &
			fi
		done <<<"$pods"
		wait
		for _ in $(seq 120); do
			[[ -z $(k get pods -A --field-selector spec.nodeName=$NODE -o name 2>/dev/null) ]] && break
			sleep 0.5
		done
		left=$(k get pods -A --field-selector spec.nodeName=$NODE -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>/dev/null)
		if [[ -n $left ]]; then
			log "force-deleting pods still present: $(echo $left)"
			while read -r nsname; do
				[[ -n $nsname ]] && k delete pod -n "${nsname%%/*}" "${nsname#*/}" --grace-period=0 --force --wait=false >/dev/null 2>&1
			done <<<"$left"
		fi
	fi
fi

# 2. Give the kubelet a moment to stop the sandboxes (CNI DEL) of the deleted pods.
if [[ -n $kubelet_pid && -n $containerd_pid ]]; then
	for _ in $(seq 60); do
		[[ -z $(ctr_ tasks ls -q 2>/dev/null) ]] && break
		sleep 0.5
	done
fi

# 3. The kubelet.
[[ -n $kubelet_pid ]] && stop "$kubelet_pid" kubelet
rm -f "$REF/kubelet.pid"

# 4. Leftover tasks, then containerd itself.
if [[ -n $containerd_pid ]]; then
	for t in $(ctr_ tasks ls -q 2>/dev/null); do
		log "killing leftover task $t"
		ctr_ tasks kill -a -s KILL "$t" >/dev/null 2>&1
	done
	sleep 0.5
	for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$t" >/dev/null 2>&1; done
	stop "$containerd_pid" containerd
fi
rm -f "$RUN/containerd.pid"

# 5. Shims and runc containers left behind (only ours: matched by our socket / runc root).
for p in $(our_shims); do stop "$p" "containerd-shim"; done
if [[ -d $RUNC_ROOT ]]; then
	for c in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
		log "removing leftover runc container $c"
		runc --root "$RUNC_ROOT" kill -a "$c" KILL >/dev/null 2>&1
		runc --root "$RUNC_ROOT" delete -f "$c" >/dev/null 2>&1
	done
fi

# 6. Mounts under our directories (deepest first; lazy as a last resort).
unmount_all() {
	local m
	for _ in 1 2 3; do
		mapfile -t ms < <(awk '{print $2}' /proc/self/mounts | grep -E "^($REF|$RUN)(/|$)" | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
		((${#ms[@]})) || return 0
		for m in "${ms[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	done
}
unmount_all

# 7. Network: netns files (kept under our state dir; also any named cni-* netns
#    whose veth peer sits on our bridge), the bridge, CNI iptables rules.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
	if ip -n "$ns" -4 addr 2>/dev/null | grep -q "inet $SUBNET"; then
		log "removing netns $ns"
		ip netns delete "$ns" 2>/dev/null
	fi
done
if ip link show "$BRIDGE" >/dev/null 2>&1; then
	for v in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip link delete "$v" 2>/dev/null
	done
	log "deleting bridge $BRIDGE"
	ip link delete "$BRIDGE" 2>/dev/null
fi
for save in iptables-save iptables-legacy-save; do
	restore=${save%-save}
	command -v "$save" >/dev/null || continue
	for tbl in nat filter mangle; do
		# Rules the CNI plugins made for our network (comment / subnet), then their empty CNI- chains.
		"$save" -t "$tbl" 2>/dev/null | grep -E '^-A ' | grep -E "kubelet-ref|${SUBNET//./\\.}" | while read -r line; do
			log "$restore -t $tbl: removing ${line}"
			eval "$restore -t $tbl ${line/#-A/-D}" 2>/dev/null
		done
	done
done
rm -rf "$RUN" "$REF/cni/ipam"
rm -f /var/lib/cni/results/kubelet-ref-* 2>/dev/null
rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null

# 8. The node object (after the kubelet is gone, or it registers again).
if $api_ok && k get node "$NODE" >/dev/null 2>&1; then
	log "deleting node $NODE"
	k delete node "$NODE" --wait=true >/dev/null
fi

# 9. Runtime state (the kubelet root dir, containerd's root with its images and
#    snapshots, pod logs) and the cgroups the kubelet / runc made.
unmount_all
rm -rf "$REF/kubelet" "$REF/containerd" "$REF/pod-logs" "$REF/volume-plugins"
# The kubelet's device manager socket is hardcoded (pluginapi.DevicePluginPath,
# not under --root-dir): remove its files, and the dirs if that leaves them empty.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/unified/; do
	for top in kubepods k8s.io; do
		[[ -d $h$top ]] && find "$h$top" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
done

# 10. Verify.
bad=0
ip link show "$BRIDGE" >/dev/null 2>&1 && { log "LEFT: link $BRIDGE"; bad=1; }
grep -q -E "$REF|$RUN" /proc/self/mounts && { log "LEFT: mounts"; grep -E "$REF|$RUN" /proc/self/mounts; bad=1; }
[[ -n $(our_shims) ]] && { log "LEFT: shims $(our_shims)"; bad=1; }
pgrep -f -- "$KUBELET" >/dev/null && { log "LEFT: kubelet process"; bad=1; }
pgrep -f -- "containerd --config $REF/containerd.toml" >/dev/null && { log "LEFT: containerd process"; bad=1; }
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/unified/; do
	for top in kubepods k8s.io; do [[ -d $h$top ]] && { log "LEFT: cgroup $h$top"; bad=1; }; done
done
$api_ok && k get node "$NODE" >/dev/null 2>&1 && { log "LEFT: node object"; bad=1; }
[[ -e /var/lib/kubelet/device-plugins/kubelet.sock ]] && { log "LEFT: /var/lib/kubelet/device-plugins/kubelet.sock"; bad=1; }
((bad)) && exit 1
log "clean"
