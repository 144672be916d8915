#!/usr/bin/env bash
# A walk-through of the README, run as it is by test/e2e/readme.test.ts (on the process runtime and
# on Docker) from a copy of the repository's examples/; the README shows the part after the
# "# ---" line, and the test checks that the two are the same. Run it yourself from oep's folder
# with `oep` on your PATH (npm link).
set -euo pipefail
# ---
oep endpoint create -f examples/sklearn/endpoint.yml
oep deployment create -f examples/sklearn/blue-deployment.yml --all-traffic
# One self-contained image of blue (add --push and a registry in --tag to push it), served by docker run:
oep deployment build -n blue -e sklearn --tag oep-example/sklearn-blue:1
container=$(docker run -d -p 127.0.0.1::5001 oep-example/sklearn-blue:1)
port=$(docker port "$container" 5001 | head -1 | sed 's/.*://')
for i in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 1; done
curl -s -X POST "http://127.0.0.1:$port/score" -H 'Content-Type: application/json' -d @examples/sklearn/sample-request.json; echo
docker rm -f "$container" >/dev/null
# The endpoint as Kubernetes objects (Gateway API) for kubectl apply -k k8s/:
oep endpoint export -n sklearn --registry myacr.azurecr.io -d k8s/
ls k8s/
oep endpoint delete -n sklearn --yes
docker rmi oep-example/sklearn-blue:1 >/dev/null
