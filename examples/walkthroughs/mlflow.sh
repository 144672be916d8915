#!/usr/bin/env bash
# A walk-through of the README, run as it is by test/e2e/readme.test.ts (on the process runtime and
# on Docker) from a copy of the repository's examples/; the README shows the part after the
# "# ---" line, and the test checks that the two are the same. Run it yourself from oep's folder
# with `oep` on your PATH (npm link).
set -euo pipefail
# ---
oep endpoint create -f examples/mlflow/endpoint.yml
oep deployment create -f examples/mlflow/deployment.yml --all-traffic   # no scoring script, no environment
oep endpoint invoke -n mlflow --request-file examples/mlflow/sample-request.json
oep endpoint delete -n mlflow --yes
