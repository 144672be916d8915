import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

/** test/summary.sh, the summary that `npm test` (test/run-all.sh) prints for each suite. */
const SUMMARY = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'test', 'summary.sh');

/** node 20's TAP for: a skipped suite, a skipped test in a suite, t.skip() with a "#" in its reason, a todo, a failure, a cancelled test. */
const TAP = `TAP version 13
# Subtest: the real Flask API
ok 1 - the real Flask API # SKIP Flask is not importable
  ---
  duration_ms: 0.8
  type: 'suite'
  ...
# Subtest: export
    # Subtest: kubectl kustomize renders the golden folder
    ok 1 - kubectl kustomize renders the golden folder # SKIP kubectl is not installed
      ---
      duration_ms: 0.6
      ...
    # Subtest: a name with \\# SKIP in it
    ok 2 - a name with \\# SKIP in it
      ---
      duration_ms: 0.2
      ...
    # Subtest: gpu
    ok 3 - gpu # SKIP this engine has \\# a GPU runtime
      ---
      duration_ms: 2.2
      ...
    # Subtest: later
    ok 4 - later # TODO not written yet
      ---
      duration_ms: 0.1
      ...
    # Subtest: breaks
    not ok 5 - breaks
      ---
      duration_ms: 1.1
      failureType: 'testCodeFailure'
      error: |-
        expected
        ok 9 - not a result # SKIP inside a YAML block
      ...
    # Subtest: no reason
    ok 6 - no reason # SKIP
      ---
      duration_ms: 0.1
      ...
    # Subtest: kubectl again
    ok 7 - kubectl again # SKIP kubectl is not installed
      ---
      duration_ms: 0.1
      ...
    1..7
not ok 2 - export
  ---
  duration_ms: 6.5
  type: 'suite'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  ...
# Subtest: slow
not ok 3 - slow
  ---
  failureType: 'cancelledByParent'
  ...
1..3
# tests 8
# suites 2
# pass 2
# fail 1
# cancelled 1
# skipped 4
# todo 1
# duration_ms 246.9
`;

describe('test/summary.sh: the summary of a suite from its TAP output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oep-summary-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const summary = (args: string[]): string[] => execFileSync('bash', [SUMMARY, ...args], { encoding: 'utf8' }).split('\n').slice(0, -1);

  it('counts skipped tests and skipped suites, names each reason once with its count, and counts cancelled as failed', () => {
    const tap = join(dir, 'node.tap');
    writeFileSync(tap, TAP);
    assert.deepEqual(summary(['node', '1', tap]), [
      'suite node: 8 tests, 2 failed, 5 skipped (1 cancelled)',
      '  skipped: 1 x Flask is not importable',
      '  skipped: 2 x kubectl is not installed',
      '  skipped: 1 x this engine has # a GPU runtime',
      '  skipped: 1 x (no reason given)',
    ]);
  });

  it('says nothing more than the counts when nothing was skipped; a non-zero exit without a failed test shows', () => {
    const tap = join(dir, 'clean.tap');
    writeFileSync(tap, 'TAP version 13\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\n# tests 1\n# fail 0\n# cancelled 0\n# skipped 0\n');
    assert.deepEqual(summary(['server-in-image', '0', tap]), ['suite server-in-image: 1 tests, 0 failed, 0 skipped']);
    assert.deepEqual(summary(['server-in-image', '7', tap]), ['suite server-in-image: 1 tests, 0 failed, 0 skipped (exit code 7)']);
  });

  it('without TAP output: one skipped suite with the given reason, or "did not run" after a failure', () => {
    const missing = join(dir, 'none.tap');
    assert.deepEqual(summary(['server-in-image', '0', missing, 'no Docker engine or no test image']), [
      'suite server-in-image: 0 tests, 0 failed, 1 skipped',
      '  skipped: 1 x no Docker engine or no test image',
    ]);
    assert.deepEqual(summary(['server-in-image', '1', missing, 'no Docker engine or no test image']), ['suite server-in-image: did not run (exit code 1)']);
  });
});
