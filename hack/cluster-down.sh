#!/usr/bin/env bash
# Stops the control plane started by hack/cluster-up.sh (only the processes
# whose pids it recorded), removes Docker containers and volumes labelled
# io.vk-docker.node (virtual nodes' pods), then deletes $REPO/.cluster.
# Idempotent.
set -euo pipefail

# shellcheck source=hack/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
# Reverse start order.
COMPONENTS=(kube-scheduler kube-controller-manager kube-apiserver etcd)
LABEL=io.vk-docker.node

log() { echo "cluster-down: $*"; }

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
	containers=$(docker ps -aq --filter "label=$LABEL")
	if [[ -n $containers ]]; then
		log "removing $(wc -w <<<"$containers") container(s) labelled $LABEL"
		xargs -r docker rm -f <<<"$containers" >/dev/null
	fi
	volumes=$(docker volume ls -q --filter "label=$LABEL")
	if [[ -n $volumes ]]; then
		log "removing $(wc -w <<<"$volumes") volume(s) labelled $LABEL"
		xargs -r docker volume rm -f <<<"$volumes" >/dev/null
	fi
else
	log "WARNING: Docker not reachable, skipping container/volume cleanup" >&2
fi

if [[ -d $STATE ]]; then
	log "removing $STATE"
	rm -rf "$STATE"
fi
log "done"
