#!/usr/bin/env bash
# `npm test`: builds, then runs both suites whatever the first one gives: the node tests under
# dist/test/, then the scoring-server suite again with the test image's python3
# (test/server/run-in-image.sh). Ends with a summary per suite (test/summary.sh): one line, then
# one line per distinct reason for a skipped test or suite, e.g.
#   suite node: 380 tests, 0 failed, 1 skipped
#     skipped: 1 x this engine has a GPU runtime
#   suite server-in-image: 95 tests, 0 failed, 2 skipped
#     skipped: 1 x Flask is not importable (expected: the test image has no Flask)
#     ...
# and exits non-zero when the build or either suite failed. Under CI=true a test whose
# prerequisite (image, engine, Flask, kubectl, ...) is missing fails instead of skipping
# (test/prerequisites.ts), so the skips left there are the ones that are not about the machine.
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

# "suite <name>: N tests, F failed, S skipped" and the reasons of the skips (test/summary.sh);
# adds the suite's S to $skipped_total.
skipped_total=0
summary() {
  local name=$1 rc=$2 skipped_because=$3 out skipped
  out=$(bash test/summary.sh "$name" "$rc" "$results/$name.tap" "$skipped_because")
  echo "$out"
  skipped=$(sed -n '1s/.*, \([0-9]*\) skipped.*/\1/p' <<<"$out")
  skipped_total=$((skipped_total + ${skipped:-0}))
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

# The pure folders (no daemon, no Docker, no shared port) run two files at a time; the rest, which
# start daemons, replicas and containers, one file at a time.
node --test --test-concurrency=2 $(reporters pure) 'dist/test/unit/**/*.test.js' 'dist/test/spec/**/*.test.js' 'dist/test/output/**/*.test.js'
pure_rc=$?
node --test --test-concurrency=1 $(reporters node) 'dist/test/e2e/**/*.test.js' 'dist/test/faults/**/*.test.js' 'dist/test/server/**/*.test.js'
node_rc=$?

bash test/server/run-in-image.sh $(reporters server-in-image)
server_rc=$?

sweep
echo
summary pure "$pure_rc" "no test files"
summary node "$node_rc" "no test files"
summary server-in-image "$server_rc" "no Docker engine or no test image; CI=true makes this a failure"
if [ "$skipped_total" != 0 ]; then
  echo "skipped in all: $skipped_total (reasons above; a missing prerequisite fails instead under CI=true)"
fi
[ "$pure_rc" = 0 ] && [ "$node_rc" = 0 ] && [ "$server_rc" = 0 ]
