#!/usr/bin/env bash
# Makes sure a Docker daemon answers on the default socket: installs Debian's
# `docker.io` when `dockerd` is missing, and starts it in the background when
# no daemon answers. The daemon gets no bridge and touches no iptables, so a
# container has no network unless a spec asks for the host's loopback.
# Idempotent; prints nothing when all is well. Log: /var/log/weir-dockerd.log.
set -euo pipefail

answers() { docker info >/dev/null 2>&1; }

command -v docker >/dev/null 2>&1 && answers && exit 0

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends docker.io >&2
fi

log=/var/log/weir-dockerd.log
echo "ensure-docker: starting dockerd (log: $log)" >&2
setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false >>"$log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  answers && exit 0
  sleep 0.5
done
echo "ensure-docker: dockerd does not answer after 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
