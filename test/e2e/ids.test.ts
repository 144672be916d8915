import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'ids');
const WORKSPACE = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local';

/**
 * What Microsoft's deploy-moe-autoscale.sh reads before `az monitor autoscale create --resource`:
 * the deployment's `id` and the endpoint's `azureml.onlineendpointid` property, as -o tsv; and a
 * named inline model, registered by `deployment create` as Azure registers it, found and archived
 * by name and version (process runtime, our own files).
 */
describe('ids and properties that scripts query', () => {
  const oep = new OepSandbox();
  let work = '';
  const invoke = async (): Promise<{ answer: number; model_dir: string }> =>
    JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'ids', '--request-file', '-'], { input: '{"n": 5}' })) as { answer: number; model_dir: string };

  before(async () => {
    work = join(oep.home, 'work');
    cpSync(FIXTURE, work, { recursive: true });
    await oep.ok(['config', 'set', 'runtime', 'process']);
    await oep.ok(['online-endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: work });
    await oep.ok(['online-deployment', 'create', '-f', 'blue-deployment.yml', '--all-traffic', '-o', 'none'], { cwd: work });
  });
  after(() => oep.close());

  it('endpoint show --query \'properties."azureml.onlineendpointid"\' -o tsv: the endpoint\'s id in the service\'s lower case', async () => {
    const property = await oep.ok(['online-endpoint', 'show', '-n', 'ids', '-o', 'tsv', '--query', 'properties."azureml.onlineendpointid"']);
    assert.equal(property, `${WORKSPACE.toLowerCase()}/onlineendpoints/ids\n`);
    assert.equal(await oep.ok(['endpoint', 'show', '-n', 'ids', '--query', 'id', '-o', 'tsv']), `${WORKSPACE}/onlineEndpoints/ids\n`);
  });

  it('the endpoint\'s properties: the YAML\'s own beside the service\'s', async () => {
    const properties = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'ids', '--query', 'properties'])) as Record<string, string>;
    assert.deepEqual(Object.keys(properties), ['azureml.onlineendpointid', 'createdAt', 'createdBy', 'lastModifiedAt', 'team']);
    assert.equal(properties.team, 'forecasting');
    assert.match(properties.createdAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$/);
    assert.match(properties.lastModifiedAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$/);
    assert.notEqual(properties.createdBy, '');
  });

  it('deployment show --query id -o tsv: the ARM id az monitor autoscale takes; its properties are the YAML\'s', async () => {
    const id = await oep.ok(['online-deployment', 'show', '-e', 'ids', '-n', 'blue', '-o', 'tsv', '--query', 'id']);
    assert.equal(id, `${WORKSPACE}/onlineEndpoints/ids/deployments/blue\n`);
    assert.deepEqual(JSON.parse(await oep.ok(['deployment', 'show', '-e', 'ids', '-n', 'blue', '--query', 'properties'])), { owner: 'ids-test' });
  });

  it('the named inline model is registered: model show -n NAME -v 1 finds it (with an ARM-shaped id), model archive archives it', async () => {
    const shown = JSON.parse(await oep.ok(['model', 'show', '-n', 'ids-model', '-v', '1'])) as Record<string, unknown>;
    assert.equal(shown.id, `azureml:${WORKSPACE}/models/ids-model/versions/1`);
    assert.equal(shown.description, 'weights for the ids test');
    assert.equal(shown.type, 'custom_model');
    assert.equal(await oep.ok(['model', 'archive', '-n', 'ids-model', '-v', '1', '--query', 'archived', '-o', 'tsv']), 'true\n');
    assert.equal(await oep.ok(['model', 'list', '--query', 'length(@)']), '0\n');
    assert.equal(await oep.ok(['model', 'list', '-n', 'ids-model', '--include-archived', '--query', '[].version', '-o', 'tsv']), '1\n');
    // The ARM-shaped id is a reference a deployment YAML accepts.
    const validated = await oep.run(['validate', '-f', 'blue-deployment.yml', '--set', `model=${shown.id as string}`], { cwd: work });
    assert.equal(validated.code, 0, validated.stderr);
  });

  it('create or update again with the same files: the same version, nothing new in the registry', async () => {
    await oep.ok(['deployment', 'update', '-f', 'blue-deployment.yml', '-o', 'none'], { cwd: work });
    assert.equal(await oep.ok(['model', 'list', '-n', 'ids-model', '--include-archived', '--query', 'length(@)']), '1\n');
    assert.equal((await invoke()).answer, 10);
  });

  it('other files under version 1 are refused at model.version with what to do; nothing changes; a new version deploys', async () => {
    writeFileSync(join(work, 'model', 'weights.json'), '{"scale": 3}\n');
    const refused = await oep.run(['deployment', 'update', '-f', 'blue-deployment.yml'], { cwd: work });
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      [
        "error: Deployment blue: the inline model's version is registered with other files.",
        `  blue-deployment.yml:6:12 model.version: model ids-model version 1 is already registered with other files than model.path "${join(work, 'model')}"; a registered version cannot change.`,
        'hint: Give the changed files a new version (model.version, or leave it out for the next one), or deploy the registered ones: model: azureml:ids-model:1. Nothing was changed.',
        '(OEP_ERR_ASSET_EXISTS)',
        '',
      ].join('\n'),
    );
    assert.equal(refused.stdout, '');
    // Still the replica that loaded version 1's files.
    assert.equal((await invoke()).answer, 10);
    assert.equal(await oep.ok(['model', 'list', '-n', 'ids-model', '--include-archived', '--query', 'length(@)']), '1\n');

    await oep.ok(['deployment', 'update', '-f', 'blue-deployment.yml', '--set', 'model.version=2', '-o', 'none'], { cwd: work });
    const answer = await invoke();
    assert.equal(answer.answer, 15);
    assert.match(answer.model_dir, /\/azureml-models\/ids-model\/2$/);
    assert.equal(await oep.ok(['model', 'show', '-n', 'ids-model', '--label', 'latest', '--query', 'version', '-o', 'tsv']), '2\n');
  });
});
