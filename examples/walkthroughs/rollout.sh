#!/usr/bin/env bash
# A walk-through of the README, run as it is by test/e2e/readme.test.ts (on the process runtime and
# on Docker) from a copy of the repository's examples/; the README shows the part after the
# "# ---" line, and the test checks that the two are the same. Run it yourself from oep's folder
# with `oep` on your PATH (npm link).
set -euo pipefail
# ---
oep endpoint create -f examples/sklearn/endpoint.yml
oep deployment create -f examples/sklearn/blue-deployment.yml --all-traffic
oep endpoint invoke -n sklearn --request-file examples/sklearn/sample-request.json
oep deployment create -f examples/sklearn/green-deployment.yml
oep traffic mirror -n sklearn green=50      # copy half of the requests to green; clients only see blue's answers
for i in $(seq 1 20); do oep endpoint invoke -n sklearn --request-file examples/sklearn/sample-request.json -o none; done
oep traffic show -n sklearn
oep traffic compare -n sklearn -o table     # does green answer as blue does? how much slower? errors?
oep traffic compare -n sklearn --fail-under 0.99 -o none   # in CI: exit 1 below 99% agreement
oep traffic mirror -n sklearn green=0       # stop mirroring (a deployment is live or mirrored, never both)
oep traffic set -n sklearn blue=90 green=10
oep endpoint invoke -n sklearn --request-file examples/sklearn/sample-request.json --deployment-name green
oep endpoint update -n sklearn --traffic "green=100"
oep deployment delete -n blue -e sklearn --yes
oep endpoint delete -n sklearn --yes
