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
    AZUREML_*|AML_*|WORKER_COUNT|SERVER_VERSION_LOG_RESPONSE_ENABLED|SCORING_TIMEOUT_MS|OEP_*|SERVICE_*|PYTHON*|PATH) envs+=(-e "$name") ;;
  esac
done
# The run's label (OEP_TEST_RUN, set by run-in-image.sh) lets its clean-up remove only its own.
labels=(--label oep.test=server-image)
[ -n "${OEP_TEST_RUN:-}" ] && labels+=(--label "oep.test-run=$OEP_TEST_RUN")
# The temp folder is shared too: tests meet the server's run() calls in folders made there.
tmp=${TMPDIR:-/tmp}
mounts=(-v "$repo:$repo:ro" -v /tmp:/tmp)
[ "${tmp%/}" != /tmp ] && mounts+=(-v "$tmp:$tmp")
exec docker run --rm -i --init --network host "${labels[@]}" \
  "${mounts[@]}" -w "$PWD" "${envs[@]}" \
  "${OEP_TEST_IMAGE:-oep-test/python:bookworm}" python3 "$@"
