import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prerequisiteSkip } from '../prerequisites.js';
import { eventually, OepSandbox } from './harness.js';
import {
  askTokens,
  assertLocalToken,
  assertNothingSecret,
  assertSecretSeen,
  endpointArmId,
  IDENTITY_FIXTURES,
  shownIdentity,
  STAND_IN_AZ_DIR,
  UAI_RESOURCE_ID,
  WRONG_CLIENT_ID,
  type ScriptAnswer,
} from './identity-support.js';
import { msiSecret } from '../../src/state/secrets.js';

/**
 * The managed identity inside deployments on the process runtime, with the SDK Azure ML's users
 * have: Debian's python3-azure (azure-identity 1.13.0b2) and python3-requests on /usr/bin/python3.
 */
const HOST_PYTHON = '/usr/bin/python3';
const importable = existsSync(HOST_PYTHON) && spawnSync(HOST_PYTHON, ['-c', 'import azure.identity, requests'], { stdio: 'ignore' }).status === 0;
const skip = prerequisiteSkip('managed identity tests (process runtime)', !importable && `${HOST_PYTHON} cannot import azure.identity and requests (apt-get install python3-azure python3-requests)`);

const DEPLOYMENT = join(IDENTITY_FIXTURES, 'deployment.yml');
const STORAGE = 'https://storage.azure.com';

/** The notice lines of a command's stderr that are about the managed identity. */
function identityNotices(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('managed identity'));
}

/** Kills the daemon with SIGKILL, as a crash would, and waits until it is gone. */
async function killDaemon(oep: OepSandbox): Promise<void> {
  const pid = Number((await oep.ok(['daemon', 'status', '--query', 'pid', '-o', 'tsv'])).trim());
  process.kill(pid, 'SIGKILL');
  await eventually('the killed daemon to be reaped', async () => (existsSync(`/proc/${pid}`) ? undefined : true), 20_000);
}

describe('managed identity on the process runtime (local tokens)', { skip }, () => {
  // The developer's shell has credentials of its own: none may reach a replica (DefaultAzureCredential
  // would take the service principal instead of the managed identity, and App Service's variables
  // would hide Azure ML's).
  const oep = new OepSandbox({
    OEP_PYTHON: HOST_PYTHON,
    AZURE_CLIENT_ID: 'ffffffff-0000-4000-8000-00000000000f',
    AZURE_CLIENT_SECRET: 'developer-secret',
    AZURE_TENANT_ID: 'ffffffff-0000-4000-8000-0000000000aa',
    IDENTITY_ENDPOINT: 'http://127.0.0.1:1/app-service',
    IDENTITY_HEADER: 'app-service-header',
  });
  const seenTokens: string[] = [];
  let createStderr = '';
  let sai: ScriptAnswer;

  before(async () => {
    await oep.ok(['config', 'set', 'identity_source', 'local']);
    await oep.ok(['endpoint', 'create', '-f', join(IDENTITY_FIXTURES, 'endpoint-sai.yml'), '-o', 'none']);
    await oep.ok(['endpoint', 'create', '-f', join(IDENTITY_FIXTURES, 'endpoint-uai.yml'), '-o', 'none']);
    const created = await oep.run(['deployment', 'create', '-f', DEPLOYMENT, '--runtime', 'process', '--all-traffic', '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
    createStderr = created.stderr;
    await oep.ok(['deployment', 'create', '-f', DEPLOYMENT, '-e', 'mi-uai', '--runtime', 'process', '--all-traffic', '-o', 'none']);
  });
  after(() => oep.close());

  it('deployment create says once where the tokens come from', () => {
    const notices = identityNotices(createStderr);
    assert.equal(notices.length, 1, createStderr);
    assert.match(notices[0]!, /^notice: deployment blue: managed identity tokens \(MSI_ENDPOINT\) are oep's local tokens for endpoint mi-sai's identity \(client id [0-9a-f-]{36}; identity_source is local\): Azure services refuse them/);
  });

  it('a system-assigned endpoint: ManagedIdentityCredential, DefaultAzureCredential and Microsoft\'s sample get tokens for its identity', async () => {
    const identity = await shownIdentity(oep, 'mi-sai');
    assert.equal(identity.type, 'system_assigned');
    sai = await askTokens(oep, 'mi-sai', 'blue', { sample: true, wrong_client_id: WRONG_CLIENT_ID });
    assert.match(sai.env.MSI_ENDPOINT ?? '', /^http:\/\/127\.0\.0\.1:\d+\/MSI\/auth$/);
    assert.match(sai.env.DEFAULT_IDENTITY_CLIENT_ID ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(sai.env.IDENTITY_ENDPOINT, null);
    assert.equal(sai.env.IDENTITY_HEADER, null);
    assert.deepEqual(sai.azure_variables, []);
    assertSecretSeen(oep, sai, 'mi-sai', 'blue');
    const who = { oid: identity.principal_id!, appid: sai.env.DEFAULT_IDENTITY_CLIENT_ID!, tid: identity.tenant_id, mirid: endpointArmId('mi-sai') };
    // azure-identity asks for the scope without "/.default"; the sample for its resource as written.
    assertLocalToken(sai.managed_identity, who, STORAGE);
    assertLocalToken(sai.default_credential, who, STORAGE);
    assert.equal(sai.sample?.status, 200);
    assert.deepEqual(sai.sample?.keys, ['access_token', 'client_id', 'expires_in', 'expires_on', 'resource', 'token_type']);
    assert.equal(sai.sample?.body.resource, `${STORAGE}/`);
    assert.equal(sai.sample?.body.token_type, 'Bearer');
    assert.equal(sai.sample?.body.client_id, who.appid);
    const expiresIn = sai.sample?.body.expires_in as number;
    assert.ok(Number.isInteger(expiresIn) && Math.abs((sai.sample?.body.expires_on as number) - expiresIn - Date.now() / 1000) < 60, 'expires_in agrees with expires_on');
    assert.equal(sai.sample?.claims.aud, `${STORAGE}/`);
    assert.equal(sai.sample?.claims.oid, who.oid);
    assert.equal(sai.wrong_client_id?.error, 'ClientAuthenticationError');
    assert.match(sai.wrong_client_id?.message ?? '', new RegExp(`Endpoint mi-sai has no managed identity with client id ${WRONG_CLIENT_ID}`));
    seenTokens.push(sai.managed_identity.token, sai.default_credential.token, sai.sample!.body.access_token as string);
  });

  it('a user-assigned endpoint: tokens for the identity it names (ManagedIdentityCredential(client_id=...) and the default)', async () => {
    const identity = await shownIdentity(oep, 'mi-uai');
    const [assigned] = identity.user_assigned_identities ?? [];
    assert.equal(assigned?.resource_id, UAI_RESOURCE_ID);
    const answer = await askTokens(oep, 'mi-uai', 'blue', { client_id: assigned!.client_id, wrong_client_id: WRONG_CLIENT_ID, sample: true, sample_client_id: assigned!.client_id });
    assert.equal(answer.env.DEFAULT_IDENTITY_CLIENT_ID, assigned!.client_id);
    assertSecretSeen(oep, answer, 'mi-uai', 'blue');
    const who = { oid: assigned!.principal_id, appid: assigned!.client_id, tid: identity.tenant_id, mirid: UAI_RESOURCE_ID };
    assertLocalToken(answer.by_client_id!, who, STORAGE);
    assertLocalToken(answer.managed_identity, who, STORAGE);
    assert.equal(answer.sample?.claims.oid, assigned!.principal_id);
    assert.equal(answer.wrong_client_id?.error, 'ClientAuthenticationError');
    assert.match(answer.wrong_client_id?.message ?? '', /user-assigned identities have client ids/);
    // Two deployments' secrets differ: each names its own deployment.
    assert.notEqual(msiSecret(oep.home, 'mi-uai', 'blue'), msiSecret(oep.home, 'mi-sai', 'blue'));
    seenTokens.push(answer.by_client_id!.token, answer.managed_identity.token);
  });

  it('a replica adopted after the daemon is killed still gets tokens, from the same MSI_ENDPOINT', async () => {
    await killDaemon(oep);
    // The next command starts a daemon, which adopts the replica.
    await oep.ok(['endpoint', 'show', '-n', 'mi-sai', '-o', 'none']);
    const again = await askTokens(oep, 'mi-sai', 'blue', { sample: true });
    assert.equal(again.pid, sai.pid, 'the same replica process answers (adopted, not restarted)');
    assert.equal(again.env.MSI_ENDPOINT, sai.env.MSI_ENDPOINT);
    assert.equal(again.managed_identity.claims.oid, sai.managed_identity.claims.oid);
    assert.equal(again.sample?.status, 200);
    assert.match(readFileSync(join(oep.home, 'daemon.log'), 'utf8'), /mi-sai\/blue: replica 0 adopted from an earlier daemon/);
    seenTokens.push(again.managed_identity.token, again.default_credential.token);
  });

  it('another user of the host cannot reach the MSI socket, even in an OEP_HOME others may enter', { skip: prerequisiteSkip('the other-user MSI socket test', process.getuid?.() !== 0 && 'needs root to run a command as another user (setpriv)') }, async () => {
    chmodSync(oep.home, 0o755);
    try {
      const socketPath = join(oep.home, 'msi', 'socket', 'msi.sock');
      const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', HOST_PYTHON, '-c', `import socket; socket.socket(socket.AF_UNIX).connect(${JSON.stringify(socketPath)})`], { encoding: 'utf8' });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /PermissionError: \[Errno 13\] Permission denied/);
    } finally {
      chmodSync(oep.home, 0o700);
    }
  });

  it('no MSI secret and no token in files, show, logs, the dashboard or the export', async () => {
    const secrets = [msiSecret(oep.home, 'mi-sai', 'blue'), msiSecret(oep.home, 'mi-uai', 'blue'), ...seenTokens];
    await assertNothingSecret(oep, 'mi-sai', ['blue'], secrets);
    await assertNothingSecret(oep, 'mi-uai', ['blue'], secrets);
  });
});

describe('managed identity on the process runtime (the Azure CLI passed through)', { skip }, () => {
  const azLogDir = mkdtempSync(join(tmpdir(), 'oep-az-log-'));
  const azLog = join(azLogDir, 'calls');
  // identity_source auto (the default) with a logged-in az on PATH: the stand-in.
  const oep = new OepSandbox({ OEP_PYTHON: HOST_PYTHON, PATH: `${STAND_IN_AZ_DIR}:${process.env.PATH}`, OEP_TEST_AZ_LOG: azLog });
  let createStderr = '';

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(IDENTITY_FIXTURES, 'endpoint-sai.yml'), '-o', 'none']);
    const created = await oep.run(['deployment', 'create', '-f', DEPLOYMENT, '--runtime', 'process', '--all-traffic', '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
    createStderr = created.stderr;
  });
  after(async () => {
    await oep.close();
    rmSync(azLogDir, { recursive: true, force: true });
  });

  it('deployment create says the deployment acts as the developer', () => {
    assert.deepEqual(identityNotices(createStderr), [
      'notice: deployment blue: managed identity tokens (MSI_ENDPOINT) come from your Azure CLI login (developer@oep.test, az account get-access-token): the deployment acts as you, not as endpoint mi-sai\'s identity; "oep config set identity_source local" gives oep\'s local tokens instead',
    ]);
  });

  it('the script gets the Azure CLI\'s token for the resource it asks for, asked of az once per resource', async () => {
    const answer = await askTokens(oep, 'mi-sai', 'blue', { sample: true, wrong_client_id: WRONG_CLIENT_ID });
    for (const report of [answer.managed_identity, answer.default_credential]) {
      assert.equal(report.claims.stand_in, 'test/fixtures/identity/bin/az');
      assert.equal(report.claims.upn, 'developer@oep.test');
      assert.equal(report.claims.aud, STORAGE);
    }
    assert.equal(answer.sample?.claims.upn, 'developer@oep.test');
    assert.equal(answer.sample?.claims.aud, `${STORAGE}/`);
    // A client id the endpoint does not have is still refused: az is not even asked.
    assert.equal(answer.wrong_client_id?.error, 'ClientAuthenticationError');
    const calls = readFileSync(azLog, 'utf8').split('\n').filter((line) => line.startsWith('account get-access-token'));
    // Two credentials asked for https://storage.azure.com, the sample for https://storage.azure.com/.
    assert.deepEqual(calls.sort(), [`account get-access-token --resource ${STORAGE} -o json`, `account get-access-token --resource ${STORAGE}/ -o json`]);
    await assertNothingSecret(oep, 'mi-sai', ['blue'], [msiSecret(oep.home, 'mi-sai', 'blue'), answer.managed_identity.token]);
  });
});
