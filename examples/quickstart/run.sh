#!/usr/bin/env bash
# The quickstart: an endpoint, the linear model deployed on the process runtime (your python3; no
# Docker needed), one request through oep's router. Running it again updates the endpoint and the
# deployment in place, so the scoring URI, the key and the printed curl line stay the same.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
oep() { node "$root/bin/oep.js" "$@"; }
runtime=${OEP_QUICKSTART_RUNTIME:-process}

if oep endpoint show -n quickstart -o none >/dev/null 2>&1; then
  echo "The quickstart endpoint exists: updating it in place (same URI, same key)..."
  oep endpoint update -n quickstart -f "$here/endpoint.yml" -o none
else
  oep endpoint create -f "$here/endpoint.yml" -o none
fi
if oep deployment show -n blue -e quickstart -o none >/dev/null 2>&1; then
  oep deployment update -f "$here/blue-deployment.yml" --runtime "$runtime" -o none
  oep endpoint update -n quickstart --traffic "blue=100" -o none
else
  echo "Deploying on the $runtime runtime..."
  oep deployment create -f "$here/blue-deployment.yml" --all-traffic --runtime "$runtime" -o none
fi

echo "Prediction for $here/sample-request.json:"
oep endpoint invoke -n quickstart --request-file "$here/sample-request.json"

uri=$(oep endpoint show -n quickstart --query scoring_uri -o tsv)
key=$(oep endpoint get-credentials -n quickstart --query primaryKey -o tsv)
echo
echo "Scoring URI: $uri"
# An HTTPS endpoint (oep config set tls on) has a certificate from oep's local CA: curl trusts that CA.
cacert=
case $uri in https:*) cacert=" --cacert '$(oep ca path)'" ;; esac
echo "Try it with curl:"
echo "  curl -s$cacert -X POST '$uri' -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' -d @$here/sample-request.json"
echo
echo "Logs:      node bin/oep.js deployment get-logs -n blue -e quickstart"
echo "Clean up:  node bin/oep.js endpoint delete -n quickstart --yes && node bin/oep.js daemon stop"
