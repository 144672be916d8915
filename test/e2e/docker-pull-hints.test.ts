import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE_IMAGE, closeDockerSandbox, dockerSkipReason, orphanContainers, SKLEARN_IMAGE, TEST_RUN } from './docker-harness.js';
import { OepSandbox } from './harness.js';

/** An image no registry has (online or not, its pull fails at once): what a user cannot pull. */
const MISSING = `oep-test/never-pushed-${TEST_RUN}:none`;

const skip = await dockerSkipReason([BASE_IMAGE, SKLEARN_IMAGE]);

/**
 * docs/behaviour.md, "Images offline": a create whose environment (image + conda_file) cannot be
 * pulled fails with hints; this test does what they say, word for word, and the deployment serves.
 */
describe('a failed pull of environment.image + conda_file: the hints lead to commands that work', { skip }, () => {
  // No image map in force (the harness would use images/offline.yml): `oep config set` sets one below.
  const oep = new OepSandbox({ OEP_IMAGE_MAP: '' });
  const dir = join(oep.home, 'project');

  /** A deployment of `name` whose environment is the image nobody has, with a conda file. */
  function deploymentFile(name: string): string {
    const file = `${name}.yml`;
    writeFileSync(
      join(dir, file),
      [
        `name: ${name}`,
        'endpoint_name: hints',
        'code_configuration:',
        '  code: code',
        '  scoring_script: score.py',
        'environment:',
        `  image: ${MISSING}`,
        '  conda_file: conda.yaml',
        'instance_type: Standard_DS3_v2',
        'readiness_probe:',
        '  initial_delay: 1',
        '  period: 1',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** The hint line of a failed create's stderr. */
  function hintOf(stderr: string): string {
    return /^hint: (.*)$/m.exec(stderr)?.[1] ?? assert.fail(`no hint in:\n${stderr}`);
  }

  before(async () => {
    mkdirSync(join(dir, 'code'), { recursive: true });
    writeFileSync(join(dir, 'code', 'score.py'), 'def init():\n    pass\n\n\ndef run(data):\n    return {"served": True}\n');
    writeFileSync(join(dir, 'conda.yaml'), 'name: model-env\ndependencies:\n  - python=3.11\n  - pip:\n      - scikit-learn\n');
    writeFileSync(join(dir, 'endpoint.yml'), 'name: hints\n');
    await oep.ok(['endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: dir });
  });

  after(async () => {
    const left = await closeDockerSandbox(oep);
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it('names a local image without the conda file and the update that takes it (create again is refused, as az refuses it)', async () => {
    const file = deploymentFile('blue');
    const failed = await oep.run(['deployment', 'create', '-f', file, '--runtime', 'docker', '-o', 'none'], { cwd: dir });
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, new RegExp(`^error: Deployment blue failed in phase "build": the image is not on this machine and pulling ${MISSING.replace(/[.]/g, '\\.')} failed: `, 'm'));
    const replacement = `--set 'environment={"image":"IMAGE"}'`;
    assert.equal(
      hintOf(failed.stderr),
      `Pull it (docker pull ${MISSING}), or tag a local image that has conda, mamba or micromamba with its name (docker tag <local image> ${MISSING}); ` +
        `or run a local image that already has the packages, as it is, without the conda file: ${replacement}. ` +
        'Deployment blue is kept, Failed (as in Azure), and create refuses a name that exists: make the change with oep deployment update -f blue.yml, ' +
        'or delete it first (oep deployment delete -n blue -e hints --yes).',
    );
    assert.match(failed.stderr, /\(OEP_ERR_IMAGE_BUILD_FAILED\)$/m);

    const environment = `environment={"image":"${BASE_IMAGE}"}`;
    const again = await oep.run(['deployment', 'create', '-f', file, '--runtime', 'docker', '--set', environment, '-o', 'none'], { cwd: dir });
    assert.equal(again.code, 2);
    assert.equal(
      again.stderr,
      'error: Deployment blue already exists in endpoint hints (Failed).\n' +
        'hint: To change it, run the same command as "oep deployment update" (it takes the same -f, -n, -e and --set); to create a new deployment, use another name.\n' +
        '(OEP_ERR_DEPLOYMENT_EXISTS)\n',
    );

    const updated = await oep.run(['deployment', 'update', '-f', file, '--set', environment, '--query', 'provisioning_state', '-o', 'tsv'], { cwd: dir });
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, 'Succeeded\n');
    assert.deepEqual(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'hints', '--deployment-name', 'blue'])), { served: true });
  });

  it('with an image map in force, the line the hint names runs a local stand-in', async () => {
    const map = join(dir, 'map.yml');
    writeFileSync(map, '# this machine\'s stand-ins\n');
    await oep.ok(['config', 'set', 'image_map', map]);
    const file = deploymentFile('green');
    const failed = await oep.run(['deployment', 'create', '-f', file, '--runtime', 'docker', '-o', 'none'], { cwd: dir });
    assert.equal(failed.code, 1, failed.stderr);
    const line = `${MISSING}: <local image>`;
    assert.ok(
      hintOf(failed.stderr).includes(`; or map it to a local image: add the line "${line}" to the image map ${map} (a mapped image runs as it is: the conda file is not applied).`),
      failed.stderr,
    );

    appendFileSync(map, `${MISSING}: ${SKLEARN_IMAGE}\n`);
    const updated = await oep.run(['deployment', 'update', '-f', file, '--query', 'provisioning_state', '-o', 'tsv'], { cwd: dir });
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, 'Succeeded\n');
    assert.ok(updated.stderr.includes(`notice: environment image ${MISSING} -> local stand-in ${SKLEARN_IMAGE} (image_map ${map}); environment.conda_file (${join(dir, 'conda.yaml')}) is not applied`), updated.stderr);
    assert.deepEqual(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'hints', '--deployment-name', 'green'])), { served: true });
  });
});
