#!/usr/bin/env bash
# Builds vk-docker/vk-docker:<version>, the image the Helm chart runs, FROM
# scratch: nothing is pulled (`scratch` is no image, the engine only starts
# from an empty filesystem). It holds the static binary (the pause program is
# embedded in it, `make pause` first), the build machine's CA bundle (for API
# servers and Docker hosts whose certificates chain to a public CA) and an
# empty /tmp. It runs as root: see the README's "Install into a cluster".
# Usage: hack/image.sh <version>
set -euo pipefail
version=${1:?usage: hack/image.sh <version>}
image="vk-docker/vk-docker:${version}"
repo=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# The same flags as `make build` (which is static too), so the build cache
# serves both and only the link is done again.
(cd "$repo" && CGO_ENABLED=0 "$GO" build -ldflags "-X main.version=${version}" -o "$ctx/vk-docker" ./cmd/vk-docker)
mkdir -p "$ctx/etc/ssl/certs" "$ctx/tmp"
chmod 1777 "$ctx/tmp"
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/etc/ssl/certs/"
else
	echo "image: WARNING: no /etc/ssl/certs/ca-certificates.crt on this machine; the image has no public CAs" >&2
	: >"$ctx/etc/ssl/certs/ca-certificates.crt"
fi
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY vk-docker /vk-docker
USER 0:0
ENTRYPOINT ["/vk-docker"]
DOCKERFILE
# The engine's legacy builder warns that it is deprecated on every build:
# show its output only when the build fails.
if ! docker build -q --label "org.opencontainers.image.version=${version}" -t "$image" "$ctx" >"$ctx/build.log" 2>&1; then
	cat "$ctx/build.log" >&2
	exit 1
fi
echo "image: built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
