#!/usr/bin/env bash
# The quickstart: create an endpoint, deploy the linear model, invoke it through oep's router.
# Runs on Docker when the engine answers and has the example's image, else on the process runtime.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
oep() { node "$root/bin/oep.js" "$@"; }

# Start from a clean slate so the quickstart can run again.
if oep endpoint show -n quickstart -o none >/dev/null 2>&1; then
  oep endpoint delete -n quickstart --yes
fi

# Docker when the engine answers and the example's image is there; the process runtime otherwise.
runtime=process
if command -v docker >/dev/null 2>&1 && docker image inspect oep-test/python:bookworm >/dev/null 2>&1; then
  runtime=docker
fi
echo "Deploying on the $runtime runtime..."

oep endpoint create -f "$here/endpoint.yml" -o none
oep deployment create -f "$here/blue-deployment.yml" --all-traffic --runtime "$runtime" -o none

echo "Prediction for $here/sample-request.json:"
oep endpoint invoke -n quickstart --request-file "$here/sample-request.json"

uri=$(oep endpoint show -n quickstart --query scoring_uri -o tsv)
key=$(oep endpoint get-credentials -n quickstart --query primaryKey -o tsv)
echo
echo "Scoring URI: $uri"
echo "Try it with curl:"
echo "  curl -s -X POST '$uri' -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' -d @$here/sample-request.json"
echo
echo "Logs:      node bin/oep.js deployment get-logs -n blue -e quickstart"
echo "Clean up:  node bin/oep.js endpoint delete -n quickstart --yes && node bin/oep.js daemon stop"
