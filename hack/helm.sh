#!/usr/bin/env bash
# Builds bin/helm from helm.sh/helm/v4, pinned in hack/helm/go.mod: its own
# module, like hack/registry, so that neither the product's dependencies nor
# the control plane's (hack/tools, whose stamp would then force a rebuild of
# kube-apiserver and friends) change with it. The chart tests use it.
# Skipped when bin/.helm.stamp matches a hash of the inputs; FORCE=1 rebuilds.
set -euo pipefail
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HACK_DIR/.." && pwd)
BIN_DIR=$REPO/bin
STAMP=$BIN_DIR/.helm.stamp
GO=${GO:-go}

want=$({ "$GO" env GOVERSION; cat "$HACK_DIR/helm/go.mod" "$HACK_DIR/helm/go.sum" "$HACK_DIR/helm.sh"; } | sha256sum | cut -d' ' -f1)
if [[ "${FORCE:-0}" != 1 && -x "$BIN_DIR/helm" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
	echo "helm: up to date ($BIN_DIR/helm)"
	exit 0
fi
mkdir -p "$BIN_DIR"
cd "$HACK_DIR/helm"
v=$("$GO" list -m -f '{{.Version}}' helm.sh/helm/v4)
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$v" \
	-o "$BIN_DIR/helm" helm.sh/helm/v4/cmd/helm
echo "$want" >"$STAMP"
echo "helm: built $BIN_DIR/helm ($v)"
