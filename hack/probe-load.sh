#!/usr/bin/env bash
# Measures a vk-docker node's CPU and memory with N running pods that each
# have a 1 s readiness probe (issue #4). Needs `make build images cluster-up`.
# Usage: hack/probe-load.sh [pods=100] [probe=tcp|http|exec] [seconds=30]
set -euo pipefail
pods=${1:-100} kind=${2:-tcp} secs=${3:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)
export KUBECONFIG=$repo/.cluster/kubeconfig
kubectl=$repo/bin/kubectl
node=probe-load-$RANDOM
ns=$node
port=$((20000 + RANDOM % 20000))
"$repo/bin/vk-docker" --nodename "$node" --taint none --listen-address "127.0.0.1:$port" \
	--pod-api-address "$(bash "$repo/hack/gateway.sh"):6443" \
	>"/tmp/$node.log" 2>&1 &
pid=$!
cleanup() {
	"$kubectl" delete ns "$ns" --grace-period=0 --force --wait=true >/dev/null 2>&1 || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	"$kubectl" delete node "$node" >/dev/null 2>&1 || true
	docker ps -aq --filter "label=io.vk-docker.node=$node" | xargs -r docker rm -f >/dev/null
}
trap cleanup EXIT
until "$kubectl" get node "$node" >/dev/null 2>&1; do
	kill -0 "$pid" 2>/dev/null || { echo "probe-load: vk-docker exited:"; tail -5 "/tmp/$node.log"; exit 1; }
	sleep 0.5
done
"$kubectl" create ns "$ns" >/dev/null
until "$kubectl" -n "$ns" get sa default >/dev/null 2>&1; do sleep 0.5; done
case $kind in
tcp) probe='tcpSocket: {port: 80}' ;;
http) probe='httpGet: {path: /index.html, port: 80}' ;;
exec) probe='exec: {command: [cat, /usr/share/nginx/html/index.html]}' ;;
esac
for i in $(seq 1 "$pods"); do
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: p$i, namespace: $ns}
spec:
  nodeSelector: {kubernetes.io/hostname: $node}
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: vk-docker/busybox:0.1.0
    command: [httpd, -f, -p, "80", -h, /usr/share/nginx/html]
    readinessProbe: {$probe, periodSeconds: 1}
YAML
done | "$kubectl" apply -f - >/dev/null
"$kubectl" -n "$ns" wait --for=condition=Ready pod --all --timeout=600s >/dev/null
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "probe-load: pods=$pods probe=$kind period=1s cpu_pct=$(( (t1 - t0) * 100 / hz / secs )) rss_mib=$(( rss / 1024 ))"
