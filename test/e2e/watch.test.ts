import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE_IMAGE, closeDockerSandbox, docker, dockerSkipReason, TEST_RUN } from './docker-harness.js';
import { eventually, example, OepSandbox, type RunningCli } from './harness.js';

/**
 * Watch mode: save score.py (or the model, or the YAML) and the endpoint serves the new version,
 * with no failed request while a client keeps sending; a broken save keeps the old version.
 */
function watchSuite(runtime: 'process' | 'docker', skip: string | false): void {
  const oep = new OepSandbox();
  let dir = '';
  let watching: RunningCli | undefined;
  let uri = '';
  let key = '';
  const answers: string[] = [];
  const failures: string[] = [];
  let sending = false;
  let loop: Promise<void> | undefined;
  const score = join('onlinescoring', 'score.py');
  const edit = (file: string, from: string | RegExp, to: string): void => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const next = text.replace(from, to);
    assert.notEqual(next, text, `the edit of ${file} changed nothing`);
    writeFileSync(path, next);
  };
  const lastAnswer = (): string | undefined => answers.at(-1);
  const reloads = (): number => (watching?.stderr.match(/^reloaded blue in \d+\.\d s$/gm) ?? []).length;

  before(async () => {
    if (skip) return;
    dir = join(oep.home, 'project');
    cpSync(example('quickstart'), dir, { recursive: true });
    // (The quickstart's environment is BASE_IMAGE: the docker runtime runs it as it is, no build.)
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
    watching = oep.start(['deployment', 'create', '-f', join(dir, 'blue-deployment.yml'), '--all-traffic', '--runtime', runtime, '--watch', '-o', 'none']);
    await eventually('the watch to start', async () => (watching!.stderr.includes('watching blue of quickstart') ? true : undefined), 120_000);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const body = readFileSync(join(dir, 'sample-request.json'), 'utf8');
    sending = true;
    // A client that keeps sending while files change; bounded in count.
    loop = (async () => {
      for (let n = 0; sending && n < 20_000; n++) {
        try {
          const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
          const text = await res.text();
          if (res.status === 200) answers.push(text);
          else failures.push(`${res.status} ${text}`);
        } catch (error) {
          failures.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await eventually('a first answer', async () => (answers.length > 0 ? true : undefined));
  });
  after(async () => {
    sending = false;
    await loop;
    watching?.child.kill('SIGINT');
    await watching?.exited;
    if (runtime === 'docker') {
      const left = await closeDockerSandbox(oep);
      assert.deepEqual(left, [], 'containers left by this sandbox');
    } else {
      await oep.close();
    }
  });

  it('serves an edited score.py after the save, with no failed request', { skip }, async () => {
    const before = reloads();
    edit(score, 'predictions.append(round(value, 4))', 'predictions.append(round(value, 4) + 1000)');
    await eventually('the new code to answer', async () => (lastAnswer() === '[1224.5, 1353.3]' ? true : undefined), 60_000);
    await eventually('the reload line', async () => (reloads() > before ? true : undefined));
    assert.deepEqual(failures, []);
  });

  it('a syntax error keeps the previous version serving, says why, and the fix recovers', { skip }, async () => {
    const before = reloads();
    edit(score, /^def run\(raw_data\):/m, 'def run(raw_data)');
    await eventually('the failed reload', async () => (watching!.stderr.includes('still serving the previous version of blue') ? true : undefined), 60_000);
    assert.match(watching!.stderr, /reload of blue failed: Deployment blue failed in phase "load": the scoring script could not be loaded: SyntaxError/);
    const count = answers.length;
    await eventually('more answers from the previous version', async () => (answers.length > count + 5 ? true : undefined));
    assert.equal(lastAnswer(), '[1224.5, 1353.3]');
    edit(score, /^def run\(raw_data\)$/m, 'def run(raw_data):');
    await eventually('the fix to reload', async () => (reloads() > before ? true : undefined), 60_000);
    assert.deepEqual(failures, []);
  });

  it('a swapped model file is picked up', { skip }, async () => {
    edit(join('model', 'weights.json'), '"intercept": 40.0', '"intercept": 140.0');
    await eventually('the new model to answer', async () => (lastAnswer() === '[1324.5, 1453.3]' ? true : undefined), 60_000);
    assert.deepEqual(failures, []);
  });

  it('an invalid YAML change is reported and ignored', { skip }, async () => {
    edit('blue-deployment.yml', 'instance_count: 1', 'instance_count: 1\ninstance_cuont: 2');
    await eventually('the YAML problem', async () => (/reload of blue failed: .*blue-deployment\.yml: 1 problem found/.test(watching!.stderr) ? true : undefined), 60_000);
    assert.match(watching!.stderr, /instance_cuont: Unknown field\./);
    const count = answers.length;
    await eventually('answers go on', async () => (answers.length > count + 5 ? true : undefined));
    assert.equal(lastAnswer(), '[1324.5, 1453.3]');
    edit('blue-deployment.yml', '\ninstance_cuont: 2', '');
    assert.deepEqual(failures, []);
  });

  if (runtime === 'docker') {
    it('never builds an image for a code change', { skip }, async () => {
      const images = async (): Promise<number> => (await docker.listImages({ filters: { label: [`oep.test-run=${TEST_RUN}`] } })).length;
      const count = await images();
      const before = reloads();
      edit(score, '+ 1000)', '+ 2000)');
      await eventually('the reload', async () => (reloads() > before ? true : undefined), 60_000);
      assert.equal(await images(), count);
      assert.doesNotMatch(watching!.stderr, /building image/);
    });
  }

  if (runtime === 'process') {
    it('a reload starts from a warm interpreter and imports the script and its modules anew', async () => {
      const first = (): number => (JSON.parse(lastAnswer()!) as number[])[0]!;
      const base = first();
      const helper = join(dir, 'onlinescoring', 'watch_helper.py');
      // One save: a module of the user's, and the script importing it.
      writeFileSync(helper, 'OFFSET = 1\n');
      const text = readFileSync(join(dir, score), 'utf8').replace('predictions.append(round(value, 4)', 'predictions.append(watch_helper.OFFSET + round(value, 4)');
      writeFileSync(join(dir, score), `import watch_helper\n${text}`);
      await eventually('the script with its module to answer', async () => (Math.abs(first() - (base + 1)) < 1e-6 ? true : undefined), 60_000);
      // Only the module changes: the new replica imports it anew (nothing of the old one is kept).
      writeFileSync(helper, 'OFFSET = 2\n');
      await eventually('the changed module to answer', async () => (Math.abs(first() - (base + 2)) < 1e-6 ? true : undefined), 60_000);
      const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'quickstart', '--container', 'storage-initializer']);
      assert.match(prepared, /command: .* --port \d+ \(a warm interpreter, started ahead with the same environment: server\/oep_spare\.py\)/);
      assert.deepEqual(failures, []);
    });
  }

  it('Ctrl-C ends the watch and leaves the deployment running', { skip }, async () => {
    watching!.child.kill('SIGINT');
    await watching!.exited;
    const state = await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'provisioning_state', '-o', 'tsv']);
    assert.equal(state, 'Succeeded\n');
    const count = answers.length;
    await eventually('answers go on after the watch ended', async () => (answers.length > count + 5 ? true : undefined));
    assert.deepEqual(failures, []);
  });
}

describe('watch mode on the process runtime', () => watchSuite('process', false));

describe('watch mode on docker', async () => {
  const skip = await dockerSkipReason([BASE_IMAGE]);
  watchSuite('docker', skip);
});
