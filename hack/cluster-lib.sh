# Sourced by cluster-up.sh and cluster-down.sh: where the control plane's
# binaries and state live, and how to find a component's process.

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HACK_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$HACK_DIR/.." && pwd))
BIN=$REPO/bin
STATE=$REPO/.cluster

# pid_alive PIDFILE EXE: prints the pid recorded in PIDFILE if that process
# is alive and runs EXE (guards against pid reuse).
pid_alive() {
	local pid exe
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe% (deleted)} == "$2" ]] || return 1
	echo "$pid"
}

# pid_of NAME: prints the recorded pid if that process is alive and is our
# binary.
pid_of() { pid_alive "$STATE/$1.pid" "$BIN/$1"; }

# The Service CIDR of the local cluster. Nothing routes it (there is no
# kube-proxy): cluster-up makes it unreachable on this machine so that a dial
# to a ClusterIP fails at once, locally, instead of leaving through the
# default route; cluster-down removes that route.
SERVICE_CIDR=10.0.0.0/24

# unreachable_service_route add|del: the unreachable route for SERVICE_CIDR.
# It is added only where no route covers that prefix yet (an address of this
# machine in it, say), so no existing route is ever replaced or removed.
unreachable_service_route() {
	command -v ip >/dev/null 2>&1 || return 0
	case $1 in
	add)
		[[ -z $(ip route show exact "$SERVICE_CIDR" 2>/dev/null) ]] || return 0
		ip route add unreachable "$SERVICE_CIDR" 2>/dev/null ||
			echo "cluster: WARNING: cannot add an unreachable route for $SERVICE_CIDR (not root?)" >&2
		;;
	del)
		ip route show exact "$SERVICE_CIDR" 2>/dev/null | grep -q '^unreachable' &&
			ip route del unreachable "$SERVICE_CIDR" 2>/dev/null
		;;
	esac
	return 0
}
