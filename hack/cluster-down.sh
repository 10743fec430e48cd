#!/usr/bin/env bash
# Stops the control plane started by hack/cluster-up.sh (only the processes
# whose pids it recorded), removes the Docker containers and volumes of this
# cluster's virtual nodes (labelled io.vk-docker.node=<one of its nodes>;
# other clusters on the same engine keep theirs), then deletes
# $REPO/.cluster. Idempotent.
set -euo pipefail

# shellcheck source=hack/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
# Reverse start order; metrics-server (hack/metrics-server-up.sh) first.
COMPONENTS=(metrics-server kube-scheduler kube-controller-manager kube-apiserver etcd)
LABEL=io.vk-docker.node

log() { echo "cluster-down: $*"; }

# The cluster's nodes, read while its API server still answers.
nodes=()
if [[ -f $STATE/kubeconfig && -x $BIN/kubectl ]]; then
	mapfile -t nodes < <("$BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s \
		get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' 2>/dev/null || true)
fi

for c in "${COMPONENTS[@]}"; do
	if pid=$(pid_of "$c"); then
		log "stopping $c (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do # up to 10 s
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$c still running 10s after TERM (open long-running requests), sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$STATE/$c.pid"
done

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	for node in "${nodes[@]}"; do
		[[ -n $node ]] || continue
		containers=$(docker ps -aq --filter "label=$LABEL=$node")
		if [[ -n $containers ]]; then
			log "removing $(wc -w <<<"$containers") container(s) of node $node"
			xargs -r docker rm -f <<<"$containers" >/dev/null
		fi
		volumes=$(docker volume ls -q --filter "label=$LABEL=$node")
		if [[ -n $volumes ]]; then
			log "removing $(wc -w <<<"$volumes") volume(s) of node $node"
			xargs -r docker volume rm -f <<<"$volumes" >/dev/null
		fi
	done
else
	log "WARNING: Docker not reachable, skipping container/volume cleanup" >&2
fi

unreachable_service_route del

if [[ -d $STATE ]]; then
	log "removing $STATE"
	rm -rf "$STATE"
fi
log "done"
