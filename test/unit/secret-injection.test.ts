import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { imageDockerfile, imageEnvFile, imagePlan } from '../../src/export/image.js';
import { exportKubernetes } from '../../src/export/kubernetes.js';
import type { AzResult } from '../../src/identity/token-sources.js';
import { connectionView, listSecretsJson, saveConnection } from '../../src/registry/connections.js';
import { secretBundle, setSecret } from '../../src/registry/keyvault.js';
import { resolveSecretVariables } from '../../src/registry/secret-injection.js';
import { rememberInjected } from '../../src/runtimes/injected-values.js';
import { maskEnvironment } from '../../src/runtimes/prepared-log.js';
import { loadConnectionSpec, type ConnectionSpec } from '../../src/spec/connection.js';
import { formatProblem, unwrapSpec } from '../../src/spec/index.js';
import { deploymentSpec } from './docker-fixtures.js';
import { fixtureSource } from './export-source.js';

const PLANT = 'planted-0f3e9a7c41d2';
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oep-secrets-unit-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function loadYaml(text: string, set: string[] = []): Promise<ReturnType<typeof loadConnectionSpec>> {
  const dir = tempDir();
  writeFileSync(join(dir, 'connection.yml'), text);
  return loadConnectionSpec({ file: 'connection.yml', cwd: dir, set });
}

describe('connection YAML: every shape Azure documents becomes one form', () => {
  it('custom keys in the REST shape (credentials.keys, metadata, target)', async () => {
    const spec = unwrapSpec(
      await loadYaml(`name: c1\ntype: custom_keys\ntarget: https://t\ncredentials:\n  type: custom_keys\n  keys:\n    OPENAI_API_KEY: ${PLANT}\nmetadata:\n  V: "1"\n`),
    );
    assert.deepEqual(spec, { name: 'c1', type: 'custom_keys', tags: {}, is_shared: true, target: 'https://t', metadata: { V: '1' }, credentials: { type: 'custom_keys', keys: { OPENAI_API_KEY: PLANT } } });
  });

  it("Microsoft's how-to: type custom with the keys beside credentials' type, and tags", async () => {
    const spec = unwrapSpec(await loadYaml(`name: multi\ntype: custom\ncredentials:\n  type: custom\n  OPENAI_API_KEY: ${PLANT}\n  SPEECH_KEY: k2\ntags:\n  OPENAI_API_VERSION: v1\n`));
    assert.deepEqual(spec.credentials, { type: 'custom_keys', keys: { OPENAI_API_KEY: PLANT, SPEECH_KEY: 'k2' } });
    assert.deepEqual(spec.tags, { OPENAI_API_VERSION: 'v1' });
  });

  it('the per-type schemas: azure_open_ai (azure_endpoint, api_key, api_version), api_key (api_base), custom (configs, secrets)', async () => {
    const aoai = unwrapSpec(await loadYaml(`name: aoai\ntype: azure_open_ai\nazure_endpoint: https://a.openai.azure.com/\napi_key: ${PLANT}\napi_version: "2024-02-01"\n`));
    assert.deepEqual([aoai.target, aoai.credentials, aoai.metadata], ['https://a.openai.azure.com/', { type: 'api_key', key: PLANT }, { ApiVersion: '2024-02-01' }]);
    const apiKey = unwrapSpec(await loadYaml(`name: k\ntype: api_key\napi_base: https://b\napi_key: ${PLANT}\n`));
    assert.deepEqual([apiKey.target, apiKey.credentials], ['https://b', { type: 'api_key', key: PLANT }]);
    const custom = unwrapSpec(await loadYaml(`name: c\ntype: custom\nconfigs:\n  region: eastus\nsecrets:\n  K: ${PLANT}\n`));
    assert.deepEqual([custom.metadata, custom.credentials], [{ region: 'eastus' }, { type: 'custom_keys', keys: { K: PLANT } }]);
  });

  it('problems point at FILE:LINE:COL key, and never show a given secret (file or --set)', async () => {
    const wrong = await loadYaml(`name: k\ntype: api_key\napi_base: https://b\nsecrets:\n  K: ${PLANT}\n`);
    assert.deepEqual(wrong.errors.map(formatProblem), [
      'connection.yml:4:1 secrets: A api_key connection holds one API key, not named secrets.\n  hint: api_key: <the key> (or credentials: {type: api_key, key: ...}); named secrets go in a custom_keys connection',
    ]);
    const numeric = await loadYaml('name: k\ntype: api_key\napi_base: https://b\napi_key: x\n', ['api_key=12345678']);
    const text = numeric.errors.map(formatProblem).join('\n');
    assert.match(text, /api_key: Must be a string/);
    assert.doesNotMatch(text, /12345678/);
    assert.match(text, /--set api_key=\*\*\*/);
    const missing = await loadYaml('name: k\ntype: open_ai\n');
    assert.match(missing.errors.map(formatProblem).join('\n'), /connection.yml:2:1 type: A open_ai connection needs its API key/);
    const unknown = await loadYaml('name: k\ntype: azure_openai\n');
    assert.match(unknown.errors.map(formatProblem).join('\n'), /connection.yml:2:7 type: Must be one of: custom_keys, custom, api_key, azure_open_ai/);
  });
});

describe('the local stores: 0600 files in 0700 folders; show masks, list-secrets is the List Secrets shape', () => {
  const home = tempDir();
  const spec: ConnectionSpec = { name: 'c1', type: 'azure_open_ai', tags: {}, is_shared: true, target: 'https://a/', metadata: { ApiVersion: 'v' }, credentials: { type: 'api_key', key: PLANT } };

  it('a connection file and its folders are private, and show prints *** unless asked', async () => {
    const { record } = await saveConnection(home, spec);
    const file = join(home, 'registry', 'connections', 'c1.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'registry', 'connections')).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, 'registry')).mode & 0o777, 0o700);
    const masked = JSON.stringify(connectionView(record));
    assert.doesNotMatch(masked, new RegExp(PLANT));
    assert.deepEqual(connectionView(record).credentials, { type: 'api_key', key: '***' });
    assert.deepEqual(connectionView(record, { showSecrets: true }).credentials, { type: 'api_key', key: PLANT });
    assert.deepEqual(JSON.parse(listSecretsJson(record)), {
      id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/connections/c1',
      name: 'c1',
      type: 'Microsoft.MachineLearningServices/workspaces/connections',
      properties: { authType: 'ApiKey', category: 'AzureOpenAI', credentials: { key: PLANT }, target: 'https://a/', isSharedToAll: true, metadata: { ApiVersion: 'v' } },
      systemData: { createdAt: record.creation_context.created_at, lastModifiedAt: record.creation_context.last_modified_at },
    });
  });

  it('Key Vault secrets keep every version; set prints no value', async () => {
    const first = await setSecret(home, 'kv1', 'Secret1', 'v1');
    const second = await setSecret(home, 'KV1', 'secret1', PLANT);
    assert.equal(second.record.versions.length, 2);
    assert.equal(second.record.name, 'Secret1', 'the name keeps the case it was created with');
    assert.equal(statSync(join(home, 'registry', 'keyvault', 'kv1', 'secret1.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'registry', 'keyvault', 'kv1')).mode & 0o777, 0o700);
    assert.equal('value' in secretBundle(second.record, second.version), false);
    assert.equal(secretBundle(second.record, second.version, { value: true }).value, PLANT);
    assert.match(String(secretBundle(first.record, first.version).id), /^https:\/\/kv1\.vault\.azure\.net\/secrets\/Secret1\/[0-9a-f]{32}$/);
  });
});

describe('resolveSecretVariables: values from the stores, failures that name the reference and never a value', () => {
  const home = tempDir();
  const env = {
    KEY: '${{azureml://connections/c1/credentials/OPENAI_API_KEY}}',
    VERSION: '${{azureml://connections/c1/metadata/V}}',
    TAGGED: '${{azureml://connections/c1/metadata/FROM_TAGS}}',
    TARGET: '${{azureml://connections/c1/target}}',
    WHOLE: '${{azureml://connections/c1}}',
    KV: '${{keyvault:https://kv1.vault.azure.net/secrets/s1}}',
    PLAIN: 'hello',
  };

  it('resolves the five forms from local stores', async () => {
    await saveConnection(home, { name: 'c1', type: 'custom_keys', tags: { FROM_TAGS: 't' }, is_shared: true, target: 'https://t', metadata: { V: '1' }, credentials: { type: 'custom_keys', keys: { OPENAI_API_KEY: PLANT } } });
    const old = await setSecret(home, 'kv1', 's1', 'kv-old');
    await setSecret(home, 'kv1', 's1', 'kv-new');
    const resolved = await resolveSecretVariables(env, { home, keyvaultSource: 'local' });
    assert.deepEqual(resolved.failures, []);
    assert.equal(resolved.values.KEY, PLANT);
    assert.equal(resolved.values.VERSION, '1');
    assert.equal(resolved.values.TAGGED, 't');
    assert.equal(resolved.values.TARGET, 'https://t');
    assert.equal(JSON.parse(resolved.values.WHOLE!).properties.credentials.keys.OPENAI_API_KEY, PLANT);
    assert.equal(resolved.values.KV, 'kv-new', 'without a version: the current one');
    assert.equal('PLAIN' in resolved.values, false);
    const pinned = await resolveSecretVariables({ KV: `\${{keyvault:https://kv1.vault.azure.net/secrets/s1/${old.version.version}}}` }, { home, keyvaultSource: 'local' });
    assert.equal(pinned.values.KV, 'kv-old');
  });

  it('names what is missing: the connection, the credential (with the names there are), the metadata, the secret', async () => {
    const resolved = await resolveSecretVariables(
      {
        A: '${{azureml://connections/nope/target}}',
        B: '${{azureml://connections/c1/credentials/NOPE}}',
        C: '${{azureml://connections/c1/metadata/NOPE}}',
        D: '${{keyvault:https://kv1.vault.azure.net/secrets/nope}}',
        E: '${{keyvault:https://kv1.vault.azure.net/secrets/s1/0123456789abcdef0123456789abcdef}}',
        F: '${{azureml://connections/c1/nope/x}}',
      },
      { home, keyvaultSource: 'local' },
    );
    assert.deepEqual(
      resolved.failures.map((failure) => [failure.variable, failure.reason.replace(/ \(keyvault_source is local.*$/, '')]),
      [
        ['A', 'connection nope does not exist (the connections are c1)'],
        ['B', 'connection c1 has no credential NOPE (its credentials are OPENAI_API_KEY)'],
        ['C', 'connection c1 has no metadata NOPE (its metadata keys are V)'],
        ['D', "oep's local vault kv1 has no secret nope"],
        ['E', "oep's local vault kv1 has no secret s1 version 0123456789abcdef0123456789abcdef"],
        ['F', 'malformed secret reference: "/nope" is not a part of a connection: use /credentials/<key>, /metadata/<key> or /target, or nothing for the whole connection'],
      ],
    );
    assert.doesNotMatch(JSON.stringify(resolved.failures), new RegExp(`${PLANT}|kv-new|kv-old`));
  });

  it('keyvault_source az reads the real vault through the Azure CLI; auto asks it only for what the local vault lacks', async () => {
    const calls: string[][] = [];
    const az = async (args: string[]): Promise<AzResult> => {
      calls.push(args);
      const url = args[args.indexOf('--id') + 1];
      if (url === 'https://kv1.vault.azure.net/secrets/remote') return { code: 0, stdout: `${PLANT}-remote\n`, stderr: '' };
      return { code: 3, stdout: '', stderr: 'ERROR: (SecretNotFound) A secret with (name/id) x was not found in this key vault.\n' };
    };
    const wanted = { KV: '${{keyvault:https://kv1.vault.azure.net/secrets/remote}}', LOCAL: '${{keyvault:https://kv1.vault.azure.net/secrets/s1}}' };
    const viaAz = await resolveSecretVariables(wanted, { home, keyvaultSource: 'az', az });
    assert.equal(viaAz.values.KV, `${PLANT}-remote`, 'tsv ends with a line break, which is not the value');
    assert.match(viaAz.failures[0]?.reason ?? '', /^az keyvault secret show --id https:\/\/kv1\.vault\.azure\.net\/secrets\/s1 failed: ERROR: \(SecretNotFound\)/);
    assert.deepEqual(calls[0], ['keyvault', 'secret', 'show', '--id', 'https://kv1.vault.azure.net/secrets/remote', '--query', 'value', '-o', 'tsv']);
    calls.length = 0;
    const auto = await resolveSecretVariables(wanted, { home, keyvaultSource: 'auto', az });
    assert.deepEqual(auto.failures, []);
    assert.deepEqual([auto.values.KV, auto.values.LOCAL, auto.sources.KV, auto.sources.LOCAL], [`${PLANT}-remote`, 'kv-new', 'Azure CLI', 'local vault']);
    assert.equal(calls.length, 1, 'the local vault answered for s1');
    const loggedOut = await resolveSecretVariables({ KV: wanted.KV }, { home, keyvaultSource: 'az', az: async () => ({ code: 1, stdout: '', stderr: "ERROR: Please run 'az login' to setup account.\n" }) });
    assert.match(loggedOut.failures[0]?.reason ?? '', /the Azure CLI is not logged in/);
    const missing = await resolveSecretVariables({ KV: wanted.KV }, { home, keyvaultSource: 'az', az: async () => ({ code: null, stdout: '', stderr: '', missing: true }) });
    assert.match(missing.failures[0]?.reason ?? '', /the Azure CLI \(az\) is not on PATH/);
  });
});

describe('resolved values stay out of what oep writes', () => {
  it('the storage-initializer log shows an injected value as its reference, whatever the variable is called', () => {
    rememberInjected('ep', 'blue', [{ value: PLANT, reference: '${{azureml://connections/c1/credentials/K}}' }]);
    const masked = maskEnvironment({ PLAINLY_NAMED: PLANT, OTHER: 'hello' });
    assert.deepEqual(masked, { PLAINLY_NAMED: '${{azureml://connections/c1/credentials/K}} (injected)', OTHER: 'hello' });
  });

  const spec = deploymentSpec({
    code_configuration: { code: '/src/code', scoring_script: 'score.py' },
    environment: { image: 'python:3.11' },
    environment_variables: { OPENAI_KEY: '${{azureml://connections/c1/credentials/OPENAI_API_KEY}}', KV: '${{keyvault:https://kv1.vault.azure.net/secrets/s1}}', GREETING: 'hi' },
  });

  it('deployment build: references are never baked (even with --bake-env); the env file names them bare for docker run to fill', () => {
    const plan = imagePlan(spec, 'python3');
    assert.equal(imageEnvFile(plan), 'OPENAI_KEY\nKV\nGREETING=hi\n');
    const baked = imageDockerfile(plan, 'sha256:1', {}, { bakeRunEnvironment: true });
    assert.match(baked, /GREETING="hi"/);
    assert.doesNotMatch(baked, /OPENAI_KEY|KV=|\$\{\{/);
  });

  it('endpoint export: a reference comes from a Secret the cluster makes (secretKeyRef), and neither it nor a value is in secret.yaml', async () => {
    const source = await fixtureSource();
    source.deployments[0]!.spec = { ...source.deployments[0]!.spec, environment_variables: { ...spec.environment_variables } };
    const result = exportKubernetes(source, { registry: 'myacr.azurecr.io', gatewayClass: 'envoy-gateway', authPolicy: 'envoy-gateway' });
    const secretFile = result.files.find((file) => file.name === 'secret.yaml')!;
    const secretText = JSON.stringify(secretFile.objects);
    assert.doesNotMatch(secretText, /\$\{\{|OPENAI_KEY/);
    assert.match(secretText, /"GREETING":"hi"/);
    const deploymentFile = result.files.find((file) => file.objects.some((object) => object.kind === 'Deployment' && JSON.stringify(object).includes('OPENAI_KEY')))!;
    const text = JSON.stringify(deploymentFile.objects);
    assert.match(text, /"name":"OPENAI_KEY","valueFrom":\{"secretKeyRef":\{"name":"export-e2e-blue-injected","key":"OPENAI_KEY"\}\}/);
    assert.match(text, /"name":"GREETING","valueFrom":\{"secretKeyRef":\{"name":"export-e2e-blue-env","key":"GREETING"\}\}/);
    const warning = result.warnings.find((line) => line.includes('secret references'));
    assert.equal(
      warning,
      'deployment blue: OPENAI_KEY, KV are secret references (secret injection): oep resolves them and never exports their values; create the Secret export-e2e-blue-injected before applying (its pods wait for it): ' +
        `kubectl create secret generic export-e2e-blue-injected --from-literal=OPENAI_KEY="$(oep connection show -n c1 --show-secrets -o tsv --query 'credentials.keys."OPENAI_API_KEY"')" ` +
        '--from-literal=KV="$(oep keyvault secret show --id https://kv1.vault.azure.net/secrets/s1 --query value -o tsv)"',
    );
  });
});
