#!/usr/bin/env bash
# Builds the test/demo image vk-docker/busybox:<tag> without a registry: the
# static busybox from Debian's busybox-static package, one symlink per applet,
# a minimal /etc, and the nginx welcome page the seed's examples serve.
# Usage: hack/images.sh <tag>
set -euo pipefail
tag=${1:?usage: hack/images.sh <tag>}
image="vk-docker/busybox:${tag}"
repo=$(cd "$(dirname "$0")/.." && pwd)
cache="$repo/.cache/images"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "images: $image is present"
  exit 0
fi

mkdir -p "$cache"
deb=$(ls "$cache"/busybox-static_*.deb 2>/dev/null | head -n1 || true)
if [[ -z "$deb" ]]; then
  echo "images: downloading Debian's busybox-static package"
  if ! (cd "$cache" && apt-get download busybox-static >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$cache" && apt-get download busybox-static)
  fi
  deb=$(ls "$cache"/busybox-static_*.deb | head -n1)
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
pkg=$(mktemp -d)
dpkg-deb -x "$deb" "$pkg"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/log,usr/share/nginx/html,proc,sys,dev}
chmod 1777 "$root/tmp"
install -m 0755 "$pkg/bin/busybox" "$root/bin/busybox"
rm -rf "$pkg"
for applet in $("$root/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
cat > "$root/usr/share/nginx/html/index.html" <<'HTML'
<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>
</body>
</html>
HTML

echo "images: importing $image"
tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
  --change 'CMD ["sh"]' \
  --change "LABEL io.vk-docker.image=busybox" \
  - "$image" >/dev/null
echo "images: built $image ($("$repo"/bin/vk-docker version 2>/dev/null || echo dev))"
