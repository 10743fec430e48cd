# Sourced by cluster-up.sh and cluster-down.sh: where the control plane's
# binaries and state live, and how to find a component's process.

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HACK_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$HACK_DIR/.." && pwd))
BIN=$REPO/bin
STATE=$REPO/.cluster

# pid_of NAME: prints the recorded pid if that process is alive and is our
# binary (guards against pid reuse).
pid_of() {
	local f=$STATE/$1.pid pid exe
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe% (deleted)} == "$BIN/$1" ]] || return 1
	echo "$pid"
}
