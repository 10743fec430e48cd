#!/usr/bin/env bash
# Builds the local test control plane from Go modules (hack/tools/go.mod) into
# $REPO/bin: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl and mkcerts. Skips the build when bin/.control-plane.stamp matches a
# hash of the inputs (hack/tools/go.mod, go.sum, mkcerts sources, this script
# and the Go version). Set FORCE=1 to rebuild anyway.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HACK_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$HACK_DIR/.." && pwd))
TOOLS_DIR=$HACK_DIR/tools
BIN_DIR=$REPO/bin
STAMP=$BIN_DIR/.control-plane.stamp
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl mkcerts)

GO=${GO:-go}
if ! command -v "$GO" >/dev/null 2>&1; then
	if [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else
		echo "build-control-plane: go not found" >&2
		exit 1
	fi
fi

log() { echo "build-control-plane: $*"; }

inputs_hash() {
	{
		"$GO" env GOVERSION
		cd "$TOOLS_DIR"
		# Sorted so the hash does not depend on directory order.
		find go.mod go.sum mkcerts -type f \( -name 'go.mod' -o -name 'go.sum' -o -name '*.go' \) | LC_ALL=C sort |
			while read -r f; do
				echo "== $f"
				cat "$f"
			done
		echo "== build-control-plane.sh"
		cat "$HACK_DIR/build-control-plane.sh"
	} | sha256sum | cut -d' ' -f1
}

want=$(inputs_hash)
if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
	missing=0
	for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || missing=1; done
	if [[ $missing == 0 ]]; then
		log "up to date (${BINARIES[*]} in $BIN_DIR)"
		exit 0
	fi
fi

cd "$TOOLS_DIR"
K8S_VERSION=$("$GO" list -m -f '{{.Version}}' k8s.io/kubernetes) # e.g. v1.37.2
ETCD_VERSION=$("$GO" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
major=${K8S_VERSION#v}
major=${major%%.*}
minor=${K8S_VERSION#v*.}
minor=${minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
	ldflags+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

# Build into a scratch dir, then rename into bin/ (safe while old binaries run).
mkdir -p "$BIN_DIR"
tmp=$(mktemp -d "$BIN_DIR/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export CGO_ENABLED=0
start=$SECONDS
log "building kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and mkcerts into $BIN_DIR (cold build takes several minutes)"
"$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler \
	k8s.io/kubernetes/cmd/kubectl \
	./mkcerts
log "building etcd $ETCD_VERSION"
"$GO" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3

for b in "${BINARIES[@]}"; do
	mv -f "$tmp/$b" "$BIN_DIR/$b"
done
echo "$want" >"$STAMP"
log "done in $((SECONDS - start))s: $(cd "$BIN_DIR" && echo "${BINARIES[@]}")"
