import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from '../../src/cli/commander.js';
import { buildProgram } from '../../src/cli/main.js';
import { createDefaultContext } from '../../src/cli/default-context.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { OEP_BIN, OepSandbox, REPO_ROOT } from './harness.js';

const ROLLOUT = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

/**
 * What a new user meets first: help, usage errors, hints, a broken script, odd terminals. Usage
 * errors and --help that need no daemon are rows of test/unit/cli-table.test.ts.
 */
describe('first contact: help, usage errors and hints', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it('every flag the README mentions is one that --help shows', async () => {
    // Every command of the program, found by walking it (a new command is checked without a list here).
    let help = '';
    const program = await buildProgram({ ...createDefaultContext(), stdout: { write: (text: string) => (help += text) } });
    const walk = (command: Command): void => {
      command.outputHelp();
      command.commands.forEach(walk);
    };
    walk(program);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const flags = new Set(readme.match(/(?<![\w-])--[a-z][a-z-]*[a-z]/g));
    // Flags of other programs the README shows with oep's output (docker run's --env-file).
    const otherPrograms = new Set(['--env-file']);
    const missing = [...flags].filter((flag) => !help.includes(flag) && !otherPrograms.has(flag));
    assert.deepEqual(missing, [], `README flags that no --help shows: ${missing.join(', ')}`);
  });

  it('without a build, bin/oep.js says what to run instead of a stack trace', async () => {
    const bare = join(oep.home, 'unbuilt');
    mkdirSync(join(bare, 'bin'), { recursive: true });
    copyFileSync(OEP_BIN, join(bare, 'bin', 'oep.js'));
    // bin/ is CommonJS (bin/package.json): copied as it is shipped.
    copyFileSync(join(dirname(OEP_BIN), 'package.json'), join(bare, 'bin', 'package.json'));
    writeFileSync(join(bare, 'package.json'), '{"type": "module"}\n');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(bare, 'bin', 'oep.js'), '--help'], (error, _stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'error: oep is not built yet (dist/ is missing).\nhint: run "npm ci" (it builds), or "npm run build", in the oep folder, then try again.\n(OEP_ERR_NOT_BUILT)\n',
    );
  });
});

describe('first contact: a running endpoint (process runtime)', () => {
  const oep = new OepSandbox();
  let work = '';

  before(async () => {
    work = join(oep.home, 'work');
    cpSync(ROLLOUT, work, { recursive: true });
    await oep.ok(['endpoint', 'create', '-f', join(work, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(work, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(work, 'green.yml'), '--runtime', 'process', '-o', 'none']);
  });
  after(() => oep.close());

  it('deployment list items have the shape of deployment show', async () => {
    const list = JSON.parse(await oep.ok(['deployment', 'list', '-e', 'rollout'])) as Record<string, unknown>[];
    const show = JSON.parse(await oep.ok(['deployment', 'show', '-e', 'rollout', '-n', 'blue'])) as Record<string, unknown>;
    const blue = list.find((item) => item.name === 'blue')!;
    assert.deepEqual(Object.keys(blue).sort(), Object.keys(show).sort());
    assert.equal(blue.type, show.type);
    assert.deepEqual(blue.code_configuration, show.code_configuration);
  });

  it('endpoint list shows each scoring_uri', async () => {
    const list = JSON.parse(await oep.ok(['endpoint', 'list'])) as { name: string; scoring_uri: string }[];
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    assert.equal(list.find((item) => item.name === 'rollout')?.scoring_uri, uri);
  });

  it('a mistyped --deployment-name is named, with the nearest deployment', async () => {
    const result = await oep.run(['endpoint', 'invoke', '-n', 'rollout', '--deployment-name', 'gren']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /hint: --deployment-name gren: endpoint rollout has no such deployment; its deployments are blue, green\. Did you mean --deployment-name green\?/,
    );
  });

  it('a pin naming an inherited property (__proto__, toString, constructor) is an unknown deployment: 404', async () => {
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    for (const name of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'azureml-model-deployment': name }, body: '{}' });
      assert.equal(res.status, 404, name);
      const body = JSON.parse(await res.text()) as { message: string };
      assert.equal(body.message, `Deployment "${name}" does not exist in endpoint rollout. Deployments: blue, green.`);
    }
  });

  it('traffic set on a mirrored deployment says to stop the mirror first', async () => {
    await oep.ok(['traffic', 'mirror', '-n', 'rollout', 'green=10', '-o', 'none']);
    const result = await oep.run(['traffic', 'set', '-n', 'rollout', 'blue=90', 'green=10']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /To give it live traffic, stop mirroring it first \(oep traffic mirror -n rollout green=0/);
    await oep.ok(['traffic', 'mirror', '-n', 'rollout', 'green=0', '-o', 'none']);
  });

  it('a score.py with a syntax error fails in phase "load", the SyntaxError first, with the local path', async () => {
    const code = join(oep.home, 'broken');
    cpSync(join(work, 'code'), code, { recursive: true });
    writeFileSync(join(code, 'score.py'), 'def init():\n    pass\n\ndef run(data)\n    return data\n');
    const result = await oep.run(['deployment', 'create', '-f', join(work, 'green.yml'), '-n', 'broken', '--set', `code_configuration.code=${code}`, '--runtime', 'process']);
    assert.equal(result.code, 1);
    // After the process runtime's notice of which interpreter runs it.
    const first = result.stderr.split('\n').find((line) => !line.startsWith('notice: '));
    assert.equal(first, `error: Deployment broken failed in phase "load": the scoring script could not be loaded: SyntaxError: expected ':' (${join(code, 'score.py')}, line 4)`);
  });

  it('a terminal with 0 columns gets no spinner, and the command returns', { skip: prerequisiteSkip('the 0-column terminal test', !hasScript() && 'no script(1) here (util-linux; on Debian the bsdutils package)') }, async () => {
    const log = join(oep.home, 'typescript.out');
    const command = `stty cols 0 rows 0; ${process.execPath} ${OEP_BIN} deployment update -f ${join(work, 'blue.yml')} --runtime process -o none`;
    const result = await new Promise<{ code: number | null }>((resolve) => {
      const child = execFile('script', ['-qec', command, log], { env: { ...process.env, OEP_HOME: oep.home, CI: '', NO_COLOR: '' }, timeout: 120_000 }, (error) =>
        resolve({ code: error ? (error.code as number) : 0 }),
      );
      child.stdin?.end();
    });
    assert.equal(result.code, 0);
    const output = readFileSync(log, 'utf8');
    assert.ok(output.length < 4096, `the terminal got ${output.length} bytes`);
    assert.doesNotMatch(output, /\u001b\[\d*G/, 'no cursor movement');
  });

  it('SIGTERM ends a waiting command at once; the daemon carries on', async () => {
    const slow = join(oep.home, 'slow');
    cpSync(join(work, 'code'), slow, { recursive: true });
    writeFileSync(join(slow, 'score.py'), 'import time\n\ndef init():\n    time.sleep(5)\n\ndef run(data):\n    return data\n');
    const running = oep.start(['deployment', 'create', '-f', join(work, 'green.yml'), '-n', 'slow', '--set', `code_configuration.code=${slow}`, '--runtime', 'process']);
    // Once the daemon has the work, the deployment shows up as Creating.
    for (;;) {
      const show = await oep.run(['deployment', 'show', '-e', 'rollout', '-n', 'slow', '--query', 'provisioning_state', '-o', 'tsv']);
      if (show.stdout.trim() === 'Creating') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 143);
    for (;;) {
      const show = await oep.run(['deployment', 'show', '-e', 'rollout', '-n', 'slow', '--query', 'provisioning_state', '-o', 'tsv']);
      if (show.stdout.trim() === 'Succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});

function hasScript(): boolean {
  try {
    return readFileSync('/usr/bin/script').length > 0;
  } catch {
    return false;
  }
}
