/**
 * The docker runtime's spare as plain data (src/runtimes/docker/spare-container.ts): which
 * launches it stands in for, the container it is made as, and what its binds pin.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import { planContainer, type ContainerInput } from '../../src/runtimes/docker/container-spec.js';
import { bindSources, containerLaunchKey, sourceIdentity, SpareContainer, spareContainerOptions, type ContainerLaunch } from '../../src/runtimes/docker/spare-container.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { containerInput, deploymentSpec } from './docker-fixtures.js';

function spec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return deploymentSpec({
    model: { path: '/src/model-1/model/' },
    code_configuration: { code: '/src/model-1/onlinescoring/', scoring_script: 'score.py' },
    environment: { image: 'python:3.11' },
    ...overrides,
  });
}

function launch(overrides: Partial<ContainerInput> = {}, specOverrides: Partial<DeploymentSpec> = {}, extra: Partial<ContainerLaunch> = {}): ContainerLaunch {
  const input = containerInput(spec(specOverrides), overrides);
  return { plan: planContainer(input), imageId: input.image.id, serverDigest: input.server.digest, ...extra };
}

describe('containerLaunchKey: a spare stands in only for the same container', () => {
  it('is the same for another replica or generation of one configuration (only labels and the name differ)', () => {
    const key = containerLaunchKey(launch());
    assert.equal(containerLaunchKey(launch({ replica: 1 })), key);
    assert.equal(containerLaunchKey(launch({ generation: 7 })), key);
  });

  it('differs with an environment variable, the image, a mount, the server or GPUs', () => {
    const key = containerLaunchKey(launch());
    assert.notEqual(containerLaunchKey(launch({}, { environment_variables: { GREETING: 'changed' } })), key);
    assert.notEqual(containerLaunchKey(launch({}, {}, { imageId: 'sha256:222' })), key);
    assert.notEqual(containerLaunchKey(launch({}, { code_configuration: { code: '/src/model-2/onlinescoring/', scoring_script: 'score.py' } })), key);
    assert.notEqual(containerLaunchKey(launch({}, {}, { serverDigest: 'd2' })), key);
    assert.notEqual(containerLaunchKey(launch({ gpu: true })), key);
  });
});

describe('spareContainerOptions', () => {
  it('is the cold container with oep_spare.py as the entry, stdin open for one attach, and spare labels', () => {
    const cold = launch({ generation: 4 });
    const options = spareContainerOptions(cold, 'k1', false)!;
    const { Entrypoint, Cmd, OpenStdin, StdinOnce, AttachStdin, Labels, ...rest } = options;
    const { Entrypoint: coldEntry, Cmd: _cmd, Labels: coldLabels, ...coldRest } = cold.plan.options;
    assert.deepEqual(rest, coldRest, 'image, environment, mounts, ports, working folder and init as a cold start');
    assert.deepEqual(Entrypoint, [(coldEntry as string[])[0], '/var/azureml-server/oep_spare.py']);
    assert.deepEqual(Cmd, ['--container']);
    assert.deepEqual([OpenStdin, StdinOnce, AttachStdin], [true, true, true]);
    assert.equal(Labels?.['oep.spare'], 'k1');
    for (const label of ['oep.replica', 'oep.generation', 'oep.config-hash']) assert.equal(Labels?.[label], undefined, `no ${label}`);
    for (const label of ['oep.endpoint', 'oep.deployment', 'oep.home', 'oep.home-path', 'oep.version']) assert.equal(Labels?.[label], coldLabels?.[label], label);
  });

  it('is none under --debug or for a custom container (no oep server to warm)', () => {
    assert.equal(spareContainerOptions(launch(), 'k1', true), undefined);
    const routes = { port: 8080, path: '/' };
    const custom = launch({}, { environment: { image: 'custom:1', inference_config: { liveness_route: routes, readiness_route: routes, scoring_route: routes } } });
    assert.equal(spareContainerOptions(custom, 'k1', false), undefined);
  });
});

describe('sourceIdentity: what a spare bind-mounted', () => {
  const root = mkdtempSync(join(tmpdir(), 'oep-spare-binds-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('lists the host side of each bind', () => {
    assert.deepEqual(bindSources(launch().plan), ['/src/model-1/model', '/src/model-1/onlinescoring', '/opt/oep/server']);
  });

  it('stays the same when a file changes in place, and changes when a bound file is replaced by a rename', async () => {
    const model = join(root, 'model.pkl');
    writeFileSync(model, 'one');
    const before = await sourceIdentity([root, model]);
    writeFileSync(model, 'two');
    assert.equal(await sourceIdentity([root, model]), before, 'written in place: the bind sees it');
    writeFileSync(join(root, 'model.tmp'), 'three');
    renameSync(join(root, 'model.tmp'), model);
    assert.notEqual(await sourceIdentity([root, model]), before, 'replaced: a bind made before still shows the old file');
    assert.notEqual(await sourceIdentity([join(root, 'missing')]), await sourceIdentity([root]));
  });
});

/** A fake engine: containers that start, take a stdin stream, and end when told; what was removed. */
function fakeEngine(): { docker: Dockerode; removed: string[]; stdin: () => Promise<string>; end: () => void } {
  const removed: string[] = [];
  let written = '';
  let end: () => void = () => undefined;
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const container = {
    id: 'c0ffee000001aaaa',
    attach: async () => stream,
    start: async () => undefined,
    wait: () => new Promise((resolve) => (end = () => resolve({ StatusCode: 0 }))),
  };
  const docker = { createContainer: async () => container } as unknown as Dockerode;
  // What was written, once the stream has passed it on (data events come on a later tick).
  const stdin = async (): Promise<string> => {
    await new Promise((resolve) => setImmediate(resolve));
    return written;
  };
  return { docker, removed, stdin, end: () => end() };
}

describe('SpareContainer: taken only for the same launch, with the same files behind its binds', () => {
  const root = mkdtempSync(join(tmpdir(), 'oep-spare-take-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const code = join(root, 'code');
  mkdirSync(code);
  const made = (): { spare: SpareContainer; engine: ReturnType<typeof fakeEngine>; cold: ContainerLaunch; key: string } => {
    const cold = launch({}, { model: undefined, code_configuration: { code, scoring_script: 'score.py' } });
    const key = containerLaunchKey(cold);
    const engine = fakeEngine();
    const spare = new SpareContainer({ docker: engine.docker, launch: cold, key, options: spareContainerOptions(cold, key, false)!, remove: async (id) => void engine.removed.push(id) });
    return { spare, engine, cold, key };
  };

  it('the same launch takes it once; the start line carries only the server arguments', async () => {
    const { spare, engine, cold, key } = made();
    assert.equal(await spare.made, true);
    const container = await spare.take(key, cold);
    assert.equal(container?.id, 'c0ffee000001aaaa');
    assert.equal(await spare.take(key, cold), undefined, 'taken once');
    spare.start(['--host', '0.0.0.0', '--port', '5001']);
    assert.equal(await engine.stdin(), '{"argv":["--host","0.0.0.0","--port","5001"]}\n');
    await spare.discard();
    assert.deepEqual(engine.removed, [], 'a started spare is the replica: discard leaves it');
  });

  it('another launch key does not take it, and it is removed', async () => {
    const { spare, engine, cold } = made();
    assert.equal(await spare.take('another', cold), undefined);
    await spare.discard();
    assert.deepEqual(engine.removed, ['c0ffee000001aaaa']);
    assert.equal(await engine.stdin(), '', 'never told to start');
  });

  it('a code folder replaced since it was made (a new folder by the same name) does not take it', async () => {
    const { spare, engine, cold, key } = made();
    await spare.made;
    renameSync(code, `${code}.old`);
    mkdirSync(code);
    assert.equal(await spare.take(key, cold), undefined);
    await spare.discard();
    assert.deepEqual(engine.removed, ['c0ffee000001aaaa']);
  });

  it('one that ended on its own does not take it', async () => {
    const { spare, engine, cold, key } = made();
    await spare.made;
    engine.end();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await spare.take(key, cold), undefined);
  });

  it('a taken spare given up before its start line is removed', async () => {
    const { spare, engine, cold, key } = made();
    assert.ok(await spare.take(key, cold));
    await spare.discard();
    assert.deepEqual(engine.removed, ['c0ffee000001aaaa']);
    spare.start(['--port', '5001']);
    assert.equal(await engine.stdin(), '', 'a discarded spare is never started');
  });
});
