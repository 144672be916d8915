import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BASE_IMAGE, docker, dockerSkipReason, TEST_RUN } from '../e2e/docker-harness.js';
import { OepSandbox } from '../e2e/harness.js';
import { FAULTS_FIXTURE } from './bodies-support.js';
import { PLANT, PLANTED } from './planted-secrets.js';
import { killScoringServers } from './replica-support.js';

/**
 * Secrets leak into artifacts (issue, point 5): `deployment build` baked every environment_variables
 * value into the image's ENV and history (21 of 21 planted secrets; `--push` sent them on),
 * `endpoint export` wrote them into a 0644 Deployment YAML next to the 0600 secret.yaml, and the
 * storage-initializer log masked 17 of the 21 forms. Now the image holds none of them (they go in
 * a 0600 env file given at `docker run --env-file`, unless --bake-env), the export puts them in a
 * Secret in secret.yaml only, and the log masks all 21.
 */
const run = promisify(execFile);
const skip = await dockerSkipReason([BASE_IMAGE]);
const TAG = `oep-faults-secrets-${TEST_RUN.toLowerCase().replace(/[^a-z0-9]+/g, '-')}/big`;

/** Every file under `dir` whose text holds the planted secret. */
function filesWithPlant(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && readFileSync(join(entry.parentPath, entry.name), 'utf8').includes(PLANT))
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('secrets planted in environment_variables stay out of images, exports and logs', { skip, timeout: 600_000 }, () => {
  const oep = new OepSandbox();
  let dir = '';
  const tags: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oep-secrets-'));
    const variables = PLANTED.map(([name, value]) => `  ${name}: ${JSON.stringify(value)}`).join('\n');
    const fixture = readFileSync(join(FAULTS_FIXTURE, 'deployment.yml'), 'utf8')
      .replace('code: ./code', `code: ${join(FAULTS_FIXTURE, 'code')}`)
      .replace(/environment_variables:\n {2}DB_URL: .*\n/, `environment_variables:\n${variables}\n`);
    assert.match(fixture, new RegExp(PLANT));
    writeFileSync(join(dir, 'deployment.yml'), fixture);
    await oep.ok(['endpoint', 'create', '-f', join(FAULTS_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(dir, 'deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
  });
  after(async () => {
    for (const tag of tags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    killScoringServers(oep.home);
    await oep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the storage-initializer log masks all 21 planted forms', async () => {
    const log = await oep.ok(['deployment', 'get-logs', '-n', 'big', '-e', 'faults', '--container', 'storage-initializer']);
    assert.doesNotMatch(log, new RegExp(PLANT));
    for (const [name, , shown] of PLANTED) assert.ok(log.includes(`  ${name}=${shown}\n`), `${name}=${shown} in:\n${log}`);
  });

  it('deployment build: none in the image (ENV, history, config); all in a 0600 env file that docker run --env-file gives the container', async () => {
    const result = await oep.run(['deployment', 'build', '-n', 'big', '-e', 'faults', '--tag', `${TAG}:1`]);
    assert.equal(result.code, 0, result.stderr);
    const built = JSON.parse(result.stdout) as { image: string; cache_tag: string; env_file: string; env_variables: string[] };
    tags.push(built.image, built.cache_tag);
    assert.deepEqual(built.env_variables, PLANTED.map(([name]) => name));
    assert.equal(built.env_file, join(oep.home, 'logs', 'faults', 'big', 'image.env'));
    assert.equal(statSync(built.env_file).mode & 0o777, 0o600);
    assert.equal(readFileSync(built.env_file, 'utf8'), PLANTED.map(([name, value]) => `${name}=${value}\n`).join(''));
    assert.match(result.stderr, new RegExp(`hint: run it with: docker run --rm --env-file ${built.env_file.replace(/[./]/g, '\\$&')} -p 127\\.0\\.0\\.1:8080:5001 ${built.image}`));

    const inspected = JSON.stringify(await docker.getImage(built.image).inspect());
    const { stdout: history } = await run('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', built.image]);
    const leaked = PLANTED.filter(([name]) => inspected.includes(`"${name}=`) || history.includes(`${name}=`)).map(([name]) => name);
    assert.deepEqual(leaked, [], 'variables in the image');
    assert.doesNotMatch(inspected, new RegExp(PLANT));
    assert.doesNotMatch(history, new RegExp(PLANT));

    // What the container gets from the env file: every value as it was written.
    const { stdout: env } = await run('docker', ['run', '--rm', '--label', `oep.test-run=${TEST_RUN}`, '--env-file', built.env_file, '--entrypoint', 'env', built.image]);
    for (const [name, value] of PLANTED) assert.ok(env.split('\n').includes(`${name}=${value}`), `${name} in the container`);
  });

  it('--bake-env keeps the old way, with a warning that names the variables', async () => {
    const result = await oep.run(['deployment', 'build', '-n', 'big', '-e', 'faults', '--tag', `${TAG}:baked`, '--bake-env']);
    assert.equal(result.code, 0, result.stderr);
    const built = JSON.parse(result.stdout) as { image: string; cache_tag: string; env_file?: string };
    tags.push(built.image, built.cache_tag);
    assert.equal(built.env_file, undefined);
    assert.match(result.stderr, /warning: --bake-env: the 21 environment_variables of deployment big \(API_KEY, .*\) are written into the image's ENV, where docker inspect and docker history show them/);
    const info = await docker.getImage(built.image).inspect();
    assert.ok(info.Config.Env?.includes(`DB_PASSWORD=${PLANT}`));
  });

  it('endpoint export: only secret.yaml (0600) holds them, as a Secret the container reads by secretKeyRef', async () => {
    const out = join(dir, 'k8s');
    await oep.ok(['endpoint', 'export', '-n', 'faults', '-d', out]);
    assert.deepEqual(filesWithPlant(out), ['secret.yaml']);
    assert.equal(statSync(join(out, 'secret.yaml')).mode & 0o777, 0o600);
    const deployment = readFileSync(join(out, 'faults-big.yaml'), 'utf8');
    for (const [name] of PLANTED) assert.match(deployment, new RegExp(`- name: ${name}\\n {14}valueFrom:\\n {16}secretKeyRef:\\n {18}name: faults-big-env\\n {18}key: ${name}\\n`));
    const stream = await oep.ok(['endpoint', 'export', '-n', 'faults']);
    assert.equal(stream.split(PLANT).length - 1, PLANTED.filter(([, value]) => value.includes(PLANT)).length, 'in the Secret once each, nowhere else');
  });
});
