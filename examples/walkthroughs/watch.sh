#!/usr/bin/env bash
# A walk-through of the README, run as it is by test/e2e/readme.test.ts (on the process runtime and
# on Docker) from a copy of the repository's examples/; the README shows the part after the
# "# ---" line, and the test checks that the two are the same. Run it yourself from oep's folder
# with `oep` on your PATH (npm link).
set -euo pipefail
# ---
oep endpoint create -f examples/sklearn/endpoint.yml
oep deployment create -f examples/sklearn/blue-deployment.yml --all-traffic
# Every save of score.py, the model or the YAML reloads blue, with no failed request (Ctrl-C stops
# watching; here the watcher runs in the background and is stopped at the end).
oep deployment update -f examples/sklearn/blue-deployment.yml --watch 2> watch.log &
watcher=$!
until grep -q '^watching' watch.log; do sleep 0.2; done   # the watcher says when it watches
printf '\n_run = run\ndef run(raw_data):\n    return {"predictions": _run(raw_data)}\n' >> examples/sklearn/onlinescoring/score.py
for i in $(seq 1 60); do
  answer=$(oep endpoint invoke -n sklearn --request-file examples/sklearn/sample-request.json)
  case $answer in *predictions*) break ;; esac
  sleep 1
done
echo "$answer"
kill -INT $watcher; wait $watcher || true
oep endpoint delete -n sklearn --yes
