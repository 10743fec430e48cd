#!/usr/bin/env bash
# Undoes hack/metrics-server-up.sh: unregisters metrics.k8s.io (first, so API
# discovery stays complete), then stops the recorded metrics-server process.
# Idempotent; the RBAC objects stay (harmless, and cluster-down removes all).
set -euo pipefail

# shellcheck source=hack/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
kubectl() { "$BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=10s "$@"; }

if [[ -f $STATE/kubeconfig ]]; then
	kubectl delete --ignore-not-found apiservice v1beta1.metrics.k8s.io >/dev/null
	kubectl -n kube-system delete --ignore-not-found service/metrics-server endpointslice/metrics-server >/dev/null
fi
if pid=$(pid_of metrics-server); then
	echo "metrics-server-down: stopping metrics-server (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$STATE/metrics-server.pid"
