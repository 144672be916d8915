import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeDockerSandbox, docker, dockerSkipReason, TEST_RUN } from './docker-harness.js';
import { OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'docker', 'fake-conda');
/** A tag of this run only: runs sharing an engine never build over or remove each other's. */
const BASE = `oep-test/fake-conda:${TEST_RUN}`;

describe('environment.image + conda_file on Docker (stand-in micromamba)', async () => {
  const skip = await dockerSkipReason();
  const oep = new OepSandbox();

  before(() => {
    if (skip) return;
    // The base image has a stand-in micromamba; no conda channel can be reached offline.
    execFileSync('docker', ['build', '-q', '-t', BASE, '--label', `oep.test-run=${TEST_RUN}`, join(FIXTURE, 'base')], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  });
  after(async () => {
    if (skip) return oep.close();
    await oep.run(['endpoint', 'delete', '-n', 'conda-env', '--yes', '--purge']);
    const left = await closeDockerSandbox(oep);
    await docker.getImage(BASE).remove({ force: true }).catch(() => undefined);
    assert.deepEqual(left, [], 'containers left by this sandbox');
  });

  it('creates the env from the conda file with the image\'s micromamba and serves from it', { skip }, async () => {
    const endpointFile = join(oep.home, 'endpoint.yml');
    writeFileSync(endpointFile, 'name: conda-env\n');
    await oep.ok(['endpoint', 'create', '-f', endpointFile, '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'app', 'deployment.yml'), '--set', `environment.image=${BASE}`, '--all-traffic', '--runtime', 'docker', '-o', 'none']);
    const answer = JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'conda-env'])) as Record<string, string>;
    assert.deepEqual(answer, { executable: '/opt/oep-env/bin/python', env_name: 'name: model-env' });
    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'conda', '-e', 'conda-env', '--container', 'storage-initializer']);
    assert.match(prepared, /oep-env:/);
  });
});
