#!/usr/bin/env bash
# Builds vk-docker/grpc-health:<tag>, the static gRPC health server that the
# grpc probe tests run, FROM scratch (no registry needed).
set -euo pipefail
tag=${1:?usage: hack/grpc-image.sh <tag>}
image="vk-docker/grpc-health:${tag}"
repo=$(cd "$(dirname "$0")/.." && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$root/grpchealth" ./test/images/grpchealth)
sum=$(sha256sum "$root/grpchealth" | cut -c1-64)
if [[ "$(docker image inspect -f '{{index .Config.Labels "io.vk-docker.sha256"}}' "$image" 2>/dev/null)" == "$sum" ]]; then
	echo "images: $image is present"
	exit 0
fi
tar -C "$root" --numeric-owner --owner=0 --group=0 -c grpchealth | docker import \
	--change 'ENTRYPOINT ["/grpchealth"]' --change "LABEL io.vk-docker.sha256=$sum" - "$image" >/dev/null
echo "images: built $image"
