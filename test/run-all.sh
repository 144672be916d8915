#!/usr/bin/env bash
# `npm test`: builds, then runs both suites whatever the first one gives: the node tests under
# dist/test/, then the scoring-server suite again with the test image's python3
# (test/server/run-in-image.sh). Ends with one summary line per suite, e.g.
#   suite node: 380 tests, 0 failed, 0 skipped
#   suite server-in-image: 95 tests, 0 failed, 0 skipped
# and exits non-zero when the build or either suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# One id for the whole run. Every container and image the run creates carries the label
# oep.test-run=<id> (the docker runtime, python-in-image.sh and the tests add it), and clean-up
# removes only those: never what another run, or anything else, has on a shared engine.
export OEP_TEST_RUN=${OEP_TEST_RUN:-run-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')}
results=$(mktemp -d "${TMPDIR:-/tmp}/oep-test-results.XXXXXX")
trap 'rm -rf "$results"' EXIT

# Both reporters: spec for people, TAP in a file for the summary line.
reporters() {
  echo --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap "--test-reporter-destination=$results/$1.tap"
}

# "suite <name>: N tests, F failed, S skipped" from node's TAP summary; cancelled tests (a file
# that could not run them) count as failed.
summary() {
  local name=$1 rc=$2 skipped_because=$3 tap="$results/$1.tap"
  if [ ! -s "$tap" ]; then
    if [ "$rc" = 0 ]; then echo "suite $name: 0 tests, 0 failed, skipped ($skipped_because)"; else echo "suite $name: did not run (exit code $rc)"; fi
    return
  fi
  awk -v name="$name" -v rc="$rc" '
    /^# tests /     { tests = $3 }
    /^# fail /      { failed = $3 }
    /^# cancelled / { cancelled = $3 }
    /^# skipped /   { skipped = $3 }
    END {
      line = sprintf("suite %s: %d tests, %d failed, %d skipped", name, tests, failed + cancelled, skipped)
      if (cancelled > 0) line = line sprintf(" (%d cancelled)", cancelled)
      if (rc != 0 && failed + cancelled == 0) line = line sprintf(" (exit code %d)", rc)
      print line
    }' "$tap"
}

# Removes what this run left on the engine (a test that failed before its own clean-up), by the
# run's label only.
sweep() {
  command -v docker >/dev/null 2>&1 || return 0
  timeout 20 docker info >/dev/null 2>&1 || return 0
  local filter="label=oep.test-run=$OEP_TEST_RUN" containers tags dangling networks
  containers=$(docker ps -aq --filter "$filter")
  if [ -n "$containers" ]; then
    echo "# clean-up: removing $(echo "$containers" | wc -l) container(s) of test run $OEP_TEST_RUN"
    docker rm -f $containers >/dev/null 2>&1
  fi
  # By tag, without force: a tag that another run found in the cache and still uses stays.
  tags=$(docker images --filter "$filter" --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>')
  if [ -n "$tags" ]; then
    echo "# clean-up: removing image tag(s) of test run $OEP_TEST_RUN: $(echo $tags)"
    docker rmi $tags >/dev/null 2>&1
  fi
  dangling=$(docker images -q --filter "$filter" --filter dangling=true | sort -u)
  [ -n "$dangling" ] && docker rmi $dangling >/dev/null 2>&1
  networks=$(docker network ls -q --filter "$filter")
  [ -n "$networks" ] && docker network rm $networks >/dev/null 2>&1
  return 0
}

echo "# test run $OEP_TEST_RUN"
if ! npm run build; then
  echo "suite node: did not run (the build failed)"
  echo "suite server-in-image: did not run (the build failed)"
  exit 1
fi

node --test --test-concurrency=1 $(reporters node) dist/test/
node_rc=$?

bash test/server/run-in-image.sh $(reporters server-in-image)
server_rc=$?

sweep
echo
summary node "$node_rc" "no test files"
summary server-in-image "$server_rc" "no Docker engine or no test image; CI=true makes this a failure"
[ "$node_rc" = 0 ] && [ "$server_rc" = 0 ]
