import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, OEP_BIN, OepSandbox, REPO_ROOT } from './harness.js';

const TUTORIAL = join(REPO_ROOT, 'test', 'fixtures', 'tutorial');

/** Model 1 answers 0.5 + sum(row); model 2 answers 0.25 + sum(i * row[i-1]). */
const MODEL_1 = [55.5, 55.5];
const MODEL_2 = [385.25, 220.25];

function numbersIn(line: string): number[] | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return Array.isArray(value) && value.every((item) => typeof item === 'number') ? value : undefined;
  } catch {
    return undefined;
  }
}

function close(actual: number[] | undefined, expected: number[]): boolean {
  return actual !== undefined && actual.length === expected.length && actual.every((value, i) => Math.abs(value - expected[i]!) < 1e-9);
}

describe("Microsoft's safe-rollout tutorial, as written, with az ml replaced by oep (process runtime)", () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('runs to the end, clean-up with --no-wait included, and each step answers as in Azure', async () => {
    // `oep` on PATH, as after npm link; the runtime is a user setting, so the script stays as written.
    const bin = join(oep.home, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'oep'), `#!/bin/sh\nexec "${process.execPath}" "${OEP_BIN}" "$@"\n`);
    chmodSync(join(bin, 'oep'), 0o755);
    await oep.ok(['config', 'set', 'runtime', 'process']);

    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['safe-rollout.sh'],
        { cwd: TUTORIAL, env: { ...process.env, NO_COLOR: '1', OEP_HOME: oep.home, PATH: `${bin}:${process.env.PATH}` }, timeout: 300_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(result.code, 0, `the script failed:\n${result.stderr}`);

    const lines = result.stdout.split('\n');
    const answers = lines.map(numbersIn).filter((value) => value !== undefined);
    // test_blue, test_green (--deployment green), the curl to green, then 20 invokes while green is mirrored.
    assert.equal(answers.length, 23, `answers seen:\n${result.stdout}`);
    assert.ok(close(answers[0], MODEL_1), `blue answered ${JSON.stringify(answers[0])}`);
    assert.ok(close(answers[1], MODEL_2), `invoke --deployment green answered ${JSON.stringify(answers[1])}`);
    assert.ok(close(answers[2], MODEL_2), `curl with azureml-model-deployment: green answered ${JSON.stringify(answers[2])}`);
    for (const answer of answers.slice(3)) assert.ok(close(answer, MODEL_1), 'mirrored requests are answered by blue');
    // get_traffic, after green was created: green is listed at 0.
    assert.match(result.stdout, /\{\n {2}"blue": 100,\n {2}"green": 0\n\}/);
    // get-logs of green shows the mirrored requests reached it.
    assert.match(result.stdout, /model 2: request received/);
    assert.doesNotMatch(result.stderr, /    at /, 'no stack trace');

    // --no-wait returned at once; the deletions finish in the background.
    await eventually('the endpoint to be deleted', async () => {
      const list = JSON.parse(await oep.ok(['endpoint', 'list'])) as unknown[];
      return list.length === 0 ? true : undefined;
    }, 60_000);
  });
});
