import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BASE_IMAGE, closeDockerSandbox, docker, dockerSkipReason, eventually, fetchWithin, removeImages, runPublished, TEST_RUN } from './docker-harness.js';
import { OepSandbox } from './harness.js';
import { assertNoLeak, ENDPOINT, filesUnder, plant, RecordingSandbox, SECRETS_FIXTURES, sha256, type ScriptAnswer } from './secrets-support.js';

/**
 * Secret injection on the Docker runtime (oep-test/python:bookworm): the same deployment as on the
 * process runtime, the values in the container's environment and nowhere else oep writes; a
 * rotation and `deployment update` replace the container; `deployment build` bakes no reference and
 * no value (history, inspect, labels), its env file names them bare, and the built image run with
 * `docker run --env-file` and the values from the caller's environment answers as the deployment.
 */
const run = promisify(execFile);
const skip = await dockerSkipReason([BASE_IMAGE]);
const DEPLOYMENT = join(SECRETS_FIXTURES, 'deployment.yml');
const TAG = `oep-secrets-${TEST_RUN.toLowerCase().replace(/[^a-z0-9]+/g, '-')}/blue:1`;

const secrets = {
  openai: plant('openai'),
  speech: plant('speech'),
  aoai: plant('aoai'),
  vault: plant('vault'),
  rotated: plant('rotated'),
};

describe('secret injection on the docker runtime', { skip, timeout: 600_000 }, () => {
  const oep = new RecordingSandbox(new OepSandbox());
  const work = mkdtempSync(join(tmpdir(), 'oep-secrets-docker-'));
  const containers: string[] = [];
  /** The image tags this file's build made (user tag first, then oep's cache tag). */
  const tags: string[] = [];
  let first: ScriptAnswer;

  before(async () => {
    await oep.ok(['connection', 'create', '-f', join(SECRETS_FIXTURES, 'connection-custom.yml'), '--set', `credentials.keys.OPENAI_API_KEY=${secrets.openai}`, '--set', `credentials.keys.SPEECH_KEY=${secrets.speech}`, '-o', 'none']);
    await oep.ok(['connection', 'create', '-f', join(SECRETS_FIXTURES, 'connection-aoai.yml'), '--set', `api_key=${secrets.aoai}`, '-o', 'none']);
    await oep.ok(['keyvault', 'secret', 'set', '--vault-name', 'oepvault', '--name', 'secret1', '--value', secrets.vault, '-o', 'none']);
    await oep.ok(['endpoint', 'create', '-f', join(SECRETS_FIXTURES, 'endpoint.yml'), '-o', 'none']);
    const created = await oep.run(['deployment', 'create', '-f', DEPLOYMENT, '--runtime', 'docker', '--all-traffic', '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    for (const id of containers) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    // The user tag is this run's own name; the cache tag's image only when this run built it.
    await docker.getImage(TAG).remove().catch(() => undefined);
    await removeImages(tags);
    const left = await closeDockerSandbox(oep.oep);
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no container of the sandbox is left');
  });

  it('the container\'s scoring script reads each secret from os.environ (compared by hash)', async () => {
    first = await oep.invoke();
    assert.equal(first.openai_key_sha256, sha256(secrets.openai));
    assert.equal(first.sha256.USER_SECRET_KV1_KEY, sha256(secrets.vault));
    assert.equal(first.connection?.credentials_sha256.key, sha256(secrets.aoai));
    assert.deepEqual(first.plain, { OPENAI_VERSION: '2024-02-01', AOAI_TARGET: 'https://oep-aoai.openai.azure.com/', GREETING: 'plain value' });
    const initializer = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', ENDPOINT, '--container', 'storage-initializer']);
    assert.match(initializer, /^ {2}OPENAI_KEY=\$\{\{azureml:\/\/connections\/multi_connection_langchain\/credentials\/OPENAI_API_KEY\}\} \(injected\)$/m);
    assert.match(initializer, /^ {2}AOAI_CONNECTION=\$\{\{azureml:\/\/connections\/aoai_connection\}\} \(injected\)$/m);
  });

  it('a rotated key and deployment update: a new container with the new value', async () => {
    await oep.ok(['connection', 'update', '-n', 'multi_connection_langchain', '--set', `credentials.keys.OPENAI_API_KEY=${secrets.rotated}`, '-o', 'none']);
    assert.equal((await oep.invoke()).host, first.host, 'running containers keep their values until an update');
    const updated = await oep.run(['deployment', 'update', '-f', DEPLOYMENT, '-o', 'none']);
    assert.equal(updated.code, 0, updated.stderr);
    const rolled = await oep.invoke();
    assert.notEqual(rolled.host, first.host, 'another container');
    assert.equal(rolled.openai_key_sha256, sha256(secrets.rotated));
  });

  it('deployment build bakes neither references nor values; the env file names them bare and docker run fills them from the shell', async () => {
    const built = await oep.run(['deployment', 'build', '-n', 'blue', '-e', ENDPOINT, '-t', TAG]);
    assert.equal(built.code, 0, built.stderr);
    const result = JSON.parse(built.stdout) as { env_file: string; secret_references: Record<string, string>; port: number; cache_tag: string };
    tags.push(result.cache_tag);
    // JSON output sorts keys, as az's does.
    assert.deepEqual(Object.keys(result.secret_references), ['AOAI_CONNECTION', 'AOAI_TARGET', 'OPENAI_KEY', 'OPENAI_VERSION', 'USER_SECRET_KV1_KEY']);
    assert.match(built.stderr, /^hint: OPENAI_KEY, OPENAI_VERSION, AOAI_TARGET, AOAI_CONNECTION, USER_SECRET_KV1_KEY are secret references: neither the image nor the env file holds their values; set them in the shell that runs docker run: /m);
    assert.match(built.stderr, /export OPENAI_KEY="\$\(oep connection show -n multi_connection_langchain --show-secrets -o tsv --query 'credentials\.keys\."OPENAI_API_KEY"'\)"/);
    assert.match(built.stderr, /export AOAI_CONNECTION="\$\(oep connection show -n aoai_connection --list-secrets -o json\)"/);
    assert.match(built.stderr, /export USER_SECRET_KV1_KEY="\$\(oep keyvault secret show --id https:\/\/oepvault\.vault\.azure\.net\/secrets\/secret1 --query value -o tsv\)"/);
    assert.equal(readFileSync(result.env_file, 'utf8'), 'OPENAI_KEY\nOPENAI_VERSION\nAOAI_TARGET\nAOAI_CONNECTION\nUSER_SECRET_KV1_KEY\nGREETING=plain value\n');
    assert.equal(statSync(result.env_file).mode & 0o777, 0o600);

    const history = (await run('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', TAG])).stdout;
    const inspect = (await run('docker', ['image', 'inspect', TAG])).stdout;
    for (const [where, text] of [['docker history', history], ['docker image inspect', inspect]] as const) {
      assert.doesNotMatch(text, /OPENAI_KEY|USER_SECRET_KV1_KEY|AOAI_CONNECTION|\$\{\{/, `${where} names no reference`);
      for (const secret of Object.values(secrets)) assert.ok(!text.includes(secret), `${where} holds no planted value`);
    }

    // The built image run as the hint says: the env file, and the values in the caller's environment.
    const shellValues = {
      OPENAI_KEY: secrets.rotated,
      OPENAI_VERSION: '2024-02-01',
      AOAI_TARGET: 'https://oep-aoai.openai.azure.com/',
      AOAI_CONNECTION: JSON.stringify({ properties: { credentials: { key: secrets.aoai } } }),
      USER_SECRET_KV1_KEY: secrets.vault,
    };
    const started = await runPublished(TAG, result.port, { envFile: result.env_file, env: { ...process.env, ...shellValues } });
    containers.push(started.id);
    const direct = await eventually(
      'the built image to answer',
      async () => {
        const response = await fetchWithin(`${started.url}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return response.status === 200 ? ((await response.json()) as ScriptAnswer) : undefined;
      },
      60_000,
    );
    assert.equal(direct.openai_key_sha256, sha256(secrets.rotated));
    assert.equal(direct.sha256.USER_SECRET_KV1_KEY, sha256(secrets.vault));
    assert.equal(direct.plain.GREETING, 'plain value');
  });

  it('no planted secret in any file under OEP_HOME but the stores, the export, the dashboard or any CLI output', async () => {
    const exportDir = join(work, 'export');
    await oep.ok(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io', '-d', exportDir]);
    const exported = filesUnder(exportDir).map((file) => ({ where: `export ${file}`, text: readFileSync(join(exportDir, file), 'utf8') }));
    await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', ENDPOINT]);
    await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', ENDPOINT, '--container', 'storage-initializer']);
    await oep.ok(['deployment', 'show', '-n', 'blue', '-e', ENDPOINT]);
    await oep.ok(['connection', 'list']);
    await assertNoLeak(oep, Object.values(secrets), exported);
  });
});
