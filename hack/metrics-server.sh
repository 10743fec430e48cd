#!/usr/bin/env bash
# Builds bin/metrics-server from sigs.k8s.io/metrics-server, pinned in
# hack/metrics-server/go.mod: its own module, like hack/helm, because its
# Kubernetes libraries (v0.33) are not the control plane's (hack/tools, whose
# stamp would then force a rebuild of kube-apiserver and friends). `make run`
# starts it (hack/metrics-server-up.sh) so that `kubectl top` works.
# Skipped when bin/.metrics-server.stamp matches a hash of the inputs;
# FORCE=1 rebuilds.
set -euo pipefail
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HACK_DIR/.." && pwd)
BIN_DIR=$REPO/bin
STAMP=$BIN_DIR/.metrics-server.stamp
GO=${GO:-go}

want=$({ "$GO" env GOVERSION; cat "$HACK_DIR/metrics-server/go.mod" "$HACK_DIR/metrics-server/go.sum" "$HACK_DIR/metrics-server.sh"; } | sha256sum | cut -d' ' -f1)
if [[ "${FORCE:-0}" != 1 && -x "$BIN_DIR/metrics-server" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
	echo "metrics-server: up to date ($BIN_DIR/metrics-server)"
	exit 0
fi
mkdir -p "$BIN_DIR"
cd "$HACK_DIR/metrics-server"
v=$("$GO" list -m -f '{{.Version}}' sigs.k8s.io/metrics-server)
start=$SECONDS
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$v" \
	-o "$BIN_DIR/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server
echo "$want" >"$STAMP"
echo "metrics-server: built $BIN_DIR/metrics-server ($v) in $((SECONDS - start))s"
