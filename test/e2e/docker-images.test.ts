import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE_IMAGE, closeDockerSandbox, copyToTemp, docker, dockerSkipReason, orphanContainers, removeImages, sandboxContainers, TEST_RUN } from './docker-harness.js';
import { OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'docker');

const skip = await dockerSkipReason([BASE_IMAGE]);

/** The image status line of the storage-initializer log, e.g. "... built now in 1.2 s". */
async function imageLine(oep: OepSandbox, deployment: string): Promise<string> {
  const prepared = await oep.ok(['deployment', 'get-logs', '-n', deployment, '-e', 'docker-e2e', '--container', 'storage-initializer']);
  return /^image: .*$/m.exec(prepared)?.[0] ?? '';
}

async function imageExists(tag: string): Promise<boolean> {
  return docker
    .getImage(tag)
    .inspect()
    .then(() => true)
    .catch(() => false);
}

describe('docker images: environment.build, custom containers and failures', { skip }, () => {
  const oep = new OepSandbox();
  // Fresh copies with a unique file in the build context: the first create must really build.
  const built = copyToTemp(join(FIXTURES, 'build'));
  const custom = copyToTemp(join(FIXTURES, 'custom-container'));
  const body = JSON.stringify({ data: [[1, 2], [3, 4]] });
  const tags: string[] = [];

  before(async () => {
    writeFileSync(join(built.dir, 'environment', 'nonce.txt'), randomUUID());
    writeFileSync(join(custom.dir, 'nonce.txt'), randomUUID());
    const endpoint = join(built.dir, 'endpoint.yml');
    writeFileSync(endpoint, 'name: docker-e2e\n');
    await oep.ok(['endpoint', 'create', '-f', endpoint, '-o', 'none']);
  });

  after(async () => {
    const left = await closeDockerSandbox(oep);
    built.remove();
    custom.remove();
    // Tags built from the unique contexts are not needed again (a tag a failed test could not
    // record is removed with the rest of this run's images by the test runner).
    await removeImages(tags);
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it('environment.build: the first create builds the image, tagged by content hash', async () => {
    await oep.ok(['deployment', 'create', '-f', join(built.dir, 'deployment.yml'), '--runtime', 'docker', '-o', 'none']);
    const line = await imageLine(oep, 'built');
    assert.match(line, /^image: oep-env:[0-9a-f]{20} \(sha256:[0-9a-f]{64}; built now in \d+\.\d s\)$/);
    tags.push(/oep-env:[0-9a-f]{20}/.exec(line)![0]);
    const image = await docker.getImage(tags[0]!).inspect();
    assert.equal(image.Config.Labels?.['oep.test-run'], TEST_RUN, "the test run's label, which its clean-up goes by");
    const out = await oep.ok(['endpoint', 'invoke', '-n', 'docker-e2e', '--deployment-name', 'built', '--request-file', '-'], { input: body });
    assert.deepEqual(JSON.parse(out), { marker: 'built from test/fixtures/docker/build/environment', version: 1 });
    const buildLog = readFileSync(join(oep.home, 'logs', 'docker-e2e', 'built', 'build.log'), 'utf8');
    assert.match(buildLog, /Step 2\/\d+ : RUN echo "built from test\/fixtures\/docker\/build\/environment" > \/opt\/marker\.txt/);
  });

  it('an edited score.py is served after update with no build; a changed Dockerfile rebuilds', async () => {
    const script = join(built.dir, 'code', 'score.py');
    writeFileSync(script, readFileSync(script, 'utf8').replace('"version": 1', '"version": 2'));
    await oep.ok(['deployment', 'update', '-f', join(built.dir, 'deployment.yml'), '-o', 'none']);
    assert.match(await imageLine(oep, 'built'), new RegExp(`^image: ${tags[0]} \\(sha256:[0-9a-f]{64}; cached, no build\\)$`));
    let out = await oep.ok(['endpoint', 'invoke', '-n', 'docker-e2e', '--deployment-name', 'built', '--request-file', '-'], { input: body });
    assert.equal((JSON.parse(out) as { version: number }).version, 2);

    appendFileSync(join(built.dir, 'environment', 'Dockerfile'), 'RUN echo "second layer" >> /opt/marker.txt\n');
    const updated = JSON.parse(await oep.ok(['deployment', 'update', '-f', join(built.dir, 'deployment.yml'), '--set', 'instance_count=2'])) as {
      replicas: { id: string; ready: boolean }[];
    };
    assert.deepEqual(updated.replicas.map((replica) => replica.ready), [true, true], 'two replicas, one image build');
    const containers = (await sandboxContainers(oep)).filter((item) => item.Labels['oep.deployment'] === 'built');
    assert.deepEqual(containers.map((item) => item.Id.slice(0, 12)).sort(), updated.replicas.map((replica) => replica.id).sort());
    const line = await imageLine(oep, 'built');
    assert.match(line, /built now in/);
    const tag = /oep-env:[0-9a-f]{20}/.exec(line)![0];
    assert.notEqual(tag, tags[0]);
    tags.push(tag);
    out = await oep.ok(['endpoint', 'invoke', '-n', 'docker-e2e', '--deployment-name', 'built', '--request-file', '-'], { input: body });
    assert.match((JSON.parse(out) as { marker: string }).marker, /second layer/);
  });

  it('delete --purge removes the deployment container and the image tags oep built for it', async () => {
    await oep.ok(['deployment', 'delete', '-n', 'built', '-e', 'docker-e2e', '--yes', '--purge']);
    const left = await sandboxContainers(oep);
    assert.deepEqual(left.filter((container) => container.Labels['oep.deployment'] === 'built'), []);
    for (const tag of tags) assert.equal(await imageExists(tag), false, `${tag} was purged`);
  });

  it('a custom container (inference_config) runs its own server; the router uses its routes and port', async () => {
    const created = await oep.run(['deployment', 'create', '-f', join(custom.dir, 'deployment.yml'), '--runtime', 'docker']);
    assert.equal(created.code, 0, created.stderr);
    tags.push(/oep-env:[0-9a-f]{20}/.exec(await imageLine(oep, 'custom'))![0]);
    const out = await oep.ok(['endpoint', 'invoke', '-n', 'docker-e2e', '--deployment-name', 'custom', '--request-file', '-'], { input: body });
    // factor.txt (2.5) is read from the model mounted under model_mount_path.
    assert.deepEqual(JSON.parse(out), { predictions: [7.5, 17.5], server: 'custom' });
    const [container] = (await sandboxContainers(oep)).filter((item) => item.Labels['oep.deployment'] === 'custom');
    const info = await docker.getContainer(container!.Id).inspect();
    assert.deepEqual(info.Config.Cmd, ['python3', '/app/app.py'], "the image's own command");
    assert.ok(info.Mounts.some((mount) => mount.Destination === '/var/custom-model/model' && mount.RW === false));
    assert.deepEqual(Object.keys(info.NetworkSettings.Ports), ['8080/tcp']);
    assert.equal(info.NetworkSettings.Ports['8080/tcp']![0]!.HostIp, '127.0.0.1');
    const logs = await oep.ok(['deployment', 'get-logs', '-n', 'custom', '-e', 'docker-e2e']);
    assert.match(logs, /custom server: factor 2\.5 from \/var\/custom-model\/model\/factor\.txt/);
    await oep.ok(['deployment', 'delete', '-n', 'custom', '-e', 'docker-e2e', '--yes']);
  });

  it('init() raising fails the create with exit 1, phase init and the traceback', async () => {
    const result = await oep.run(['deployment', 'create', '-f', join(FIXTURES, 'init-fails', 'deployment.yml'), '--runtime', 'docker']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: Deployment broken failed in phase "init": init\(\) of the scoring script failed: replica 0 exited with code 3/m);
    assert.match(result.stderr, /Python traceback:\n\s+Traceback \(most recent call last\):/);
    // The traceback names the user's file, not its path inside the container.
    assert.ok(result.stderr.includes(`File "${join(FIXTURES, 'init-fails', 'score.py')}", line 6, in init`), result.stderr);
    assert.doesNotMatch(result.stderr, /\/var\/azureml-app\/init-fails/);
    assert.match(result.stderr, /RuntimeError: model file weights\.bin is missing/);
    assert.match(result.stderr, /\(OEP_ERR_DEPLOYMENT_FAILED\)$/m);
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'broken', '-e', 'docker-e2e'])) as { provisioning_state: string };
    assert.equal(shown.provisioning_state, 'Failed');
    assert.deepEqual((await sandboxContainers(oep)).filter((item) => item.Labels['oep.deployment'] === 'broken'), [], 'the failed container is removed');
  });

  it('a failing build names the step, shows the log tail and the build log path, exit 1', async () => {
    const result = await oep.run(['deployment', 'create', '-f', join(FIXTURES, 'build-fails', 'deployment.yml'), '--runtime', 'docker']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: Deployment badbuild failed in phase "build": step 3\/\d+ of the image build failed: RUN python3 -c/m);
    assert.match(result.stderr, /returned a non-zero code: 3/);
    assert.match(result.stderr, /^ {4}requirements are missing$/m);
    const logPath = join(oep.home, 'logs', 'docker-e2e', 'badbuild', 'build.log');
    assert.ok(result.stderr.includes(`hint: The whole build log: ${logPath}`));
    assert.ok(existsSync(logPath));
    assert.match(result.stderr, /\(OEP_ERR_IMAGE_BUILD_FAILED\)$/m);
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'badbuild', '-e', 'docker-e2e'])) as { failure: { phase: string } };
    assert.equal(shown.failure.phase, 'build');
  });

  it('a .dockerignore line that is not a pattern fails the create before any build, naming the file and line, exit 1', async () => {
    const context = copyToTemp(join(FIXTURES, 'build'));
    try {
      const ignoreFile = join(context.dir, 'environment', '.dockerignore');
      writeFileSync(ignoreFile, '*.log\n[abc\n');
      const result = await oep.run(['deployment', 'create', '-f', join(context.dir, 'deployment.yml'), '-n', 'badignore', '--runtime', 'docker', '-o', 'none']);
      assert.equal(result.code, 1, result.stderr);
      const error = result.stderr.split('\n').find((line) => line.startsWith('error: '));
      assert.equal(error, `error: ${ignoreFile}:2: "[abc" is not a valid .dockerignore pattern.`);
      assert.match(result.stderr, /\(OEP_ERR_IMAGE_BUILD_FAILED\)$/m);
      assert.equal(existsSync(join(oep.home, 'logs', 'docker-e2e', 'badignore', 'build.log')), false, 'no build started');
    } finally {
      context.remove();
    }
  });

  it('conda_file on an image without conda fails with a clear error that suggests environment.build', async () => {
    const result = await oep.run(['deployment', 'create', '-f', join(FIXTURES, 'no-conda', 'deployment.yml'), '--runtime', 'docker']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the image oep-test\/python:bookworm has no conda, mamba or micromamba, so environment\.conda_file cannot be applied to it/);
    assert.match(result.stderr, /hint: Use environment\.build with a Dockerfile/);
    // The way that needs no network: the image as it is, without the conda file (docker-pull-hints.test.ts follows it).
    assert.ok(
      result.stderr.includes(`or run an image that already has the packages (oep-test/python:bookworm itself, if it has them), as it is, without the conda file: --set 'environment={"image":"IMAGE"}'.`),
      result.stderr,
    );
  });

  it('--local-enable-gpu (alias --gpu) checks the engine for a GPU runtime first', async (t) => {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    if (Object.keys(info.Runtimes ?? {}).includes('nvidia')) {
      t.skip('this engine has a GPU runtime');
      return;
    }
    const result = await oep.run(['deployment', 'create', '-f', join(FIXTURES, 'init-fails', 'deployment.yml'), '-n', 'gpu', '--runtime', 'docker', '--local-enable-gpu']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--local-enable-gpu was given, but the Docker engine at .* has no GPU runtime/);
    assert.match(result.stderr, /\(OEP_ERR_GPU_UNAVAILABLE\)$/m);
  });
});
