#!/usr/bin/env bash
# python3 from the test image, as a drop-in interpreter for the scoring-server suite:
#   OEP_TEST_PYTHON=test/server/python-in-image.sh node --test dist/test/server/
# Same working directory, the server's environment variables, the host's network (the server
# binds 127.0.0.1 of this machine) and signals forwarded, so tests see no difference.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
envs=()
for name in $(compgen -e); do
  case "$name" in
    AZUREML_*|AML_*|WORKER_COUNT|SCORING_TIMEOUT_MS|OEP_*|SERVICE_*|PYTHON*|PATH) envs+=(-e "$name") ;;
  esac
done
exec docker run --rm -i --init --network host --label oep.test=server-image \
  -v "$repo:$repo:ro" -v /tmp:/tmp -w "$PWD" "${envs[@]}" \
  "${OEP_TEST_IMAGE:-oep-test/python:bookworm}" python3 "$@"
