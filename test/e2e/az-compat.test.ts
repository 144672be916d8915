import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox, REPO_ROOT } from './harness.js';

const ROLLOUT = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

/** Scripts written for `az ml` run unchanged: its flags, prefixes, templates and --no-wait. */
describe('az scripts run unchanged', () => {
  const oep = new OepSandbox();
  let work = '';

  before(async () => {
    work = join(oep.home, 'work');
    cpSync(ROLLOUT, work, { recursive: true });
    await oep.ok(['config', 'set', 'runtime', 'process']);
  });
  after(() => oep.close());

  it('endpoint create -n NAME needs no file (key auth, defaults); --no-wait is accepted silently', async () => {
    const result = await oep.run(['online-endpoint', 'create', '-n', 'rollout', '--no-wait', '--query', 'auth_mode', '-o', 'tsv']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'key\n');
    assert.equal(result.stderr, '');
  });

  it('workspace flags are accepted with one notice line', async () => {
    const result = await oep.run(['endpoint', 'show', '-n', 'rollout', '-g', 'my-rg', '-w', 'my-ws', '--subscription', 'sub', '--query', 'name', '-o', 'tsv']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'rollout\n');
    assert.equal(
      result.stderr,
      'notice: -g/--resource-group, -w/--workspace-name and --subscription name an Azure workspace; oep runs on this machine and ignores them.\n',
    );
  });

  // An ambiguous prefix (no daemon needed) is a row of test/unit/cli-table.test.ts.
  it('long options take any unambiguous prefix', async () => {
    await oep.ok(['online-deployment', 'create', '--name', 'blue', '--endpoint', 'rollout', '--fi', join(work, 'blue.yml'), '--all-traffic', '-o', 'none']);
  });

  it('invoke takes --deployment (a prefix), -o and --query like every command', async () => {
    const raw = await oep.ok(['endpoint', 'invoke', '--name', 'rollout', '--deployment', 'blue', '--request-file', '-'], { input: '{"n": 1}' });
    const body = JSON.parse(raw) as { deployment: string };
    assert.equal(body.deployment, 'blue');
    // As in az, the response is one string value: tsv prints it bare, json quoted.
    assert.equal(await oep.ok(['endpoint', 'invoke', '-n', 'rollout', '--request-file', '-', '-o', 'tsv'], { input: '{"n": 1}' }), raw);
    assert.equal(await oep.ok(['endpoint', 'invoke', '-n', 'rollout', '--request-file', '-', '-o', 'json'], { input: '{"n": 1}' }), `${JSON.stringify(raw.trimEnd())}\n`);
  });

  it('--no-wait returns once the daemon has the work; show says Creating until it ends', async () => {
    const code = join(oep.home, 'slow');
    cpSync(join(work, 'code'), code, { recursive: true });
    writeFileSync(join(code, 'score.py'), 'import time\n\ndef init():\n    time.sleep(3)\n\ndef run(data):\n    return data\n');
    const created = await oep.run(['deployment', 'create', '-f', join(work, 'green.yml'), '--set', `code_configuration.code=${code}`, '--no-wait', '--query', 'provisioning_state', '-o', 'tsv']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'Creating\n');
    // The last line; before it may come the deployment's notices (e.g. its managed identity's
    // tokens), as the daemon sends them before or after it has recorded the work.
    assert.match(created.stderr, /(^|\n)notice: the daemon goes on creating deployment green; follow it with: oep deployment show -n green -e rollout --query provisioning_state\n$/);
    assert.ok(created.stderr.split('\n').slice(0, -1).every((line) => line.startsWith('notice: ')), created.stderr);
    const states = new Set<string>();
    await eventually('green to be ready', async () => {
      const state = (await oep.ok(['deployment', 'show', '-n', 'green', '-e', 'rollout', '--query', 'provisioning_state', '-o', 'tsv'])).trim();
      states.add(state);
      return state === 'Succeeded' ? true : undefined;
    });
    assert.ok(states.has('Creating'), `states seen: ${[...states].join(', ')}`);
  });

  it('--set takes several key=value pairs after one flag, as az does, and may be given again', async () => {
    const updated = await oep.run([
      'deployment', 'update', '-n', 'blue', '-e', 'rollout',
      '--set', 'description=two pairs', 'tags.team=ml', 'tags.stage=test', '--set', 'instance_count=2',
      '--query', '[description, tags.team, tags.stage, instance_count]', '-o', 'tsv',
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, 'two pairs\nml\ntest\n2\n');
    const endpoint = await oep.ok(['endpoint', 'update', '-n', 'rollout', '--set', 'description=ep', 'tags.owner=me', '--query', '[description, tags.owner]', '-o', 'tsv']);
    assert.equal(endpoint, 'ep\nme\n');
    // The pairs end at the next option; a word that is not a pair is bad input, and nothing changes.
    const bad = await oep.run(['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', 'instance_count=1', 'oops']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--set "oops" is not of the form key\.path=value/);
    assert.equal(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout', '--query', 'instance_count', '-o', 'tsv']), '2\n');
  });
});

describe('templates: names that scripts give with -n / -e', () => {
  const oep = new OepSandbox();
  let dir = '';

  before(() => {
    dir = join(oep.home, 'tpl');
    cpSync(join(ROLLOUT, 'code'), join(dir, 'code'), { recursive: true });
    writeFileSync(join(dir, 'endpoint.yml'), 'name: {{ENDPOINT_NAME}}\nauth_mode: key\n');
    writeFileSync(
      join(dir, 'deployment.yml'),
      'name: blue\nendpoint_name: <endpoint_name>\ncode_configuration:\n  code: ./code\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\n',
    );
    writeFileSync(
      join(dir, 'no-endpoint.yml'),
      'name: blue\ncode_configuration:\n  code: ./code\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\n',
    );
  });
  after(() => oep.close());

  it('validate warns about placeholders and missing names, and takes -n, -e and --set like create', async () => {
    const result = await oep.run(['validate', '-f', 'endpoint.yml', '-f', 'deployment.yml', '-f', 'no-endpoint.yml'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      'warning: endpoint.yml:1:7 name: {{ENDPOINT_NAME}} is a template placeholder; give it with -n/--name when you create.\n' +
        'warning: deployment.yml:2:16 endpoint_name: "<endpoint_name>" is a template placeholder; give it with -e/--endpoint-name when you create.\n' +
        'warning: no-endpoint.yml:1:1: endpoint_name is not in the file; give it with -e/--endpoint-name when you create.\n',
    );
    const named = await oep.run(['validate', '-f', 'endpoint.yml', '-n', 'real-name'], { cwd: dir });
    assert.equal(named.code, 0);
    assert.equal(named.stdout, 'endpoint.yml: valid endpoint "real-name"\n');
    assert.equal(named.stderr, '');
  });

  it('create refuses a placeholder that no flag replaces, and works when -n / -e give the names', async () => {
    const refused = await oep.run(['endpoint', 'create', '-f', 'endpoint.yml'], { cwd: dir });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /endpoint\.yml:1:7 name: \{\{ENDPOINT_NAME\}\} is a template placeholder\.\n {4}hint: give the real name with -n\/--name NAME/);
    assert.equal(await oep.ok(['endpoint', 'create', '-f', 'endpoint.yml', '-n', 'tpl', '--query', 'name', '-o', 'tsv'], { cwd: dir }), 'tpl\n');
    const deployed = await oep.ok(['deployment', 'create', '-f', 'no-endpoint.yml', '-e', 'tpl', '--runtime', 'process', '--query', 'endpoint_name', '-o', 'tsv'], { cwd: dir });
    assert.equal(deployed, 'tpl\n');
  });
});
