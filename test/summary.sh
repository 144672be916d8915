#!/usr/bin/env bash
# The summary of one suite from node's TAP output (test/run-all.sh calls it per suite):
#
#   test/summary.sh <name> <exit code> <tap file> [why a suite without TAP output was skipped]
#
# prints
#   suite <name>: N tests, F failed, S skipped
#     skipped: <count> x <reason>            (one line per distinct reason, in order of appearance)
#
# N and F come from node's summary ("# tests", "# fail"; cancelled tests, of a file that could not
# run them, count as failed and are also named: "(C cancelled)"). S counts every "ok ... # SKIP"
# line at any depth: skipped tests and skipped suites (node's "# skipped" counts tests only, so a
# skipped describe() would not show there). "(exit code X)" follows when the suite failed without
# a failed test. With no TAP output: "did not run (exit code X)", or, with exit code 0, one skipped
# suite whose reason is the fourth argument.
set -uo pipefail
name=$1 rc=$2 tap=$3 why=${4:-no test files}

if [ ! -s "$tap" ]; then
  if [ "$rc" = 0 ]; then
    echo "suite $name: 0 tests, 0 failed, 1 skipped"
    echo "  skipped: 1 x $why"
  else
    echo "suite $name: did not run (exit code $rc)"
  fi
  exit 0
fi

awk -v name="$name" -v rc="$rc" '
  # TAP escapes "\" and "#" in names and reasons (\\ and \#).
  function unescape(text,    out, i, c) {
    out = ""
    for (i = 1; i <= length(text); i++) {
      c = substr(text, i, 1)
      if (c == "\\" && i < length(text)) { i++; c = substr(text, i, 1) }
      out = out c
    }
    return out
  }
  # A YAML block (---/... under a test line) holds diagnostics, never results.
  yaml && /^ *\.\.\.$/ { yaml = 0; next }
  yaml { next }
  /^ *---$/ { yaml = 1; next }
  /^# tests /     { tests = $3 }
  /^# fail /      { failed = $3 }
  /^# cancelled / { cancelled = $3 }
  /^ *ok [0-9]+ - / && index($0, " # SKIP") {
    reason = substr($0, index($0, " # SKIP") + 7)
    sub(/^ +/, "", reason)
    reason = unescape(reason)
    if (reason == "") reason = "(no reason given)"
    if (!(reason in count)) order[++reasons] = reason
    count[reason]++
    skipped++
  }
  END {
    line = sprintf("suite %s: %d tests, %d failed, %d skipped", name, tests, failed + cancelled, skipped)
    if (cancelled > 0) line = line sprintf(" (%d cancelled)", cancelled)
    if (rc != 0 && failed + cancelled == 0) line = line sprintf(" (exit code %d)", rc)
    print line
    for (i = 1; i <= reasons; i++) printf "  skipped: %d x %s\n", count[order[i]], order[i]
  }' "$tap"
