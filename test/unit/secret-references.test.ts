import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeReference, parseSecretValue, referenceValueCommand, secretVariables, type ParsedValue } from '../../src/model/secret-references.js';

/** The reference a value parses to, or the test fails with what it parsed to. */
function reference(value: string): Extract<ParsedValue, { kind: 'reference' }>['reference'] {
  const parsed = parseSecretValue(value);
  assert.equal(parsed.kind, 'reference', `${value} -> ${JSON.stringify(parsed)}`);
  return (parsed as Extract<ParsedValue, { kind: 'reference' }>).reference;
}

function problem(value: string): string {
  const parsed = parseSecretValue(value);
  assert.equal(parsed.kind, 'malformed', `${value} -> ${JSON.stringify(parsed)}`);
  return (parsed as Extract<ParsedValue, { kind: 'malformed' }>).problem;
}

describe('secret references: the five documented forms', () => {
  it('a whole connection (its list-secrets JSON)', () => {
    assert.deepEqual(reference('${{azureml://connections/aoai_connection}}'), { store: 'connection', connection: 'aoai_connection', part: 'all' });
  });

  it('a credential, a metadata value and the target of a connection', () => {
    assert.deepEqual(reference('${{azureml://connections/multi_connection_langchain/credentials/OPENAI_API_KEY}}'), {
      store: 'connection',
      connection: 'multi_connection_langchain',
      part: 'credentials',
      key: 'OPENAI_API_KEY',
    });
    assert.deepEqual(reference('${{azureml://connections/c1/metadata/OPENAI_API_VERSION}}'), { store: 'connection', connection: 'c1', part: 'metadata', key: 'OPENAI_API_VERSION' });
    assert.deepEqual(reference('${{azureml://connections/c-1/target}}'), { store: 'connection', connection: 'c-1', part: 'target' });
  });

  it('a Key Vault secret, with or without its version (vault and version lower-cased, as Key Vault treats them)', () => {
    assert.deepEqual(reference('${{keyvault:https://MyKeyVault.vault.azure.net/secrets/secret1/0123456789ABCDEF0123456789abcdef}}'), {
      store: 'keyvault',
      vault: 'mykeyvault',
      host: 'mykeyvault.vault.azure.net',
      name: 'secret1',
      version: '0123456789abcdef0123456789abcdef',
      url: 'https://mykeyvault.vault.azure.net/secrets/secret1/0123456789abcdef0123456789abcdef',
    });
    const latest = reference('${{keyvault:https://mykeyvault.vault.azure.net/secrets/secret1}}');
    assert.equal(latest.store === 'keyvault' && latest.version, undefined);
    // Sovereign clouds' vaults.
    assert.equal(reference('${{keyvault:https://v01.vault.azure.cn/secrets/s}}').store, 'keyvault');
  });

  it('white space inside and around the braces is allowed', () => {
    assert.deepEqual(reference('  ${{ azureml://connections/c1/target }} '), { store: 'connection', connection: 'c1', part: 'target' });
  });

  it('describeReference writes each form back as Azure does', () => {
    for (const text of [
      '${{azureml://connections/c1}}',
      '${{azureml://connections/c1/credentials/KEY}}',
      '${{azureml://connections/c1/metadata/M}}',
      '${{azureml://connections/c1/target}}',
      '${{keyvault:https://kv1.vault.azure.net/secrets/s1/0123456789abcdef0123456789abcdef}}',
    ]) {
      assert.equal(describeReference(reference(text)), text);
    }
  });
});

describe('secret references: malformed ones, and values that are none', () => {
  it('plain values and other ${{...}} syntax (a job\'s inputs) are left alone', () => {
    for (const value of ['hello', '', 'https://x.vault.azure.net/secrets/a', '${{inputs.data}}', '${{ jobs.train.outputs.model }}', '$MY_VAR', '{{azureml://connections/c1}}']) {
      assert.equal(parseSecretValue(value).kind, 'plain', value);
    }
  });

  it('connection references: missing parts, unknown parts, extra segments, wrong scheme', () => {
    assert.match(problem('${{azureml://connections/}}'), /connection name is missing/);
    assert.match(problem('${{azureml://connections/c1/credentials}}'), /credential key is missing/);
    assert.match(problem('${{azureml://connections/c1/credentials/}}'), /credential key is missing/);
    assert.match(problem('${{azureml://connections/c1/metadata}}'), /metadata key is missing/);
    assert.match(problem('${{azureml://connections/c1/secrets/KEY}}'), /"\/secrets" is not a part of a connection/);
    assert.match(problem('${{azureml://connections/c1/credentials/a/b}}'), /one key follows/);
    assert.match(problem('${{azureml://connections/c1/target/x}}'), /nothing may follow \/target/);
    assert.match(problem('${{azureml://connection/c1}}'), /starts with azureml:\/\/connections\//);
    assert.match(problem('${{azureml:c1}}'), /is not a connection reference/);
    assert.match(problem('${{azureml://connections/bad name/target}}'), /not a connection name/);
  });

  it('Key Vault references: not https, not a vault host, keys or certificates, a bad name or version, extras', () => {
    assert.match(problem('${{keyvault:http://kv1.vault.azure.net/secrets/s}}'), /https:\/\//);
    assert.match(problem('${{keyvault:https://kv1.example.com/secrets/s}}'), /not a Key Vault's host/);
    assert.match(problem('${{keyvault:https://k.vault.azure.net/secrets/s}}'), /not a Key Vault's host/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/keys/k}}'), /keys and certificates cannot be injected/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/secrets/}}'), /secret name is missing/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/secrets/bad_name}}'), /not a Key Vault secret name/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/secrets/s/v1}}'), /not a secret version/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/secrets/s/0123456789abcdef0123456789abcdef/x}}'), /has more than/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/secrets/s?api-version=7.4}}'), /a query/);
    assert.match(problem('${{keyvault:not a url}}'), /is not a Key Vault secret URL/);
  });

  it('a reference with text around it is malformed: it must be the whole value', () => {
    assert.match(problem('Bearer ${{azureml://connections/c1/credentials/KEY}}'), /must be the whole value/);
    assert.match(problem('${{keyvault:https://kv1.vault.azure.net/secrets/s}}-suffix'), /must be the whole value/);
  });

  it('secretVariables lists the referenced and malformed variables of environment_variables, in order', () => {
    const found = secretVariables({ A: 'plain', B: '${{azureml://connections/c1/target}}', C: '${{azureml://connections/}}', D: '${{inputs.x}}' });
    assert.deepEqual(
      found.map((item) => [item.variable, item.parsed.kind]),
      [
        ['B', 'reference'],
        ['C', 'malformed'],
      ],
    );
  });
});

describe('referenceValueCommand: the oep command that prints a reference\'s value', () => {
  it('names the part of the connection, the whole connection, or the Key Vault secret', () => {
    assert.equal(referenceValueCommand('${{azureml://connections/c1/credentials/OPENAI_API_KEY}}'), `oep connection show -n c1 --show-secrets -o tsv --query 'credentials.keys."OPENAI_API_KEY"'`);
    assert.equal(referenceValueCommand('${{azureml://connections/c1/credentials/key}}'), 'oep connection show -n c1 --show-secrets -o tsv --query credentials.key');
    assert.equal(referenceValueCommand('${{azureml://connections/c1/metadata/V}}'), `oep connection show -n c1 --show-secrets -o tsv --query 'metadata."V"'`);
    assert.equal(referenceValueCommand('${{azureml://connections/c1/target}}'), 'oep connection show -n c1 --show-secrets -o tsv --query target');
    assert.equal(referenceValueCommand('${{azureml://connections/c1}}'), 'oep connection show -n c1 --list-secrets -o json');
    assert.equal(referenceValueCommand('${{keyvault:https://kv1.vault.azure.net/secrets/s1}}'), 'oep keyvault secret show --id https://kv1.vault.azure.net/secrets/s1 --query value -o tsv');
    assert.equal(referenceValueCommand('plain'), undefined);
    assert.equal(referenceValueCommand('${{azureml://connections/}}'), undefined);
  });
});
