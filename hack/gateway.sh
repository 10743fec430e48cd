#!/usr/bin/env bash
# Prints the Docker bridge gateway: the address containers reach this machine
# (and the local API server) at.
set -uo pipefail
gw=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{if .Gateway}}{{.Gateway}} {{end}}{{end}}' 2>/dev/null | awk '{print $1}')
if [[ -z $gw ]]; then
	# Some Docker versions leave IPAM.Config[].Gateway empty for the default
	# bridge: read the address of the bridge interface instead.
	bridge=$(docker network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null)
	gw=$(ip -4 -o addr show dev "${bridge:-docker0}" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
fi
if [[ -z $gw ]]; then
	gw=172.17.0.1
	echo "gateway: WARNING: could not detect the Docker bridge gateway, using $gw" >&2
fi
echo "$gw"
