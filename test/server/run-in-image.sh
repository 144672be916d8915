#!/usr/bin/env bash
# Runs the scoring-server files whose outcome can depend on the interpreter a second time, with the
# test image's python3 (Debian's, as deployments run it, inside a container), so the server is
# checked on both the machine's interpreter and the one deployments run in. Skips when Docker or
# the image is missing, except under CI=true where that is a failure. Extra arguments go to
# `node --test` (test/run-all.sh passes its reporters).
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
# Every container of this run carries oep.test-run=<id> (python-in-image.sh adds it): the
# clean-up removes those and never another run's containers on a shared engine.
export OEP_TEST_RUN=${OEP_TEST_RUN:-server-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')}
# A test that kills its server with SIGKILL kills only the docker client: remove what is left.
cleanup() {
  local left
  left=$(docker ps -aq --filter "label=oep.test-run=$OEP_TEST_RUN" --filter label=oep.test=server-image 2>/dev/null || true)
  if [ -n "$left" ]; then docker rm -f $left >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
# What differs by interpreter: its start (imports, exit codes), signals (the SIGALRM timeout),
# processes (workers), sockets and the standard library's parsers (raw HTTP, multipart, typing for
# the inference-schema stand-in), the environment inside a container and its network (the
# managed-identity forwarder). The other files check the server's own logic (routes, JSON,
# swagger, request ids, the replica secret, the contract's constants) and run once, on the host;
# the MLflow scoring and azmlinfsrv parity files need scikit-learn and Flask, which the image has
# not. test/unit/server-in-image.test.ts checks that each file named here exists.
IN_IMAGE_FILES=(
  startup-failures timeout workers http-protocol rawhttp binary-payloads environment msi-forward
  inference-schema mlflow-startup batch-worker worker-timers
)
files=()
for name in "${IN_IMAGE_FILES[@]}"; do files+=("dist/test/server/$name.test.js"); done
echo "# scoring-server suite with python3 from $image: ${#files[@]} files that depend on the interpreter"
OEP_TEST_PYTHON="$PWD/test/server/python-in-image.sh" node --test --test-concurrency=1 "$@" "${files[@]}"
