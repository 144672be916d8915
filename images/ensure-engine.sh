#!/usr/bin/env bash
# Makes sure a Docker engine answers. When none does: installs Debian's docker.io if dockerd is
# missing (root, apt) and starts dockerd in a session of its own, so it outlives this script.
# Quiet and quick when an engine already answers. Exit 0 when one answers, 1 otherwise.
#   images/ensure-engine.sh            (OEP_DOCKERD_LOG: where dockerd's output goes)
set -euo pipefail

log=${OEP_DOCKERD_LOG:-${TMPDIR:-/tmp}/oep-dockerd.log}
answers() { timeout 20 docker info >/dev/null 2>&1; }

answers && exit 0

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-engine: installing Debian's docker.io" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-engine: starting dockerd (log: $log)" >&2
  as_root setsid dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 60); do
  answers && exit 0
  sleep 1
done
echo "ensure-engine: the Docker engine did not answer within 60 s; its log: $log" >&2
tail -20 "$log" >&2 || true
exit 1
