#!/usr/bin/env bash
# A walk-through of the README, run as it is by test/e2e/readme.test.ts (on the process runtime and
# on Docker) from a copy of the repository's examples/; the README shows the part after the
# "# ---" line, and the test checks that the two are the same. Run it yourself from oep's folder
# with `oep` on your PATH (npm link).
set -euo pipefail
# ---
oep endpoint create -f examples/sklearn/endpoint.yml
oep deployment create -f examples/sklearn/blue-deployment.yml --all-traffic
# One replica under debugpy on 127.0.0.1:5678; with --vscode, .vscode/launch.json gets
# "oep: blue (sklearn)": in VS Code, Run and Debug -> that entry, a breakpoint in run(), then invoke.
oep deployment update -f examples/sklearn/blue-deployment.yml --debug --vscode
oep deployment show -n blue -e sklearn --query debug
oep endpoint invoke -n sklearn --request-file examples/sklearn/sample-request.json   # stops at a breakpoint; no timeout while you step
oep deployment update -f examples/sklearn/blue-deployment.yml   # without --debug: back to normal
oep endpoint delete -n sklearn --yes
