#!/usr/bin/env bash
# A walk-through of the README, run as it is by test/e2e/readme.test.ts (on the process runtime and
# on Docker) from a copy of the repository's examples/; the README shows the part after the
# "# ---" line, and the test checks that the two are the same. Run it yourself from oep's folder
# with `oep` on your PATH (npm link).
set -euo pipefail
# ---
# Register the model and the environment once, then deploy them by name, as in Azure's
# blue-deployment-with-registered-assets.yml.
oep model create --name sklearn-regression --version 1 --path examples/sklearn/model
oep environment create -f examples/sklearn/environment.yml
oep model list -o table
oep endpoint create -f examples/sklearn/endpoint.yml
oep deployment create -f examples/sklearn/blue-deployment-with-registered-assets.yml --all-traffic
oep endpoint invoke -n sklearn --request-file examples/sklearn/sample-request.json
oep endpoint delete -n sklearn --yes
