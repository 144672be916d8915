/**
 * A batch job through the CLI on the docker runtime: `batch-endpoint invoke --runtime docker` (and
 * the runtime setting) runs each worker in a container of the deployment's image, the rows come
 * back as on the process runtime, and no container outlives the job.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE_IMAGE, closeDockerSandbox, docker, dockerSkipReason } from './docker-harness.js';
import { OepSandbox } from './harness.js';

const skip = await dockerSkipReason([BASE_IMAGE]);

const DRIVER = `import os

def init():
    print("init in", os.getcwd(), "model", os.environ["AZUREML_MODEL_DIR"])

def run(mini_batch):
    return [os.path.basename(path) + "," + open(path).read().strip() for path in mini_batch]
`;

describe('batch jobs on the docker runtime, through the CLI', { skip }, () => {
  let oep: OepSandbox;
  let root = '';

  before(async () => {
    oep = new OepSandbox();
    root = join(oep.home, 'project');
    for (const dir of ['code', 'model', 'data']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'code', 'batch_driver.py'), DRIVER);
    writeFileSync(join(root, 'model', 'weights.txt'), '1\n');
    for (let i = 0; i < 5; i++) writeFileSync(join(root, 'data', `f${i}.txt`), `${i * i}\n`);
    writeFileSync(
      join(root, 'deployment.yml'),
      [
        'name: squares',
        'endpoint_name: docker-batch',
        'model: {name: weights, version: 2, path: ./model}',
        'code_configuration: {code: ./code, scoring_script: batch_driver.py}',
        `environment: {image: ${BASE_IMAGE}}`,
        'compute: azureml:batch-cluster',
        'mini_batch_size: 2',
        'max_concurrency_per_instance: 2',
        '',
      ].join('\n'),
    );
    await oep.ok(['batch-endpoint', 'create', '-n', 'docker-batch', '-o', 'none']);
    await oep.ok(['batch-deployment', 'create', '-f', 'deployment.yml', '-o', 'none'], { cwd: root });
  });
  after(async () => {
    if (oep) assert.deepEqual(await closeDockerSandbox(oep), [], 'no container left');
  });

  it('runs the workers in containers of the deployment image and writes every row; the containers go with the job', async () => {
    const name = (await oep.ok(['batch-endpoint', 'invoke', '-n', 'docker-batch', '--input', 'data', '--runtime', 'docker', '--query', 'name', '-o', 'tsv'], { cwd: root })).trim();
    const streamed = await oep.run(['job', 'stream', '-n', name]);
    assert.equal(streamed.code, 0, streamed.stdout + streamed.stderr);
    const job = JSON.parse(await oep.ok(['job', 'show', '-n', name])) as Record<string, any>;
    assert.equal(job.status, 'Completed');
    assert.equal(job.batch.runtime, 'docker');
    const rows = readFileSync(join(job.outputs.score.path, 'predictions.csv'), 'utf8').trim().split('\n').sort();
    assert.deepEqual(rows, ['f0.txt,0', 'f1.txt,1', 'f2.txt,4', 'f3.txt,9', 'f4.txt,16']);
    const worker = readFileSync(join(String(job.batch.log).replace(/job\.log$/, ''), 'worker-0.log'), 'utf8');
    assert.match(worker, /init in \/var\/azureml-app\/code model \/var\/azureml-app\/azureml-models\/weights\/2/);
    const left = await docker.listContainers({ all: true, filters: { label: [`oep.home-path=${oep.home}`, 'oep.batch-job'] } });
    assert.deepEqual(left.map((container) => container.Names), []);
  });

  it('the runtime setting decides when --runtime is not given', async () => {
    await oep.ok(['config', 'set', 'runtime', 'docker']);
    const job = JSON.parse(await oep.ok(['batch-endpoint', 'invoke', '-n', 'docker-batch', '--input', 'data/f3.txt'], { cwd: root })) as Record<string, any>;
    assert.equal(job.batch.runtime, 'docker');
    assert.equal(job.inputs.input_data.type, 'uri_file');
    assert.equal((await oep.run(['job', 'stream', '-n', job.name])).code, 0);
    const done = JSON.parse(await oep.ok(['job', 'show', '-n', job.name])) as Record<string, any>;
    assert.equal(readFileSync(join(done.outputs.score.path, 'predictions.csv'), 'utf8'), 'f3.txt,9\n');
  });
});
