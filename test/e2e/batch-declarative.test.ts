import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox } from './harness.js';

/** A batch scoring script as Azure's samples write one: run() gets a list of file paths. */
const DRIVER = `import os

def init():
    pass

def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
`;

function project(root: string): void {
  mkdirSync(join(root, 'model'), { recursive: true });
  mkdirSync(join(root, 'code'), { recursive: true });
  mkdirSync(join(root, 'inputs'), { recursive: true });
  writeFileSync(join(root, 'model', 'weights.json'), '{"w": 1}\n');
  writeFileSync(join(root, 'code', 'batch_driver.py'), DRIVER);
  writeFileSync(join(root, 'inputs', 'a.csv'), 'x\n1\n');
  writeFileSync(join(root, 'inputs', 'b.csv'), 'x\n2\n');
  writeFileSync(join(root, 'data.yml'), '$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: heart-inputs\nversion: 1\ntype: uri_folder\npath: ./inputs\n');
  writeFileSync(join(root, 'endpoint.yml'), '$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\nname: heart-batch\ndescription: nightly scoring\nauth_mode: aad_token\n');
  const common = [
    'endpoint_name: heart-batch',
    'model: azureml:heart:1',
    'code_configuration: {code: ./code, scoring_script: batch_driver.py}',
    'environment: {image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest}',
    'compute: azureml:batch-cluster',
  ];
  // Azure's classic form (settings at the top level) and the type: model form (settings under settings).
  writeFileSync(join(root, 'blue.yml'), ['$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json', 'name: blue', ...common, 'max_concurrency_per_instance: 2'].join('\n'));
  writeFileSync(join(root, 'green.yml'), ['name: green', 'type: model', ...common, 'settings:', '  mini_batch_size: 5', '  instance_count: 2', '  output_action: summary_only'].join('\n'));
  writeFileSync(join(root, 'red.yml'), ['name: red', ...common].join('\n'));
  writeFileSync(join(root, 'pipeline.yml'), 'name: hello\nendpoint_name: heart-batch\ntype: pipeline\ncomponent: azureml:hello_component@latest\n');
}

describe('batch endpoints, batch deployments and data assets: create, show, list, update, delete (no job runs)', () => {
  const oep = new OepSandbox();
  let root = '';
  const json = async (args: string[]): Promise<Record<string, unknown>> => JSON.parse(await oep.ok(args, { cwd: root })) as Record<string, unknown>;

  before(async () => {
    root = join(oep.home, 'project');
    project(root);
    await oep.ok(['model', 'create', '--name', 'heart', '--version', '1', '--path', './model', '-o', 'none'], { cwd: root });
  });
  after(() => oep.close());

  it('registers data assets as snapshots: uri_folder from YAML, uri_file from flags; a version that exists is refused', async () => {
    const folder = await json(['data', 'create', '-f', 'data.yml']);
    assert.equal(folder.name, 'heart-inputs');
    assert.equal(folder.version, '1');
    assert.equal(folder.type, 'uri_folder');
    assert.equal(folder.id, 'azureml:/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/data/heart-inputs/versions/1');
    // Edited after registration: version 1 keeps what was registered.
    writeFileSync(join(root, 'inputs', 'a.csv'), 'x\n99\n');
    assert.equal(readFileSync(join(String(folder.path), 'a.csv'), 'utf8'), 'x\n1\n');

    const file = await json(['data', 'create', '--name', 'one-file', '--type', 'uri_file', '--path', 'inputs/b.csv']);
    assert.equal(file.type, 'uri_file');
    assert.equal(readFileSync(String(file.path), 'utf8'), 'x\n2\n');

    const again = await oep.run(['data', 'create', '-f', 'data.yml'], { cwd: root });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error: Data asset heart-inputs version 1 already exists; a registered version cannot change\.\n/);
    assert.match(again.stderr, /\(OEP_ERR_ASSET_EXISTS\)\n$/);
    const wrongKind = await oep.run(['data', 'create', '--name', 'bad', '--type', 'uri_file', '--path', 'inputs'], { cwd: root });
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.stderr, /path: "inputs" is a directory; expected a file\./);

    assert.equal(await oep.ok(['data', 'show', '-n', 'heart-inputs', '--label', 'latest', '--query', 'version', '-o', 'tsv']), '1\n');
    assert.deepEqual(JSON.parse(await oep.ok(['data', 'list', '--query', '[].[name, type]'])), [
      ['heart-inputs', 'uri_folder'],
      ['one-file', 'uri_file'],
    ]);
  });

  it('creates a batch endpoint (aad_token, no default yet); a second create of the name is refused', async () => {
    const created = await json(['batch-endpoint', 'create', '-f', 'endpoint.yml']);
    assert.equal(created.name, 'heart-batch');
    assert.equal(created.auth_mode, 'aad_token');
    assert.equal(created.description, 'nightly scoring');
    assert.deepEqual(created.defaults, { deployment_name: null });
    assert.equal(created.provisioning_state, 'Succeeded');
    assert.equal(created.id, '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/batchEndpoints/heart-batch');

    const again = await oep.run(['batch-endpoint', 'create', '-f', 'endpoint.yml'], { cwd: root });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error: Batch endpoint heart-batch already exists\.\n/);
    const keyAuth = await oep.run(['batch-endpoint', 'create', '-n', 'key-batch', '--set', 'auth_mode=key']);
    assert.equal(keyAuth.code, 2);
    assert.match(keyAuth.stderr, /auth_mode: "key" is only available on online endpoints\./);

    assert.equal(await oep.ok(['batch-endpoint', 'list', '--query', '[].name', '-o', 'tsv']), 'heart-batch\n');
    // Batch endpoints are not online endpoints.
    assert.equal(await oep.ok(['endpoint', 'list', '-o', 'json']), '[]\n');
  });

  it("the first deployment becomes the default; both YAML forms show Azure's settings at the top level with its defaults", async () => {
    const blue = await json(['batch-deployment', 'create', '-f', 'blue.yml']);
    assert.equal(blue.max_concurrency_per_instance, 2);
    assert.equal(blue.mini_batch_size, 10);
    assert.equal(blue.output_action, 'append_row');
    assert.equal(blue.output_file_name, 'predictions.csv');
    assert.deepEqual(blue.retry_settings, { max_retries: 3, timeout: 30 });
    assert.equal(blue.error_threshold, -1);
    assert.equal(blue.logging_level, 'info');
    assert.deepEqual(blue.resources, { instance_count: 1 });
    assert.equal(blue.compute, 'azureml:batch-cluster');
    // The registered model, resolved against oep's registry as for online deployments.
    assert.deepEqual(Object.keys(blue.model as object).sort(), ['name', 'path', 'type', 'version']);
    assert.equal((blue.model as { version: string }).version, '1');
    assert.equal(await oep.ok(['batch-endpoint', 'show', '-n', 'heart-batch', '--query', 'defaults.deployment_name', '-o', 'tsv']), 'blue\n');

    const green = await json(['batch-deployment', 'create', '-f', 'green.yml']);
    assert.equal(green.mini_batch_size, 5);
    assert.equal(green.output_action, 'summary_only');
    assert.deepEqual(green.resources, { instance_count: 2 });
    assert.equal('settings' in green || 'type' in green, false);
    assert.equal(await oep.ok(['batch-endpoint', 'show', '-n', 'heart-batch', '--query', 'defaults.deployment_name', '-o', 'tsv']), 'blue\n');

    await oep.ok(['batch-deployment', 'create', '-f', 'red.yml', '--set-default', '-o', 'none'], { cwd: root });
    assert.equal(await oep.ok(['batch-endpoint', 'show', '-n', 'heart-batch', '--query', 'defaults.deployment_name', '-o', 'tsv']), 'red\n');
    assert.equal(await oep.ok(['batch-deployment', 'list', '-e', 'heart-batch', '--query', '[].name', '-o', 'tsv']), 'blue\ngreen\nred\n');
  });

  it('refuses a pipeline component deployment, an unknown model and a second create of a name; nothing changes', async () => {
    const pipeline = await oep.run(['batch-deployment', 'create', '-f', 'pipeline.yml'], { cwd: root });
    assert.equal(pipeline.code, 2);
    assert.match(pipeline.stderr, /pipeline\.yml:3:7 type: Pipeline component batch deployments \(type: pipeline\) are not supported by oep, which runs model batch deployments only\./);
    assert.match(pipeline.stderr, /\(OEP_ERR_SPEC_INVALID\)\n$/);

    const missing = await oep.run(['batch-deployment', 'create', '-f', 'red.yml', '-n', 'orange', '--set', 'model=azureml:nope:3'], { cwd: root });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: Batch deployment orange cannot run on this machine\.\n/);
    assert.match(missing.stderr, /red\.yml: model: "azureml:nope:3": Model nope:3 is not registered in oep's local registry\./);

    const twice = await oep.run(['batch-deployment', 'create', '-f', 'blue.yml'], { cwd: root });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /^error: Deployment blue already exists in batch endpoint heart-batch\.\n/);
    assert.equal(await oep.ok(['batch-deployment', 'list', '-e', 'heart-batch', '--query', 'length(@)']), '3\n');
  });

  it('updates a deployment with --set and the default with --defaults; a default must name a deployment it has', async () => {
    const updated = await json(['batch-deployment', 'update', '-n', 'blue', '-e', 'heart-batch', '--set', 'mini_batch_size=20', 'retry_settings.timeout=60']);
    assert.equal(updated.mini_batch_size, 20);
    assert.deepEqual(updated.retry_settings, { max_retries: 3, timeout: 60 });
    assert.equal(await oep.ok(['batch-deployment', 'show', '-n', 'blue', '-e', 'heart-batch', '--query', 'mini_batch_size']), '20\n');

    // What show prints is a YAML update takes back (the top-level form, read-only keys dropped).
    writeFileSync(join(root, 'shown.yml'), await oep.ok(['batch-deployment', 'show', '-n', 'blue', '-e', 'heart-batch', '-o', 'yaml']));
    assert.equal(await oep.ok(['batch-deployment', 'update', '-f', 'shown.yml', '--set', 'error_threshold=5', '--query', '[mini_batch_size, error_threshold]', '-o', 'tsv'], { cwd: root }), '20\n5\n');

    const bad = await oep.run(['batch-deployment', 'update', '-n', 'blue', '-e', 'heart-batch', '--set', 'output_action=rows']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /batch deployment blue output_action: Must be one of: append_row, summary_only\./);

    assert.equal(await oep.ok(['batch-endpoint', 'update', '-n', 'heart-batch', '--defaults', 'deployment_name=green', '--query', 'defaults.deployment_name', '-o', 'tsv']), 'green\n');
    const unknown = await oep.run(['batch-endpoint', 'update', '-n', 'heart-batch', '--set', 'defaults.deployment_name=nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: Deployment nope does not exist in batch endpoint heart-batch, so it cannot be its default\.\n/);
    assert.match(unknown.stderr, /\(OEP_ERR_DEPLOYMENT_NOT_FOUND\)\n$/);
    assert.equal(await oep.ok(['batch-endpoint', 'show', '-n', 'heart-batch', '--query', 'defaults.deployment_name', '-o', 'tsv']), 'green\n');
  });

  it('the default deployment goes last; deleting the endpoint deletes its deployments', async () => {
    const refused = await oep.run(['batch-deployment', 'delete', '-n', 'green', '-e', 'heart-batch', '--yes']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^error: Deployment green is the default deployment of batch endpoint heart-batch and cannot be deleted while it has other deployments\.\n/);
    assert.match(refused.stderr, /\(OEP_ERR_DEPLOYMENT_IS_DEFAULT\)\n$/);

    await oep.ok(['batch-deployment', 'delete', '-n', 'blue', '-e', 'heart-batch', '--yes']);
    await oep.ok(['batch-deployment', 'delete', '-n', 'red', '-e', 'heart-batch', '--yes']);
    assert.equal(await oep.ok(['batch-deployment', 'list', '-e', 'heart-batch', '--query', '[].name', '-o', 'tsv']), 'green\n');
    // The last one takes the default with it.
    await oep.ok(['batch-deployment', 'delete', '-n', 'green', '-e', 'heart-batch', '--yes']);
    assert.equal(await oep.ok(['batch-endpoint', 'show', '-n', 'heart-batch', '--query', 'defaults']), '{\n  "deployment_name": null\n}\n');

    await oep.ok(['batch-deployment', 'create', '-f', 'blue.yml', '-o', 'none'], { cwd: root });
    await oep.ok(['batch-endpoint', 'delete', '-n', 'heart-batch', '--yes']);
    const gone = await oep.run(['batch-endpoint', 'show', '-n', 'heart-batch']);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /^error: Batch endpoint heart-batch does not exist\.\n/);
    const deployments = await oep.run(['batch-deployment', 'list', '-e', 'heart-batch']);
    assert.equal(deployments.code, 2);
    assert.equal(await oep.ok(['batch-endpoint', 'list', '-o', 'json']), '[]\n');
  });
});
