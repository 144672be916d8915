import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox, REPO_ROOT } from './harness.js';

const ROLLOUT = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

/**
 * Microsoft's "deploy locally" script (azureml-examples cli/deploy-local-endpoint.sh), with our own
 * files: endpoint and deployment made with --local, no traffic set, then invoke and a curl without
 * a key. Azure's local endpoints route to their one deployment and have no auth.
 */
describe('an endpoint created with --local behaves as Azure\'s local endpoints', () => {
  const oep = new OepSandbox();
  let work = '';
  let scoringUri = '';

  before(async () => {
    work = join(oep.home, 'work');
    cpSync(ROLLOUT, work, { recursive: true });
    // The sample's endpoint.yml asks for key auth; locally that has no effect.
    writeFileSync(join(work, 'endpoint.yml'), 'name: placeholder\nauth_mode: key\n');
    await oep.ok(['config', 'set', 'runtime', 'process']);
  });
  after(() => oep.close());

  it('endpoint create --local says what it means in one notice line', async () => {
    const created = await oep.run(['online-endpoint', 'create', '--local', '-n', 'local-ep', '-f', join(work, 'endpoint.yml'), '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(
      created.stderr,
      "notice: --local: endpoint local-ep behaves as Azure's local endpoints: no auth, every request goes to its one deployment (traffic rules have no effect), " +
        "and it holds one deployment. Create it without --local for the cloud's front door.\n",
    );
    assert.equal(await oep.ok(['endpoint', 'show', '--local', '--name', 'local-ep', '--query', 'provisioning_state', '-o', 'tsv']), 'Succeeded\n');
  });

  it('its one deployment gets every request without traffic being set, and the scoring URI takes requests without a key', async () => {
    await oep.ok(['online-deployment', 'create', '--local', '-n', 'blue', '--endpoint', 'local-ep', '-f', join(work, 'blue.yml'), '-o', 'none']);
    assert.equal(await oep.ok(['online-deployment', 'show', '--local', '--name', 'blue', '--endpoint', 'local-ep', '--query', 'provisioning_state', '-o', 'tsv']), 'Succeeded\n');
    const invoked = await oep.ok(['online-endpoint', 'invoke', '--local', '--name', 'local-ep', '--request-file', '-'], { input: '{"n": 1}' });
    assert.deepEqual(JSON.parse(invoked), { deployment: 'blue', n: 1 });
    scoringUri = (await oep.ok(['online-endpoint', 'show', '--local', '-n', 'local-ep', '-o', 'tsv', '--query', 'scoring_uri'])).trim();
    const curl = await fetch(scoringUri, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n": 2}' });
    assert.equal(curl.status, 200);
    assert.deepEqual(await curl.json(), { deployment: 'blue', n: 2 });
    assert.equal(curl.headers.get('azureml-model-deployment'), 'blue');
    const shown = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'local-ep', '--query', '{traffic: traffic, local: local}']));
    assert.deepEqual(shown, { traffic: { blue: 100 }, local: true });
  });

  it('a second deployment is refused with what to do, and nothing changes; updating the one it has works', async () => {
    const second = await oep.run(['online-deployment', 'create', '--local', '-n', 'green', '--endpoint', 'local-ep', '-f', join(work, 'green.yml')]);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /Endpoint local-ep was created with --local and already holds deployment blue; a local endpoint holds one deployment/);
    assert.match(second.stderr, /oep deployment delete -n blue -e local-ep --yes/);
    assert.equal(await oep.ok(['deployment', 'list', '-e', 'local-ep', '--query', '[].name', '-o', 'tsv']), 'blue\n');
    await oep.ok(['online-deployment', 'update', '--local', '-n', 'blue', '--endpoint', 'local-ep', '-f', join(work, 'blue.yml'), '--set', 'environment_variables.DEPLOYMENT_LABEL=blue-2', '-o', 'none']);
    const curl = await fetch(scoringUri, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n": 3}' });
    assert.deepEqual(await curl.json(), { deployment: 'blue-2', n: 3 });
    const traffic = await oep.run(['endpoint', 'update', '-n', 'local-ep', '--traffic', 'blue=0', '--query', 'traffic', '-o', 'json']);
    assert.equal(traffic.code, 0, traffic.stderr);
    assert.equal(traffic.stderr, 'notice: endpoint local-ep was created with --local: the traffic rules are kept but have no effect; every request goes to its one deployment.\n');
    assert.deepEqual(JSON.parse(traffic.stdout), { blue: 100 });
    assert.equal((await fetch(scoringUri, { method: 'POST', body: '{"n": 5}' })).status, 200);
  });

  it('get-logs and delete --local work as in the script', async () => {
    const logs = await oep.ok(['online-deployment', 'get-logs', '--local', '-n', 'blue', '--endpoint', 'local-ep']);
    assert.match(logs, /rollout fixture ready: blue-2/);
    await oep.ok(['online-endpoint', 'delete', '--local', '--name', 'local-ep', '--yes']);
    assert.equal(await oep.ok(['endpoint', 'list', '--query', 'length(@)', '-o', 'tsv']), '0\n');
  });

  it('deployment create --local with no endpoint makes a local one, as Azure\'s local mode runs it under a stand-in', async () => {
    const created = await oep.run(['online-deployment', 'create', '--local', '-n', 'blue', '--endpoint', 'stand-in', '-f', join(work, 'blue.yml'), '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /^notice: --local: endpoint stand-in behaves as Azure's local endpoints/m);
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'stand-in', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const curl = await fetch(uri, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n": 4}' });
    assert.deepEqual(await curl.json(), { deployment: 'blue', n: 4 });
    const missing = await oep.run(['deployment', 'create', '-n', 'blue', '-e', 'nowhere', '-f', join(work, 'blue.yml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Online endpoint nowhere does not exist/);
    await oep.ok(['endpoint', 'delete', '-n', 'stand-in', '--yes']);
  });

  it('without --local nothing changes: no traffic set is a 404, no key a 401', async () => {
    await oep.ok(['endpoint', 'create', '-n', 'cloud-ep', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-n', 'blue', '-e', 'cloud-ep', '-f', join(work, 'blue.yml'), '-o', 'none']);
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'cloud-ep', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const noKey = await fetch(uri, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noKey.status, 401);
    const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'cloud-ep', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const noTraffic = await fetch(uri, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: '{}' });
    assert.equal(noTraffic.status, 404);
    assert.match(await noTraffic.text(), /No valid deployments to route to/);
    assert.equal((JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'cloud-ep'])) as { local?: boolean }).local, undefined);
  });
});
