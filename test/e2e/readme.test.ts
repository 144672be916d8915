import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prerequisiteSkip } from '../prerequisites.js';
import { MLFLOW_IMAGE } from '../server/mlflow-support.js';
import { BASE_IMAGE, closeDockerSandbox, docker, dockerSkipReason } from './docker-harness.js';
import { OEP_BIN, OepSandbox, REPO_ROOT } from './harness.js';

/**
 * The README's walk-throughs are scripts in examples/walkthroughs/ (the part after "# ---" is what
 * the README shows, in the fenced block after `<!-- walkthrough: PATH -->`). This file checks
 * that the README and the scripts say the same, and runs every script as it is, on the process
 * runtime and on Docker, from a copy of examples/ with `oep` on PATH, the way the README tells a
 * user to set things up (Docker offline: `oep config set image_map images/offline.yml`).
 */

const README = join(REPO_ROOT, 'README.md');
const WALKTHROUGHS = join(REPO_ROOT, 'examples', 'walkthroughs');
/** What examples/sklearn answers for its sample request (Azure's model-1 numbers). */
const SKLEARN = [5430.917515226918, 4005.6834037998824];
/** examples/mlflow: y = 0.5 * age + 2 * bmi - bp + 10 for its two rows. */
const MLFLOW = [0, 8.5];
/** The Debian interpreter with the examples' packages (.ci/run installs them). */
const DEBIAN_PYTHON = '/usr/bin/python3';

interface Block {
  script: string;
  body: string;
}

/** The README's walk-through blocks, in order. */
function readmeBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const pattern = /<!-- walkthrough: examples\/walkthroughs\/(\S+) -->\n```bash\n([\s\S]*?)```\n/g;
  for (const match of text.matchAll(pattern)) blocks.push({ script: match[1]!, body: match[2]! });
  return blocks;
}

function scriptBody(name: string): string {
  const text = readFileSync(join(WALKTHROUGHS, name), 'utf8');
  const at = text.indexOf('# ---\n');
  assert.ok(at >= 0, `${name} has no "# ---" line`);
  return text.slice(at + '# ---\n'.length);
}

/** Every JSON array of numbers printed on a line of its own, or inside {"predictions": [...]}. */
function predictionsIn(output: string): number[][] {
  const found: number[][] = [];
  for (const line of output.split('\n')) {
    try {
      const value = JSON.parse(line) as unknown;
      const list = Array.isArray(value) ? value : (value as { predictions?: unknown })?.predictions;
      if (Array.isArray(list) && list.length > 0 && list.every((item) => typeof item === 'number')) found.push(list);
    } catch {
      // not a JSON line
    }
  }
  return found;
}

function assertClose(actual: number[] | undefined, expected: number[], what: string): void {
  assert.ok(actual, `${what}: no prediction in the output`);
  assert.equal(actual.length, expected.length, what);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 1e-6 * Math.max(1, Math.abs(expected[i]!)), `${what}: ${value} vs ${expected[i]}`));
}

/** Runs a walk-through script in `dir` (a copy of examples/ in it) with `oep` on PATH. */
function runScript(oep: OepSandbox, dir: string, script: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(dir, 'examples', 'walkthroughs', script)],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1', OEP_HOME: oep.home, ...oep.env, PATH: `${join(oep.home, 'bin')}:${process.env.PATH}` }, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

/** `oep` on PATH (as after npm link), pointing at this checkout's build. */
function putOepOnPath(oep: OepSandbox): void {
  const bin = join(oep.home, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'oep'), `#!/bin/sh\nexec "${process.execPath}" "${OEP_BIN}" "$@"\n`);
  chmodSync(join(bin, 'oep'), 0o755);
}

describe('the README and examples/walkthroughs say the same', () => {
  it('every walk-through block is its script after "# ---", and every script is in the README', () => {
    const blocks = readmeBlocks(readFileSync(README, 'utf8'));
    const scripts = readdirSync(WALKTHROUGHS).filter((name) => name.endsWith('.sh')).sort();
    assert.deepEqual(blocks.map((block) => block.script).sort(), scripts);
    for (const block of blocks) assert.equal(block.body, scriptBody(block.script), `README block of ${block.script}`);
  });
});

function processSkip(): string | false {
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', 'import sklearn, joblib, pandas, cloudpickle, debugpy'], { stdio: 'ignore' });
    return false;
  } catch {
    return prerequisiteSkip(
      'README walk-throughs on the process runtime',
      `${DEBIAN_PYTHON} cannot import sklearn, joblib, pandas, cloudpickle and debugpy (apt install python3-sklearn python3-pandas python3-cloudpickle python3-debugpy)`,
    );
  }
}

function walkthroughSuite(runtime: 'process' | 'docker', skip: string | false): void {
  describe(`README walk-throughs on the ${runtime} runtime`, { skip }, () => {
    const sandboxes: OepSandbox[] = [];
    after(async () => {
      for (const oep of sandboxes) {
        if (runtime === 'docker') assert.deepEqual(await closeDockerSandbox(oep), [], 'containers left by this sandbox');
        else await oep.close();
      }
    });

    /** A fresh OEP_HOME and a fresh copy of examples/ for one script, set up as the README says. */
    async function project(): Promise<{ oep: OepSandbox; dir: string }> {
      const oep = new OepSandbox(runtime === 'docker' ? { OEP_IMAGE_MAP: '' } : {});
      sandboxes.push(oep);
      putOepOnPath(oep);
      const dir = join(oep.home, 'project');
      cpSync(join(REPO_ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
      await oep.ok(['config', 'set', 'runtime', runtime]);
      if (runtime === 'docker') await oep.ok(['config', 'set', 'image_map', join(REPO_ROOT, 'images', 'offline.yml')]);
      else await oep.ok(['config', 'set', 'python', DEBIAN_PYTHON]);
      return { oep, dir };
    }

    async function walk(script: string): Promise<string> {
      const { oep, dir } = await project();
      const result = await runScript(oep, dir, script);
      assert.equal(result.code, 0, `${script} failed:\n${result.output}`);
      assert.doesNotMatch(result.output, /^error:/m, `${script} printed an error:\n${result.output}`);
      if (runtime === 'docker') assert.match(result.output, /notice: environment image mcr\.microsoft\.com\/azureml\/\S+ -> local stand-in oep-test\/python-mlflow:bookworm/);
      return result.output;
    }

    it('rollout: blue, green mirrored and compared, traffic moved, green pinned', async () => {
      const output = await walk('rollout.sh');
      const predictions = predictionsIn(output);
      assert.equal(predictions.length, 2, output);
      for (const prediction of predictions) assertClose(prediction, SKLEARN, 'rollout');
      assert.match(output, /status pairs\s+200 vs 200: \d+/);
    });

    it('--watch: an edit of score.py is served', async () => {
      const output = await walk('watch.sh');
      assert.match(output, /^\{"predictions": \[/m);
      assertClose(predictionsIn(output).at(-1), SKLEARN, 'watch');
    });

    it('--debug --vscode, then back to normal', async () => {
      const output = await walk('debug.sh');
      assertClose(predictionsIn(output).at(-1), SKLEARN, 'debug');
      assert.match(output, /"name": "oep: blue \(sklearn\)"/);
    });

    it('registered model and environment', async () => {
      const output = await walk('registered.sh');
      assertClose(predictionsIn(output).at(-1), SKLEARN, 'registered');
      assert.match(output, /sklearn-regression\s+1/);
    });

    it('MLflow no-code', async () => {
      const output = await walk('mlflow.sh');
      assertClose(predictionsIn(output).at(-1), MLFLOW, 'mlflow');
    });

    // Docker only: the script runs docker itself.
    if (runtime === 'docker') it('build and export', async () => {
      try {
        const output = await walk('build-export.sh');
        assertClose(predictionsIn(output).at(-1), SKLEARN, 'the built image');
        assert.match(output, /kustomization\.yaml/);
      } finally {
        // The script removes its container and tag; after a failure halfway, they go here.
        const left = await docker.listContainers({ all: true, filters: { ancestor: ['oep-example/sklearn-blue:1'] } }).catch(() => []);
        for (const container of left) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
        await docker.getImage('oep-example/sklearn-blue:1').remove().catch(() => undefined);
      }
    });
  });
}

walkthroughSuite('process', processSkip());
walkthroughSuite('docker', await dockerSkipReason([BASE_IMAGE, MLFLOW_IMAGE]));

describe('npm run quickstart, twice', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('the second run updates in place: the same scoring URI, key and curl line', async () => {
    const run = (): string =>
      execFileSync('bash', [join(REPO_ROOT, 'examples', 'quickstart', 'run.sh')], { env: { ...process.env, NO_COLOR: '1', OEP_HOME: oep.home, ...oep.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const first = run();
    const second = run();
    const curl = (output: string): string | undefined => /^ {2}curl .*$/m.exec(output)?.[0];
    assert.ok(curl(first), first);
    assert.equal(curl(second), curl(first));
    assert.match(second, /^\[224\.5, 353\.3\]$/m);
  });
});
