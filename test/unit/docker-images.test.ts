import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import { OepError } from '../../src/errors.js';
import { DockerEngine } from '../../src/runtimes/docker/engine.js';
import { ImageService } from '../../src/runtimes/docker/images.js';
import type { ProgressEvent } from '../../src/runtimes/types.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { specWithEnvironment as spec } from './docker-fixtures.js';

/** A Docker engine in memory: which images exist, what was pulled and built. */
class FakeDocker {
  readonly images = new Map<string, { Id: string; Config: { User: string } }>();
  readonly pulls: string[] = [];
  readonly builds: { tag: string; dockerfile: string; labels: Record<string, string> }[] = [];
  pullError?: Error;
  buildOutput: object[] = [];

  getImage(name: string) {
    return {
      inspect: async () => {
        const image = this.images.get(name);
        if (!image) throw Object.assign(new Error(`no such image: ${name}`), { statusCode: 404 });
        return image;
      },
    };
  }

  async pull(name: string): Promise<Readable> {
    this.pulls.push(name);
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (!this.pullError) this.images.set(name, { Id: `sha256:pulled-${name}`, Config: { User: '' } });
    return Readable.from([]);
  }

  readonly modem = {
    followProgress: (_stream: unknown, done: (error: Error | null) => void) => done(this.pullError ?? null),
  };

  async buildImage(context: Readable, options: { t: string; dockerfile: string; labels: Record<string, string> }): Promise<Readable> {
    for await (const chunk of context) void chunk;
    this.builds.push({ tag: options.t, dockerfile: options.dockerfile, labels: options.labels });
    const failed = this.buildOutput.some((line) => 'error' in line);
    if (!failed) this.images.set(options.t, { Id: `sha256:built-${this.builds.length}`, Config: { User: '' } });
    return Readable.from(this.buildOutput.map((line) => `${JSON.stringify(line)}\r\n`));
  }
}

class FakeEngine extends DockerEngine {
  constructor(private readonly fake: FakeDocker) {
    super(() => ({ options: {}, description: 'fake' }));
  }

  override async docker(): Promise<Dockerode> {
    return this.fake as unknown as Dockerode;
  }
}

const root = mkdtempSync(join(tmpdir(), 'oep-images-'));
after(() => rmSync(root, { recursive: true, force: true }));

function setup(): { docker: FakeDocker; service: ImageService; events: ProgressEvent[]; ensure: (s: DeploymentSpec, pull?: boolean) => ReturnType<ImageService['ensure']> } {
  const docker = new FakeDocker();
  docker.images.set('python:3.11', { Id: 'sha256:local-python', Config: { User: '' } });
  const service = new ImageService(new FakeEngine(docker));
  const events: ProgressEvent[] = [];
  const buildLog = join(root, `build-${Math.random()}.log`);
  return { docker, service, events, ensure: (s, pull = false) => service.ensure({ spec: s, pull, emit: (event) => events.push(event), buildLog }) };
}

describe('ImageService', () => {
  it('uses a local image as it is: no pull, no build', async () => {
    const { docker, ensure } = setup();
    const image = await ensure(spec({ image: 'python:3.11' }));
    assert.deepEqual(image, { reference: 'python:3.11', id: 'sha256:local-python', python: 'python3', built: false, recipe: 'base' });
    assert.deepEqual(docker.pulls, []);
    assert.deepEqual(docker.builds, []);
  });

  it('pulls a missing image once, even for replicas asking at the same time', async () => {
    const { docker, ensure } = setup();
    const images = await Promise.all([ensure(spec({ image: 'ubuntu:22.04' })), ensure(spec({ image: 'ubuntu:22.04' }))]);
    assert.deepEqual(docker.pulls, ['ubuntu:22.04']);
    assert.equal(images[0].id, 'sha256:pulled-ubuntu:22.04');
  });

  it('--pull pulls a local image too; a failed pull is a build-phase error with a hint', async () => {
    const { docker, ensure } = setup();
    await ensure(spec({ image: 'python:3.11' }), true);
    assert.deepEqual(docker.pulls, ['python:3.11']);
    docker.pullError = new Error('dial tcp: lookup registry-1.docker.io: no such host');
    await assert.rejects(ensure(spec({ image: 'python:3.11' }), true), (error: unknown) => {
      assert.ok(error instanceof OepError);
      assert.equal(error.code, 'OEP_ERR_IMAGE_BUILD_FAILED');
      assert.equal(error.message, 'Deployment blue failed in phase "build": pulling python:3.11 failed: dial tcp: lookup registry-1.docker.io: no such host');
      assert.equal(error.hint, 'Run without --pull to use the local copy of python:3.11.');
      return true;
    });
  });

  it('environment.build builds once; unchanged inputs find the tag and build nothing', async () => {
    const context = join(root, 'ctx');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM python:3.11\nRUN echo hi\n');
    const { docker, events, ensure } = setup();
    const deployment = spec({ build: { path: context, dockerfile_path: 'Dockerfile' } });
    const first = await ensure(deployment);
    assert.equal(first.built, true);
    assert.match(first.reference, /^oep-env:[0-9a-f]{20}$/);
    const second = await ensure(deployment);
    assert.equal(second.built, false);
    assert.equal(second.reference, first.reference);
    assert.equal(docker.builds.length, 1);
    assert.equal(docker.builds[0]!.labels['oep.image'], first.reference.split(':')[1]);
    // The test runner sets OEP_TEST_RUN; images built under it carry the run's label.
    assert.equal(docker.builds[0]!.labels['oep.test-run'], process.env.OEP_TEST_RUN);
    assert.ok(events.some((event) => event.phase === 'build' && event.message === `image ${first.reference} is up to date (no build)`));

    writeFileSync(join(context, 'Dockerfile'), 'FROM python:3.11\nRUN echo changed\n');
    const third = await ensure(deployment);
    assert.equal(third.built, true);
    assert.notEqual(third.reference, first.reference);
    // A new base image id is a new tag too.
    docker.images.set('python:3.11', { Id: 'sha256:newer-python', Config: { User: '' } });
    assert.notEqual((await ensure(deployment)).reference, third.reference);
  });

  it('a failed build names the failing step and keeps the whole output in the build log', async () => {
    const context = join(root, 'bad');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM python:3.11\nRUN pip install nope\n');
    const { docker, service } = setup();
    docker.buildOutput = [
      { stream: 'Step 1/2 : FROM python:3.11\n' },
      { stream: 'Step 2/2 : RUN pip install nope\n' },
      { stream: '\u001b[91mERROR: No matching distribution found for nope\n\u001b[0m' },
      { error: "The command '/bin/sh -c pip install nope' returned a non-zero code: 1", errorDetail: { message: "The command '/bin/sh -c pip install nope' returned a non-zero code: 1" } },
    ];
    const buildLog = join(root, 'bad-build.log');
    await assert.rejects(service.ensure({ spec: spec({ build: { path: context, dockerfile_path: 'Dockerfile' } }), pull: false, emit: () => undefined, buildLog }), (error: unknown) => {
      assert.ok(error instanceof OepError);
      assert.equal(error.code, 'OEP_ERR_IMAGE_BUILD_FAILED');
      assert.equal(error.message, 'Deployment blue failed in phase "build": step 2/2 of the image build failed: RUN pip install nope');
      assert.equal(error.hint, `The whole build log: ${buildLog}`);
      assert.equal(error.details[0], "Docker said: The command '/bin/sh -c pip install nope' returned a non-zero code: 1");
      assert.ok(error.details.includes('  ERROR: No matching distribution found for nope'));
      return true;
    });
    assert.match(readFileSync(buildLog, 'utf8'), /Step 2\/2 : RUN pip install nope\nERROR: No matching distribution found for nope\n/);
  });

  it('conda_file adds a conda step on top of the image and runs the env python', async () => {
    const conda = join(root, 'conda.yaml');
    writeFileSync(conda, 'name: env\ndependencies:\n  - python=3.11\n');
    const { docker, ensure } = setup();
    const image = await ensure(spec({ image: 'python:3.11', conda_file: conda }));
    assert.equal(image.built, true);
    assert.equal(image.python, '/opt/oep-env/bin/python');
    assert.equal(docker.builds[0]!.dockerfile, 'Dockerfile');
  });
});

describe('ImageService: the hint of a failed pull names ways out that work (image-hints.ts)', () => {
  const condaFile = join(root, 'conda.yaml');
  writeFileSync(condaFile, 'name: env\n');
  const offlineMap = join(root, 'offline.yml');
  writeFileSync(offlineMap, 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest: local/stand-in:1\n');

  /** The hint of ensure() for `s` when nothing can be pulled, with the image map `inForce` (if any). */
  async function hintOf(s: DeploymentSpec, inForce?: string): Promise<string | undefined> {
    const docker = new FakeDocker();
    docker.pullError = new Error('dial tcp: lookup mcr.microsoft.com: no such host');
    const map = inForce === undefined ? undefined : { file: inForce, images: new Map<string, string>() };
    const service = new ImageService(new FakeEngine(docker), async () => map, offlineMap);
    const failure = await service.ensure({ spec: s, pull: false, emit: () => undefined, buildLog: join(root, `build-${Math.random()}.log`) }).catch((error: unknown) => error);
    assert.ok(failure instanceof OepError, String(failure));
    assert.match(failure.message, /the image is not on this machine and pulling/);
    return failure.hint;
  }

  it('image + conda_file: a replacement without the conda file, and oep\'s offline stand-in when no map is in force', async () => {
    const image = 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest';
    assert.equal(
      await hintOf(spec({ image, conda_file: condaFile })),
      `Pull it (docker pull ${image}), or tag a local image that has conda, mamba or micromamba with its name (docker tag <local image> ${image}); ` +
        `or run a local image that already has the packages, as it is, without the conda file: --set 'environment={"image":"IMAGE"}'; ` +
        `or run oep's offline stand-in local/stand-in:1 instead (a mapped image runs as it is: the conda file is not applied): oep config set image_map ${offlineMap}, once images/build.sh all (in oep's folder) has built it.`,
    );
  });

  it('image + conda_file with an image map in force: the line to add to it; inference_config is kept by the replacement', async () => {
    const inference = { scoring_route: { port: 8000, path: '/score' } };
    const hint = await hintOf(spec({ image: 'reg.example/app:1', conda_file: condaFile, inference_config: inference } as never), '/maps/mine.yml');
    assert.ok(hint?.includes(`--set 'environment={"image":"IMAGE","inference_config":{"scoring_route":{"port":8000,"path":"/score"}}}'`), hint);
    assert.ok(hint?.endsWith('; or map it to a local image: add the line "reg.example/app:1: <local image>" to the image map /maps/mine.yml (a mapped image runs as it is: the conda file is not applied).'), hint);
  });

  it('a FROM image of environment.build: never mapped, so no map way even with a map in force', async () => {
    const context = join(root, 'from-missing');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM reg.example/base:2\nRUN echo hi\n');
    assert.equal(
      await hintOf(spec({ build: { path: context, dockerfile_path: 'Dockerfile' } }), '/maps/mine.yml'),
      'Pull or tag it (docker pull reg.example/base:2, or docker tag <a local image> reg.example/base:2) (the FROM lines of environment.build are used as written); ' +
        `or run a local image that already has the packages instead of the build: --set 'environment={"image":"IMAGE"}'.`,
    );
  });

  it('an image alone: any other image will do; no map way when neither map names it', async () => {
    assert.equal(
      await hintOf(spec({ image: 'reg.example/app:1' })),
      'Pull or tag it (docker pull reg.example/app:1, or docker tag <a local image> reg.example/app:1); or run another image: --set environment.image=IMAGE.',
    );
  });
});
