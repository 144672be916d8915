import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DaemonClient } from '../../src/daemon/client.js';
import { applyDeployment } from '../../src/engine/deployment-apply.js';
import { OepError } from '../../src/errors.js';
import type { ProgressEvent } from '../../src/model/progress.js';
import { listVersions, type ModelRecord } from '../../src/registry/store.js';
import { oepPaths } from '../../src/state/paths.js';

/** A daemon that answers deployment.create/update with `outcome`, and counts the calls. */
function fakeDaemon(home: string, outcome: () => unknown): DaemonClient & { calls: number } {
  const client = {
    calls: 0,
    paths: oepPaths(home),
    call: async () => {
      client.calls += 1;
      return outcome();
    },
  };
  return client as unknown as DaemonClient & { calls: number };
}

/** When a named inline model is registered around the daemon's answer (deployment create|update, a fake daemon). */
describe('deployment create|update: registering a named inline model', () => {
  const root = mkdtempSync(join(tmpdir(), 'oep-inline-apply-'));
  const home = join(root, 'home');
  const project = join(root, 'project');
  after(() => rmSync(root, { recursive: true, force: true }));

  before(() => {
    mkdirSync(home);
    mkdirSync(join(project, 'model'), { recursive: true });
    mkdirSync(join(project, 'code'));
    writeFileSync(join(project, 'model', 'weights.json'), '{"w": 1}');
    writeFileSync(join(project, 'code', 'score.py'), 'def init():\n    pass\n\ndef run(data):\n    return data\n');
    const yaml = (name: string, model: string): string =>
      `name: blue\nendpoint_name: ids-ep\nmodel:\n  name: ${name}\n  version: 1\n  path: ${model}\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: python:3.11\ninstance_type: Standard_DS3_v2\n`;
    for (const name of ['refused', 'failed', 'made']) writeFileSync(join(project, `${name}.yml`), yaml(name, 'model'));
  });

  const apply = (file: string, client: DaemonClient, events: ProgressEvent[] = [], extra: object = {}): Promise<unknown> =>
    applyDeployment('create', { file, set: [], allTraffic: false, ...extra }, { client, cwd: project, env: process.env, onEvent: (event) => events.push(event) });
  const versions = async (name: string): Promise<string[]> => (await listVersions<ModelRecord>(home, 'models', name)).map((record) => record.version);

  it('a deployment the daemon refuses as bad input (exit 2) registers nothing', async () => {
    const client = fakeDaemon(home, () => {
      throw new OepError('OEP_ERR_ENDPOINT_NOT_FOUND', 'Endpoint ids-ep does not exist.');
    });
    await assert.rejects(apply('refused.yml', client), { code: 'OEP_ERR_ENDPOINT_NOT_FOUND' });
    assert.deepEqual(await versions('refused'), []);
  });

  it('a deployment that failed to start has its model registered, as Azure registers it first', async () => {
    const client = fakeDaemon(home, () => {
      throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', 'Deployment blue failed.');
    });
    await assert.rejects(apply('failed.yml', client), { code: 'OEP_ERR_DEPLOYMENT_FAILED' });
    assert.deepEqual(await versions('failed'), ['1']);
  });

  it('a made deployment registers it; other files then are refused before the daemon is asked, or only warned about in watch mode', async () => {
    const client = fakeDaemon(home, () => ({ name: 'blue', provisioning_state: 'Succeeded' }));
    await apply('made.yml', client);
    assert.deepEqual(await versions('made'), ['1']);
    assert.equal(client.calls, 1);

    writeFileSync(join(project, 'model', 'weights.json'), '{"w": 2}');
    await assert.rejects(apply('made.yml', client), (error: OepError) => {
      assert.equal(error.code, 'OEP_ERR_ASSET_EXISTS');
      assert.deepEqual(error.details, [`made.yml:5:12 model.version: model made version 1 is already registered with other files than model.path "${join(project, 'model')}"; a registered version cannot change.`]);
      return true;
    });
    assert.equal(client.calls, 1);

    const events: ProgressEvent[] = [];
    await apply('made.yml', client, events, { modelVersionConflict: 'warn' });
    assert.equal(client.calls, 2);
    assert.deepEqual(await versions('made'), ['1']);
    const warnings = events.filter((event) => event.phase === 'warning').map((event) => event.message);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^model made version 1 is already registered with other files than model\.path ".*"; a registered version cannot change\. The registered version keeps its files; this deployment runs the ones at model\.path\. Azure would refuse it: give the changed files a new version/);
  });
});
