#!/usr/bin/env bash
# Builds vk-docker/<image>:<tag> FROM scratch out of the static Go program in
# test/images/<program> (no registry needed), unless the image already holds
# that very binary. The e2e tests run these: grpchealth (grpc probes) and
# dnsanswer (a cluster DNS for ClusterFirst pods).
set -euo pipefail
program=${1:?usage: hack/test-image.sh <program> <image> <tag>}
image="vk-docker/${2:?usage: hack/test-image.sh <program> <image> <tag>}:${3:?usage: hack/test-image.sh <program> <image> <tag>}"
repo=$(cd "$(dirname "$0")/.." && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$root/$program" "./test/images/$program")
sum=$(sha256sum "$root/$program" | cut -c1-64)
if [[ "$(docker image inspect -f '{{index .Config.Labels "io.vk-docker.sha256"}}' "$image" 2>/dev/null)" == "$sum" ]]; then
	echo "images: $image is present"
	exit 0
fi
tar -C "$root" --numeric-owner --owner=0 --group=0 -c "$program" | docker import \
	--change "ENTRYPOINT [\"/$program\"]" --change "LABEL io.vk-docker.sha256=$sum" - "$image" >/dev/null
echo "images: built $image"
