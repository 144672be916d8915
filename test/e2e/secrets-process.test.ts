import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox } from './harness.js';
import { assertNoLeak, ENDPOINT, filesUnder, plant, RecordingSandbox, SECRETS_FIXTURES, sha256, STAND_IN_AZ_DIR, VAULT_URL, type ScriptAnswer } from './secrets-support.js';

/**
 * Secret injection end to end on the process runtime (docs/behaviour.md "Secrets"): connections and
 * a Key Vault secret planted with the CLI, Microsoft's pattern in the scoring script
 * (os.environ["OPENAI_KEY"]), references refused before anything changes, rotation and
 * `deployment update`, a daemon restart (adopt or replace), the real vault through a stand-in Azure
 * CLI, and no planted value anywhere oep writes or shows.
 */
const DEPLOYMENT = join(SECRETS_FIXTURES, 'deployment.yml');
const work = mkdtempSync(join(tmpdir(), 'oep-secrets-e2e-'));
const vaultFile = join(work, 'real-vault.json');
const azLog = join(work, 'az.log');

const secrets = {
  openai: plant('openai'),
  speech: plant('speech'),
  aoai: plant('aoai'),
  vault: plant('vault'),
  rotated: plant('rotated'),
  vaultRotated: plant('vault-rotated'),
  real: plant('real-vault'),
};

/** The replica's pid (process runtime: a new process means new replicas). */
async function killDaemon(oep: RecordingSandbox): Promise<void> {
  const pid = Number((await oep.ok(['daemon', 'status', '--query', 'pid', '-o', 'tsv'])).trim());
  process.kill(pid, 'SIGKILL');
  await eventually('the killed daemon to be reaped', async () => (existsSync(`/proc/${pid}`) ? undefined : true), 20_000);
}

describe('secret injection on the process runtime', { timeout: 300_000 }, () => {
  const oep = new RecordingSandbox(
    new OepSandbox({ PATH: `${STAND_IN_AZ_DIR}:${process.env.PATH ?? ''}`, OEP_TEST_AZ_KEYVAULT: vaultFile, OEP_TEST_AZ_LOG: azLog }),
  );
  let first: ScriptAnswer;
  let createStderr = '';

  before(async () => {
    writeFileSync(vaultFile, JSON.stringify({ [VAULT_URL]: secrets.real }));
    writeFileSync(join(work, 'vault-value.txt'), secrets.vault);
    await oep.ok(['connection', 'create', '-f', join(SECRETS_FIXTURES, 'connection-custom.yml'), '--set', `credentials.keys.OPENAI_API_KEY=${secrets.openai}`, '--set', `credentials.keys.SPEECH_KEY=${secrets.speech}`]);
    await oep.ok(['connection', 'create', '-f', join(SECRETS_FIXTURES, 'connection-aoai.yml'), '--set', `api_key=${secrets.aoai}`]);
    await oep.ok(['keyvault', 'secret', 'set', '--vault-name', 'oepvault', '--name', 'secret1', '--file', join(work, 'vault-value.txt')]);
    await oep.ok(['endpoint', 'create', '-f', join(SECRETS_FIXTURES, 'endpoint.yml'), '-o', 'none']);
    const created = await oep.run([
      'deployment', 'create', '-f', DEPLOYMENT, '--runtime', 'process', '--all-traffic', '-o', 'none',
      // Payload logging (data collection) of what the router sees: none of it may hold a secret.
      '--set', 'data_collector.collections.request.enabled=true', '--set', 'data_collector.collections.response.enabled=true',
    ]);
    assert.equal(created.code, 0, created.stderr);
    createStderr = created.stderr;
  });
  after(async () => {
    await oep.oep.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('the scoring script reads each secret from os.environ (compared by hash); show keeps the references as written', async () => {
    first = await oep.invoke();
    assert.equal(first.openai_key_sha256, sha256(secrets.openai), 'init() read os.environ["OPENAI_KEY"]');
    assert.equal(first.sha256.USER_SECRET_KV1_KEY, sha256(secrets.vault));
    assert.deepEqual(first.plain, { OPENAI_VERSION: '2024-02-01', AOAI_TARGET: 'https://oep-aoai.openai.azure.com/', GREETING: 'plain value' });
    // ${{azureml://connections/<c>}}: the connection's List Secrets JSON.
    assert.deepEqual(first.connection, {
      id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/connections/aoai_connection',
      name: 'aoai_connection',
      type: 'Microsoft.MachineLearningServices/workspaces/connections',
      authType: 'ApiKey',
      category: 'AzureOpenAI',
      target: 'https://oep-aoai.openai.azure.com/',
      metadata: { ApiVersion: '2024-02-01' },
      credentials_sha256: { key: sha256(secrets.aoai) },
    });
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', ENDPOINT, '--query', 'environment_variables'])) as Record<string, string>;
    assert.equal(shown.OPENAI_KEY, '${{azureml://connections/multi_connection_langchain/credentials/OPENAI_API_KEY}}');
    assert.equal(shown.USER_SECRET_KV1_KEY, `\${{keyvault:${VAULT_URL}}}`);
    assert.match(createStderr, /notice: deployment blue: secret injection: OPENAI_KEY, OPENAI_VERSION, AOAI_TARGET, AOAI_CONNECTION, USER_SECRET_KV1_KEY resolved from connection, local vault/);
    const initializer = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', ENDPOINT, '--container', 'storage-initializer']);
    assert.match(initializer, /^ {2}OPENAI_KEY=\$\{\{azureml:\/\/connections\/multi_connection_langchain\/credentials\/OPENAI_API_KEY\}\} \(injected\)$/m);
    assert.match(initializer, /^ {2}USER_SECRET_KV1_KEY=\$\{\{keyvault:https:\/\/oepvault\.vault\.azure\.net\/secrets\/secret1\}\} \(injected\)$/m);
  });

  it('connection show and list mask the credentials; --show-secrets is the way to see them', async () => {
    const shown = JSON.parse(await oep.ok(['connection', 'show', '-n', 'multi_connection_langchain'])) as { credentials: unknown; metadata: unknown };
    assert.deepEqual(shown.credentials, { type: 'custom_keys', keys: { OPENAI_API_KEY: '***', SPEECH_KEY: '***' } });
    const listed = JSON.parse(await oep.ok(['connection', 'list'])) as { name: string; credentials: unknown }[];
    assert.deepEqual(listed.map((item) => [item.name, item.credentials]), [
      ['aoai_connection', { type: 'api_key', key: '***' }],
      ['multi_connection_langchain', { type: 'custom_keys', keys: { OPENAI_API_KEY: '***', SPEECH_KEY: '***' } }],
    ]);
    // Not recorded (its purpose is to print a secret): compared by hash.
    const revealed = await oep.oep.ok(['connection', 'show', '-n', 'aoai_connection', '--show-secrets', '--query', 'credentials.key', '-o', 'tsv']);
    assert.equal(sha256(revealed.trim()), sha256(secrets.aoai));
  });

  it('a reference that names nothing, or is malformed, fails the create with SecretsInjectionError at FILE:LINE:COL before anything changes; validate warns', async () => {
    const file = join(work, 'green.yml');
    writeFileSync(
      file,
      readFileSync(DEPLOYMENT, 'utf8')
        .replace('name: blue', 'name: green')
        .replace('code: code', `code: ${join(SECRETS_FIXTURES, 'code')}`)
        .replace('/credentials/OPENAI_API_KEY}}', '/credentials/NOT_THERE}}')
        .replace('${{keyvault:https://oepvault.vault.azure.net/secrets/secret1}}', '${{keyvault:https://oepvault.vault.azure.net/keys/secret1}}')
        .replace('GREETING: plain value', 'GREETING: plain value\n  ENDPOINT_KEY: ${{azureml://connections/gone/target}}'),
    );
    const before = filesUnder(oep.oep.home).filter((path) => !path.startsWith('logs/daemon') && path !== 'daemon.log');
    const refused = await oep.run(['deployment', 'create', '-f', file, '--runtime', 'process']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^error: Deployment green: SecretsInjectionError: 3 secret references in environment_variables cannot be resolved\.$/m);
    assert.match(refused.stderr, /green\.yml:15:15 environment_variables\.OPENAI_KEY: SecretsInjectionError: \$\{\{azureml:\/\/connections\/multi_connection_langchain\/credentials\/NOT_THERE\}\}: connection multi_connection_langchain has no credential NOT_THERE \(its credentials are OPENAI_API_KEY, SPEECH_KEY\)\./);
    assert.match(refused.stderr, /green\.yml:19:24 environment_variables\.USER_SECRET_KV1_KEY: SecretsInjectionError: .*malformed secret reference: "\/keys\/secret1" is not a secret's path/);
    assert.match(refused.stderr, /green\.yml:21:17 environment_variables\.ENDPOINT_KEY: SecretsInjectionError: \$\{\{azureml:\/\/connections\/gone\/target\}\}: connection gone does not exist/);
    assert.match(refused.stderr, /Nothing was changed\.\n\(OEP_ERR_SECRET_INJECTION\)\n$/);
    assert.deepEqual(JSON.parse(await oep.ok(['deployment', 'list', '-e', ENDPOINT, '--query', '[].name'])), ['blue']);
    const now = filesUnder(oep.oep.home).filter((path) => !path.startsWith('logs/daemon') && path !== 'daemon.log');
    assert.deepEqual(now.filter((path) => path.includes('green')), [], 'nothing of green was made');
    assert.ok(before.length > 0);

    const validated = await oep.run(['validate', '-f', file]);
    assert.equal(validated.code, 0, validated.stderr);
    assert.equal(validated.stderr.split('\n').filter((line) => line.startsWith('warning: ') && line.includes('SecretsInjectionError')).length, 3, validated.stderr);
  });

  it('enforce_access_to_default_secret_stores: enabled is accepted with a system-assigned identity and refused with a user-assigned one', async () => {
    assert.equal(JSON.parse(await oep.ok(['endpoint', 'show', '-n', ENDPOINT, '--query', 'properties.enforce_access_to_default_secret_stores'])), 'enabled');
    const file = join(work, 'uai.yml');
    writeFileSync(
      file,
      'name: secrets-uai\nidentity:\n  type: user_assigned\n  user_assigned_identities:\n    - resource_id: /subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u\nproperties:\n  enforce_access_to_default_secret_stores: enabled\n',
    );
    const refused = await oep.run(['endpoint', 'create', '-f', file]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /uai\.yml:7:44 properties\.enforce_access_to_default_secret_stores: enforce_access_to_default_secret_stores cannot be enabled on an endpoint with a user-assigned identity\./);
  });

  it('a rotated key reaches the replicas at the next deployment update, which rolls them', async () => {
    await oep.ok(['connection', 'update', '-n', 'multi_connection_langchain', '--set', `credentials.keys.OPENAI_API_KEY=${secrets.rotated}`, '-o', 'none']);
    const unchanged = await oep.invoke();
    assert.equal(unchanged.pid, first.pid, 'resolved once, at create: running replicas keep their values');
    assert.equal(unchanged.openai_key_sha256, sha256(secrets.openai));
    const updated = await oep.run(['deployment', 'update', '-f', DEPLOYMENT, '-o', 'none']);
    assert.equal(updated.code, 0, updated.stderr);
    const rolled = await oep.invoke();
    assert.notEqual(rolled.pid, first.pid, 'new replicas');
    assert.equal(rolled.openai_key_sha256, sha256(secrets.rotated));
    assert.equal(rolled.sha256.USER_SECRET_KV1_KEY, sha256(secrets.vault));
    first = rolled;
  });

  it('a restarted daemon adopts replicas whose values did not change, and replaces those whose values did', async () => {
    await killDaemon(oep);
    const adopted = await oep.invoke();
    assert.equal(adopted.pid, first.pid, 'same values: adopted');
    // A new version of the vault's secret: the next daemon resolves it, and the config hash differs.
    await oep.ok(['keyvault', 'secret', 'set', '--vault-name', 'oepvault', '--name', 'secret1', '--value', secrets.vaultRotated, '-o', 'none']);
    await killDaemon(oep);
    const replaced = await oep.invoke();
    assert.notEqual(replaced.pid, first.pid, 'another value: a new replica, never the old one adopted');
    assert.equal(replaced.sha256.USER_SECRET_KV1_KEY, sha256(secrets.vaultRotated));
    assert.match(readFileSync(join(oep.oep.home, 'daemon.log'), 'utf8'), /secrets-ep\/blue: discard blue#0 gen 2 \(configuration changed\)/);
    first = replaced;
  });

  it('keyvault_source az reads the real vault through the Azure CLI; a secret it lacks fails the update with az\'s reason', async () => {
    await oep.ok(['config', 'set', 'keyvault_source', 'az']);
    try {
      const updated = await oep.run(['deployment', 'update', '-f', DEPLOYMENT, '-o', 'none']);
      assert.equal(updated.code, 0, updated.stderr);
      assert.match(updated.stderr, /resolved from connection, Azure CLI/);
      const answer = await oep.invoke();
      assert.equal(answer.sha256.USER_SECRET_KV1_KEY, sha256(secrets.real));
      assert.ok(readFileSync(azLog, 'utf8').split('\n').includes(`keyvault secret show --id ${VAULT_URL} --query value -o tsv`));
      const missing = await oep.run(['deployment', 'update', '-f', DEPLOYMENT, '--set', 'environment_variables.USER_SECRET_KV1_KEY=${{keyvault:https://oepvault.vault.azure.net/secrets/other}}']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /az keyvault secret show --id https:\/\/oepvault\.vault\.azure\.net\/secrets\/other failed: ERROR: \(SecretNotFound\) A secret with \(name\/id\) other was not found in this key vault\./);
      assert.equal((await oep.invoke()).pid, answer.pid, 'the refused update changed nothing');
    } finally {
      await oep.ok(['config', 'set', 'keyvault_source', 'local']);
    }
  });

  it('mirrored requests and data collection hold no secret (compare pairs, payload logs)', async () => {
    await oep.ok(['deployment', 'create', '-f', DEPLOYMENT, '-n', 'shadow', '--runtime', 'process', '-o', 'none']);
    await oep.ok(['endpoint', 'update', '-n', ENDPOINT, '--mirror-traffic', 'shadow=50', '-o', 'none']);
    for (let i = 0; i < 6; i += 1) await oep.invoke();
    const report = JSON.parse(await oep.ok(['traffic', 'compare', '-n', ENDPOINT])) as { pairs: number };
    assert.ok(report.pairs > 0, 'pairs were recorded');
    const collected = filesUnder(oep.oep.home).filter((path) => path.includes('data-collector') || path.includes('data_collector') || path.endsWith('.jsonl'));
    assert.ok(collected.length > 0, `payload logs exist: ${filesUnder(oep.oep.home).join(', ')}`);
  });

  it('a daemon start with a reference that no longer resolves fails the deployment (phase secrets) and says why', async () => {
    await oep.ok(['endpoint', 'update', '-n', ENDPOINT, '--mirror-traffic', 'shadow=0', '-o', 'none']);
    await oep.ok(['connection', 'delete', '-n', 'aoai_connection', '--yes']);
    await oep.ok(['daemon', 'stop']);
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'shadow', '-e', ENDPOINT])) as { provisioning_state: string; failure?: { phase: string; message: string; details: string[] } };
    const failed = await eventually('shadow to fail', async () => {
      const view = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'shadow', '-e', ENDPOINT])) as typeof shown;
      return view.provisioning_state === 'Failed' ? view : undefined;
    });
    assert.equal(failed.failure?.phase, 'secrets');
    assert.equal(failed.failure?.message, 'Deployment shadow: SecretsInjectionError: 2 secret references in environment_variables cannot be resolved.');
    assert.match(failed.failure?.details.join('\n') ?? '', /environment_variables\.AOAI_TARGET: SecretsInjectionError: \$\{\{azureml:\/\/connections\/aoai_connection\/target\}\}: connection aoai_connection does not exist/);
  });

  it('no planted secret in any file under OEP_HOME but the stores, the export, the dashboard or any CLI output', async () => {
    const exportDir = join(work, 'export');
    await oep.ok(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io', '-d', exportDir]);
    const exported = filesUnder(exportDir).map((file) => ({ where: `export ${file}`, text: readFileSync(join(exportDir, file), 'utf8') }));
    assert.ok(exported.some(({ text }) => text.includes('secrets-ep-blue-injected')), 'the Deployment reads its references from the injected Secret');
    for (const deployment of ['blue', 'shadow']) {
      await oep.ok(['deployment', 'get-logs', '-n', deployment, '-e', ENDPOINT]);
      await oep.ok(['deployment', 'get-logs', '-n', deployment, '-e', ENDPOINT, '--container', 'storage-initializer']);
      await oep.ok(['deployment', 'show', '-n', deployment, '-e', ENDPOINT]);
    }
    await oep.ok(['endpoint', 'show', '-n', ENDPOINT]);
    await oep.ok(['keyvault', 'secret', 'list', '--vault-name', 'oepvault']);
    await oep.ok(['keyvault', 'secret', 'list-versions', '--vault-name', 'oepvault', '--name', 'secret1']);
    await oep.ok(['daemon', 'status']);
    await assertNoLeak(oep, Object.values(secrets), exported);
  });
});
