import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE_IMAGE, closeDockerSandbox, dockerSkipReason } from './docker-harness.js';
import { OepSandbox, TEST_IMAGE_MAP } from './harness.js';

/** A scoring script that says which model it loaded and where Azure's layout put it. */
const SCORE = `import json, os

def init():
    global model, model_dir
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    with open(os.path.join(model_dir, "model", "weights.json")) as handle:
        model = json.load(handle)

def run(raw):
    return {"version": model["version"], "model_dir": model_dir}
`;

function project(root: string): void {
  mkdirSync(join(root, 'model'), { recursive: true });
  mkdirSync(join(root, 'code'), { recursive: true });
  writeFileSync(join(root, 'model', 'weights.json'), '{"version": "first"}\n');
  writeFileSync(join(root, 'code', 'score.py'), SCORE);
  writeFileSync(join(root, 'model.yml'), '$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: lin\nversion: 1\npath: ./model\ntype: custom_model\ndescription: a linear model\n');
  writeFileSync(join(root, 'environment.yml'), `$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nname: py\nversion: 1\nimage: ${BASE_IMAGE}\n`);
  writeFileSync(join(root, 'endpoint.yml'), 'name: reg\nauth_mode: key\n');
  const deployment = (name: string, model: string, environment: string): string =>
    `name: ${name}\nendpoint_name: reg\nmodel: ${model}\nenvironment: ${environment}\ncode_configuration:\n  code: ./code\n  scoring_script: score.py\ninstance_type: Standard_DS3_v2\n`;
  writeFileSync(join(root, 'pinned.yml'), deployment('pinned', 'azureml:lin:1', 'azureml:py:1'));
  writeFileSync(join(root, 'latest.yml'), deployment('latest', 'azureml:lin@latest', 'azureml:py@latest'));
  writeFileSync(join(root, 'missing.yml'), deployment('missing', 'azureml:nope:3', 'azureml:py:1'));
  writeFileSync(join(root, 'curated.yml'), deployment('curated', 'azureml:lin:1', 'azureml:AzureML-sklearn-1.5@latest'));
}

describe('the local registry: oep model / oep environment, and azureml: references (process runtime)', () => {
  const oep = new OepSandbox();
  let root = '';
  const invoke = async (deployment: string): Promise<{ version: string; model_dir: string }> =>
    JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'reg', '--deployment-name', deployment, '--request-file', '-'], { input: '{}' })) as {
      version: string;
      model_dir: string;
    };

  before(async () => {
    root = join(oep.home, 'project');
    project(root);
    await oep.ok(['config', 'set', 'runtime', 'process']);
    await oep.ok(['endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: root });
  });
  after(() => oep.close());

  it('registers a model from YAML and an environment from flags; a version that exists is refused, nothing changed', async () => {
    const model = JSON.parse(await oep.ok(['model', 'create', '-f', 'model.yml'], { cwd: root })) as Record<string, unknown>;
    assert.equal(model.name, 'lin');
    assert.equal(model.version, '1');
    assert.equal(model.type, 'custom_model');
    assert.equal(model.description, 'a linear model');
    const again = await oep.run(['model', 'create', '--name', 'lin', '--version', '1', '--path', './model'], { cwd: root });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error: Model lin version 1 already exists; a registered version cannot change\.\n/);
    assert.match(again.stderr, /\(OEP_ERR_ASSET_EXISTS\)\n$/);
    assert.equal(await oep.ok(['environment', 'create', '-f', 'environment.yml', '--query', 'image', '-o', 'tsv'], { cwd: root }), `${BASE_IMAGE}\n`);
    assert.deepEqual(JSON.parse(await oep.ok(['model', 'list', '--query', '[].[name, version]'])), [['lin', '1']]);
  });

  it('a registered model is a snapshot; deployments resolve azureml:NAME:VERSION into Azure\'s layout', async () => {
    // Edited after registration: version 1 keeps what was registered.
    writeFileSync(join(root, 'model', 'weights.json'), '{"version": "second"}\n');
    await oep.ok(['deployment', 'create', '-f', 'pinned.yml', '--all-traffic', '-o', 'none'], { cwd: root });
    const answer = await invoke('pinned');
    assert.equal(answer.version, 'first');
    assert.match(answer.model_dir, /\/azureml-models\/lin\/1$/);
  });

  it('@latest follows a second version, and leaves an archived one', async () => {
    assert.equal(await oep.ok(['model', 'create', '--name', 'lin', '--path', './model', '--query', 'version', '-o', 'tsv'], { cwd: root }), '2\n');
    await oep.ok(['deployment', 'create', '-f', 'latest.yml', '-o', 'none'], { cwd: root });
    const answer = await invoke('latest');
    assert.equal(answer.version, 'second');
    assert.match(answer.model_dir, /\/azureml-models\/lin\/2$/);
    await oep.ok(['model', 'archive', '-n', 'lin', '-v', '2', '-o', 'none']);
    assert.equal(await oep.ok(['model', 'show', '-n', 'lin', '--label', 'latest', '--query', 'version', '-o', 'tsv']), '1\n');
    assert.equal(await oep.ok(['model', 'list', '-n', 'lin', '--include-archived', '--query', 'length(@)']), '2\n');
  });

  it('an unregistered reference: a warning at validate, exit 2 at create with how to register it', async () => {
    const validated = await oep.run(['validate', '-f', 'missing.yml'], { cwd: root });
    assert.equal(validated.code, 0);
    assert.match(validated.stderr, /^warning: missing\.yml: model: "azureml:nope:3": Model nope:3 is not registered in oep's local registry\. Register the model files you have: oep model create --name nope --version 3 --path \.\/model/m);
    const created = await oep.run(['deployment', 'create', '-f', 'missing.yml'], { cwd: root });
    assert.equal(created.code, 2);
    assert.match(created.stderr, /^error: Deployment missing cannot run on this machine\.\n {2}missing\.yml: model: "azureml:nope:3": Model nope:3 is not registered/);
    assert.equal(await oep.ok(['deployment', 'list', '-e', 'reg', '--query', "[?name=='missing'] | length(@)"]), '0\n');
  });

  it('a curated environment is the image Microsoft publishes for it; validate knows the name', async () => {
    const validated = await oep.run(['validate', '-f', 'curated.yml'], { cwd: root });
    assert.equal(validated.code, 0);
    assert.equal(validated.stderr, '');
  });
});

describe('a curated environment whose image is not on this machine (docker runtime)', async () => {
  const skip = await dockerSkipReason([BASE_IMAGE]);
  // No image map: what a user without one sees (images/offline.yml would run a stand-in).
  const oep = new OepSandbox({ OEP_IMAGE_MAP: '' });
  let root = '';

  before(async () => {
    if (skip) return;
    root = join(oep.home, 'project');
    project(root);
    await oep.ok(['model', 'create', '-f', 'model.yml', '-o', 'none'], { cwd: root });
    await oep.ok(['endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: root });
  });
  after(async () => {
    const left = await closeDockerSandbox(oep);
    assert.deepEqual(left, [], 'containers left by this sandbox');
  });

  it('names the image and the ways out; --set environment.image runs another image', { skip }, async () => {
    const result = await oep.run(['deployment', 'create', '-f', 'curated.yml', '--runtime', 'docker'], { cwd: root });
    assert.equal(result.code, 1);
    const image = 'mcr.microsoft.com/azureml/curated/sklearn-1.5:latest';
    assert.match(result.stderr, new RegExp(`the image is not on this machine and pulling ${image.replace(/[.]/g, '\\.')} failed`));
    const escaped = image.replace(/[.]/g, '\\.');
    assert.match(result.stderr, new RegExp(`hint: Pull or tag it \\(docker pull ${escaped}, or docker tag <a local image> ${escaped}\\); or run another image: --set environment\\.image=IMAGE; `));
    // No image map is in force, and oep's own offline map names this image: the hint says how to turn it on.
    assert.ok(result.stderr.includes(`; or run oep's offline stand-in oep-test/python-mlflow:bookworm instead: oep config set image_map ${TEST_IMAGE_MAP}`), result.stderr);
    assert.ok(result.stderr.includes('make the change with oep deployment update -f curated.yml,'), result.stderr);
    const updated = await oep.run(
      ['deployment', 'update', '-f', 'curated.yml', '--runtime', 'docker', '--set', `environment.image=${BASE_IMAGE}`, '--query', 'provisioning_state', '-o', 'tsv'],
      { cwd: root },
    );
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, 'Succeeded\n');
  });
});
