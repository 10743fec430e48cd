#!/usr/bin/env bash
# Builds bin/registry, the container image registry of
# github.com/distribution/distribution/v3 (pinned in hack/registry/go.mod, its
# own module so it never changes the product's or the control plane's
# dependencies). The image tests run it on 127.0.0.1 with htpasswd auth.
# Skipped when bin/.registry.stamp matches a hash of the inputs; FORCE=1
# rebuilds.
set -euo pipefail
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HACK_DIR/.." && pwd)
BIN_DIR=$REPO/bin
STAMP=$BIN_DIR/.registry.stamp
GO=${GO:-go}

want=$({ "$GO" env GOVERSION; cat "$HACK_DIR/registry/go.mod" "$HACK_DIR/registry/go.sum" "$HACK_DIR/registry.sh"; } | sha256sum | cut -d' ' -f1)
if [[ "${FORCE:-0}" != 1 && -x "$BIN_DIR/registry" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
	echo "registry: up to date ($BIN_DIR/registry)"
	exit 0
fi
mkdir -p "$BIN_DIR"
cd "$HACK_DIR/registry"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$BIN_DIR/registry" github.com/distribution/distribution/v3/cmd/registry
echo "$want" >"$STAMP"
echo "registry: built $BIN_DIR/registry ($("$GO" list -m -f '{{.Version}}' github.com/distribution/distribution/v3))"
