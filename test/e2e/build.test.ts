/**
 * oep deployment build: the image runs with plain `docker run` (port on 127.0.0.1, labelled with
 * this test run's label) and answers as the deployment does under oep; an unchanged deployment
 * builds nothing. Every container and image tag the tests make is removed, even after a failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BASE_IMAGE, closeDockerSandbox, copyToTemp, docker, dockerSkipReason, fetchWithin, orphanContainers, removeImages, runPublished, TEST_RUN } from './docker-harness.js';
import { assertPredictions, eventually, example, OepSandbox, REPO_ROOT } from './harness.js';
import { ENDPOINT as MLFLOW_ENDPOINT, mlflowProject, SPLIT_PREDICTIONS, SPLIT_REQUEST, type MlflowProject } from './mlflow-fixture.js';
import { IN_MLFLOW_IMAGE, MLFLOW_IMAGE } from '../server/mlflow-support.js';

const run = promisify(execFile);
const skip = await dockerSkipReason([BASE_IMAGE, MLFLOW_IMAGE]);
const skipMlflow = skip || (await dockerSkipReason([MLFLOW_IMAGE]));
const ENDPOINT = 'build-e2e';
/** Tags this file makes: unique to the run, so they never touch another run's images. */
const TAG_PREFIX = `oep-e2e-build-${TEST_RUN.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

interface Built {
  image: string;
  id: string;
  built: boolean;
  cache_tag: string;
  environment_image: string;
  port: number;
  env_file?: string;
  pushed: boolean;
}

/**
 * What this run made with `docker run` and `oep deployment build`: containers by the test-run
 * label, images by the tags the builds reported. `clean()` removes them all.
 */
class Made {
  readonly tags = new Set<string>();

  /** `docker run` of a built image, with the env file build wrote for it when there is one (environment_variables stay out of the image). */
  async dockerRun(image: string, port: number, envFile?: string): Promise<{ id: string; url: string }> {
    return runPublished(image, port, { labels: ['oep.test=build'], envFile });
  }

  async clean(): Promise<void> {
    const containers = await docker.listContainers({ all: true, filters: { label: [`oep.test-run=${TEST_RUN}`, 'oep.test=build'] } });
    for (const container of containers) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
    // User tags first (they point at the cache tags' images), then the cache tags; only images this run built.
    const ordered = [...this.tags].sort((a, b) => Number(a.startsWith('oep-build:')) - Number(b.startsWith('oep-build:')));
    await removeImages(ordered);
  }
}

async function build(oep: OepSandbox, args: string[]): Promise<Built> {
  return JSON.parse(await oep.ok(['deployment', 'build', ...args])) as Built;
}

/** Waits for the readiness route to answer 200, then POSTs the body to the path. */
async function score(url: string, body: string, path = '/score', ready = '/'): Promise<{ status: number; text: string }> {
  await eventually(`${url}${ready} to answer`, async () => ((await fetchWithin(`${url}${ready}`).catch(() => undefined))?.status === 200 ? true : undefined), 60_000);
  const res = await fetchWithin(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, 30_000);
  return { status: res.status, text: await res.text() };
}

describe('oep deployment build: one self-contained image per deployment', { skip }, () => {
  const oep = new OepSandbox();
  const made = new Made();
  // A copy with a unique file in the code: the first build really builds.
  const quickstart = copyToTemp(example('quickstart'));
  const custom = copyToTemp(join(REPO_ROOT, 'test', 'fixtures', 'docker', 'custom-container'));
  const request = readFileSync(example('quickstart', 'sample-request.json'), 'utf8');
  let first: Built;
  /** The image of the deployment as it is now (a test below changes its score.py). */
  let current: string;

  before(async () => {
    writeFileSync(join(quickstart.dir, 'onlinescoring', 'nonce.txt'), randomUUID());
    writeFileSync(join(custom.dir, 'nonce.txt'), randomUUID());
    await oep.ok(['endpoint', 'create', '-f', join(quickstart.dir, 'endpoint.yml'), '-n', ENDPOINT, '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(quickstart.dir, 'blue-deployment.yml'), '-e', ENDPOINT, '--runtime', 'docker', '--all-traffic', '-o', 'none']);
  });

  after(async () => {
    // The custom container's environment image, built by the runtime for this run.
    await oep.run(['deployment', 'delete', '-n', 'custom', '-e', ENDPOINT, '--yes', '--purge']);
    // Tags of builds that failed before they printed what they made.
    for (const image of await docker.listImages({ filters: { label: [`oep.test-run=${TEST_RUN}`] } })) {
      for (const tag of image.RepoTags ?? []) if (tag.includes(`${TAG_PREFIX}/`) || tag.startsWith('oep-build:')) made.tags.add(tag);
    }
    await made.clean();
    const left = await closeDockerSandbox(oep);
    quickstart.remove();
    custom.remove();
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it('docker run of the image answers POST /score with the same body as the deployment under oep', async () => {
    const tag = `${TAG_PREFIX}/blue:1`;
    first = await build(oep, ['-n', 'blue', '-e', ENDPOINT, '--tag', tag]);
    made.tags.add(first.image).add(first.cache_tag);
    current = first.id;
    assert.equal(first.image, tag);
    assert.equal(first.built, true);
    assert.equal(first.pushed, false);
    assert.equal(first.port, 5001);
    // The quickstart names Azure's image; the sandbox's image map (images/offline.yml) runs its stand-in.
    assert.equal(first.environment_image, MLFLOW_IMAGE);
    assert.match(first.cache_tag, /^oep-build:[0-9a-f]{20}$/);

    const info = await docker.getImage(tag).inspect();
    assert.equal(info.Id, first.id);
    assert.equal(info.Config.Labels?.['oep.test-run'], TEST_RUN);
    assert.deepEqual(Object.keys(info.Config.ExposedPorts ?? {}), ['5001/tcp']);
    for (const variable of ['AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/blue-model/1', 'AML_APP_ROOT=/var/azureml-app/onlinescoring', 'AZUREML_ENTRY_SCRIPT=score.py']) {
      assert.ok(info.Config.Env?.includes(variable), `${variable} in ${info.Config.Env?.join(' ')}`);
    }

    const underOep = await oep.ok(['endpoint', 'invoke', '-n', ENDPOINT, '--request-file', example('quickstart', 'sample-request.json')]);
    const container = await made.dockerRun(tag, first.port);
    const scored = await score(container.url, request);
    assert.equal(scored.status, 200, scored.text);
    assert.equal(scored.text.trim(), underOep.trim());
    assertPredictions(JSON.parse(scored.text), [224.5, 353.3]);
    const probe = await fetchWithin(`${container.url}/`);
    assert.deepEqual([probe.status, await probe.text()], [200, 'Healthy'], 'GET / answers probes');
  });

  it('an unchanged deployment builds nothing the second time, under any tag', async () => {
    const images = async (): Promise<string[]> => (await docker.listImages({ all: true })).map((image) => image.Id).sort();
    const before = await images();
    const again = await build(oep, ['-n', 'blue', '-e', ENDPOINT, '--tag', `${TAG_PREFIX}/blue:1`]);
    assert.deepEqual({ built: again.built, id: again.id, cache_tag: again.cache_tag }, { built: false, id: first.id, cache_tag: first.cache_tag });
    const other = await build(oep, ['-n', 'blue', '-e', ENDPOINT, '--tag', `${TAG_PREFIX}/blue:other`]);
    made.tags.add(other.image);
    assert.deepEqual({ built: other.built, id: other.id }, { built: false, id: first.id });
    assert.deepEqual(await images(), before, 'no image was added');
  });

  it('a changed scoring script builds a new image', async () => {
    appendFileSync(join(quickstart.dir, 'onlinescoring', 'score.py'), '\n# changed\n');
    const changed = await build(oep, ['-n', 'blue', '-e', ENDPOINT, '--tag', `${TAG_PREFIX}/blue:2`]);
    made.tags.add(changed.image).add(changed.cache_tag);
    assert.equal(changed.built, true);
    current = changed.id;
    assert.notEqual(changed.id, first.id);
    assert.notEqual(changed.cache_tag, first.cache_tag);
  });

  it("a custom container keeps its own command, port and routes", async () => {
    await oep.ok(['deployment', 'create', '-f', join(custom.dir, 'deployment.yml'), '-e', ENDPOINT, '--runtime', 'docker', '-o', 'none']);
    const body = JSON.stringify({ data: [[1, 2], [3, 4]] });
    const underOep = await oep.ok(['endpoint', 'invoke', '-n', ENDPOINT, '--deployment-name', 'custom', '--request-file', '-'], { input: body });
    const built = await build(oep, ['-n', 'custom', '-e', ENDPOINT, '--tag', `${TAG_PREFIX}/custom:1`]);
    made.tags.add(built.image).add(built.cache_tag);
    assert.equal(built.port, 8080);
    const info = await docker.getImage(built.image).inspect();
    assert.deepEqual(info.Config.Cmd, ['python3', '/app/app.py'], "the image's own command");
    assert.ok(built.env_file, 'environment_variables (MODEL_BASE_PATH) go to an env file, not into the image');
    const container = await made.dockerRun(built.image, built.port, built.env_file);
    const scored = await score(container.url, body, '/v1/predict', '/health/ready');
    assert.equal(scored.status, 200, scored.text);
    assert.deepEqual(JSON.parse(scored.text), JSON.parse(underOep));
    assert.deepEqual(JSON.parse(scored.text), { predictions: [7.5, 17.5], server: 'custom' });
  });

  // A tag that is no image name, and --push with a tag that names no registry, need no daemon:
  // rows of test/unit/cli-table.test.ts.
  it('a missing deployment exits 2; an unreachable registry exits 1 with OEP_ERR_IMAGE_PUSH_FAILED', async () => {
    const missing = await oep.run(['deployment', 'build', '-n', 'nope', '-e', ENDPOINT, '--tag', `${TAG_PREFIX}/nope:1`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Deployment nope does not exist in endpoint build-e2e\./);

    // Port 9 on the loopback: nothing listens, so nothing is ever pushed anywhere.
    const unreachable = `127.0.0.1:9/${TAG_PREFIX}/blue:1`;
    made.tags.add(unreachable);
    const pushed = await oep.run(['deployment', 'build', '-n', 'blue', '-e', ENDPOINT, '--tag', unreachable, '--push']);
    assert.equal(pushed.code, 1, pushed.stderr);
    assert.equal(pushed.stdout, '');
    assert.match(pushed.stderr, new RegExp(`^error: Pushing ${unreachable.replace(/[.:/]/g, '\\$&')} to 127\\.0\\.0\\.1:9 failed: `, 'm'));
    assert.match(pushed.stderr, /hint: The image is built and tagged locally\.[\s\S]*\(OEP_ERR_IMAGE_PUSH_FAILED\)/);
    assert.equal((await docker.getImage(unreachable).inspect()).Id, current, 'built (from the cache) and tagged');
  });
});

describe('oep deployment build: an MLflow model without a scoring script', { skip: skipMlflow }, () => {
  const oep = new OepSandbox();
  const made = new Made();
  let project: MlflowProject;

  before(async () => {
    project = await mlflowProject(IN_MLFLOW_IMAGE);
    await oep.ok(['endpoint', 'create', '-f', project.endpointFile, '-o', 'none']);
  });

  after(async () => {
    await made.clean();
    const left = await closeDockerSandbox(oep);
    project?.remove();
    assert.deepEqual(left, [], 'containers left by this sandbox');
  });

  it("runs oep's MLflow scoring script from the image, answering as the deployment does", async () => {
    await oep.ok(['deployment', 'create', '-f', project.deployment('green', ['environment:', `  image: ${MLFLOW_IMAGE}`]), '--all-traffic', '--runtime', 'docker', '-o', 'none']);
    const underOep = await oep.ok(['endpoint', 'invoke', '-n', MLFLOW_ENDPOINT, '--request-file', project.requestFile]);
    const built = await build(oep, ['-n', 'green', '-e', MLFLOW_ENDPOINT, '--tag', `${TAG_PREFIX}/mlflow:1`]);
    made.tags.add(built.image).add(built.cache_tag);
    const info = await docker.getImage(built.image).inspect();
    assert.ok(info.Config.Env?.includes('AZUREML_ENTRY_SCRIPT=/var/azureml-server/oep_mlflow_score.py'));
    assert.ok(info.Config.Env?.includes('MLFLOW_MODEL_FOLDER=model'));
    const container = await made.dockerRun(built.image, built.port);
    const scored = await score(container.url, JSON.stringify(SPLIT_REQUEST));
    assert.equal(scored.status, 200, scored.text);
    assert.equal(scored.text.trim(), underOep.trim());
    assertPredictions(JSON.parse(scored.text), SPLIT_PREDICTIONS);
  });
});
