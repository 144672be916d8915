#!/usr/bin/env bash
# Runs the scoring-server suite a second time with the test image's python3, so the server is
# checked on both the machine's interpreter and the one deployments run in. Skips when Docker or
# the image is missing, except under CI=true where that is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${OEP_TEST_IMAGE:-oep-test/python:bookworm}
if ! docker image inspect "$image" >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "scoring-server suite in $image: no Docker engine or no image (CI must run it)" >&2
    exit 1
  fi
  echo "# skipping the scoring-server suite in $image: no Docker engine or no image"
  exit 0
fi
# A test that kills its server with SIGKILL kills only the docker client: remove what is left.
trap 'docker rm -f $(docker ps -aq --filter label=oep.test=server-image) >/dev/null 2>&1 || true' EXIT
echo "# scoring-server suite with python3 from $image"
OEP_TEST_PYTHON="$PWD/test/server/python-in-image.sh" node --test --test-concurrency=1 dist/test/server/
