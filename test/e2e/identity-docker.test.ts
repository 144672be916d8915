import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { msiSecret } from '../../src/state/secrets.js';
import { closeDockerSandbox, docker, dockerSkipReason, killDaemon, orphanContainers, sandboxContainers, TEST_RUN } from './docker-harness.js';
import { OepSandbox } from './harness.js';
import {
  askTokens,
  assertLocalToken,
  assertNothingSecret,
  assertSecretSeen,
  AZURE_IMAGE,
  endpointArmId,
  IDENTITY_FIXTURES,
  shownIdentity,
  UAI_RESOURCE_ID,
  WRONG_CLIENT_ID,
  type ScriptAnswer,
} from './identity-support.js';

/**
 * The managed identity inside containers: MSI_ENDPOINT is 127.0.0.1:46808 in the container, which
 * oep's server forwards to the daemon's socket (mounted read-only), so it works on an internal
 * network without egress too. The image has Debian's azure-identity 1.13.0b2 (images/build.sh azure).
 */
const skip = await dockerSkipReason([AZURE_IMAGE]);

const DEPLOYMENT = join(IDENTITY_FIXTURES, 'deployment.yml');
const STORAGE = 'https://storage.azure.com';

describe('managed identity on the docker runtime', { skip }, () => {
  const oep = new OepSandbox();
  const seenTokens: string[] = [];
  let blue: ScriptAnswer;

  before(async () => {
    await oep.ok(['config', 'set', 'identity_source', 'local']);
    await oep.ok(['endpoint', 'create', '-f', join(IDENTITY_FIXTURES, 'endpoint-sai.yml'), '-o', 'none']);
    await oep.ok(['endpoint', 'create', '-f', join(IDENTITY_FIXTURES, 'endpoint-uai.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', DEPLOYMENT, '--runtime', 'docker', '--all-traffic', '-o', 'none']);
    // One that cannot reach anything outside its internal network: the token still comes.
    await oep.ok(['deployment', 'create', '-f', DEPLOYMENT, '-n', 'closed', '--set', 'egress_public_network_access=disabled', '--runtime', 'docker', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', DEPLOYMENT, '-e', 'mi-uai', '--runtime', 'docker', '--all-traffic', '-o', 'none']);
  });
  after(async () => {
    const left = await closeDockerSandbox(oep);
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it('a system-assigned endpoint: ManagedIdentityCredential, DefaultAzureCredential and Microsoft\'s sample in a container', async () => {
    const identity = await shownIdentity(oep, 'mi-sai');
    blue = await askTokens(oep, 'mi-sai', 'blue', { sample: true, wrong_client_id: WRONG_CLIENT_ID });
    assert.equal(blue.env.MSI_ENDPOINT, 'http://127.0.0.1:46808/MSI/auth');
    assert.equal(blue.env.IDENTITY_ENDPOINT, null);
    assert.deepEqual(blue.azure_variables, []);
    assertSecretSeen(oep, blue, 'mi-sai', 'blue');
    const who = { oid: identity.principal_id!, appid: blue.env.DEFAULT_IDENTITY_CLIENT_ID!, tid: identity.tenant_id, mirid: endpointArmId('mi-sai') };
    assertLocalToken(blue.managed_identity, who, STORAGE);
    assertLocalToken(blue.default_credential, who, STORAGE);
    assert.equal(blue.sample?.status, 200);
    assert.equal(blue.sample?.claims.oid, who.oid);
    assert.equal(blue.wrong_client_id?.error, 'ClientAuthenticationError');
    assert.match(blue.wrong_client_id?.message ?? '', new RegExp(`has no managed identity with client id ${WRONG_CLIENT_ID}`));
    seenTokens.push(blue.managed_identity.token, blue.default_credential.token, blue.sample!.body.access_token as string);
  });

  it('the container mounts only the socket\'s folder, read-only, and publishes nothing for it', async () => {
    const [container] = (await sandboxContainers(oep, false)).filter((info) => info.Labels['oep.endpoint'] === 'mi-sai' && info.Labels['oep.deployment'] === 'blue');
    const info = await docker.getContainer(container!.Id).inspect();
    const mount = info.Mounts.find((item) => item.Destination === '/var/run/oep-msi');
    assert.equal(mount?.RW, false);
    assert.equal(mount?.Source, join(oep.home, 'msi', 'socket'));
    const published = Object.values(info.NetworkSettings.Ports ?? {}).flat().filter(Boolean);
    assert.ok(published.every((binding) => binding!.HostIp === '127.0.0.1'), JSON.stringify(published));
    assert.equal(published.length, 1, 'only the scoring port is published');
  });

  it('a container that runs as another user than root (and than the daemon\'s) reaches the socket all the same', async () => {
    // The request a deployment's forwarder passes on, sent straight to the socket by uid 1234.
    const script = [
      'import socket, sys',
      's = socket.socket(socket.AF_UNIX)',
      "s.connect('/var/run/oep-msi/msi.sock')",
      "s.sendall(b'GET /MSI/auth?resource=https://vault.azure.net HTTP/1.1\\r\\nHost: x\\r\\nsecret: ' + sys.argv[1].encode() + b'\\r\\nConnection: close\\r\\n\\r\\n')",
      "print(s.recv(65536).split(b'\\r\\n')[0].decode())",
    ].join('\n');
    const container = await docker.createContainer({
      Image: AZURE_IMAGE,
      User: '1234:1234',
      Cmd: ['python3', '-c', script, msiSecret(oep.home, 'mi-sai', 'blue')],
      Labels: { 'oep.test-run': TEST_RUN },
      HostConfig: { Binds: [`${join(oep.home, 'msi', 'socket')}:/var/run/oep-msi:ro`], NetworkMode: 'none' },
    });
    try {
      await container.start();
      const exit = (await container.wait()) as { StatusCode: number };
      const output = (await container.logs({ stdout: true, stderr: true })).toString('latin1');
      assert.equal(exit.StatusCode, 0, output);
      assert.match(output, /HTTP\/1\.1 200 OK/);
    } finally {
      await container.remove({ force: true });
    }
  });

  it('egress_public_network_access: disabled: the token comes all the same', async () => {
    const identity = await shownIdentity(oep, 'mi-sai');
    const closed = await askTokens(oep, 'mi-sai', 'closed', { sample: true });
    assertSecretSeen(oep, closed, 'mi-sai', 'closed');
    assertLocalToken(closed.managed_identity, { oid: identity.principal_id!, appid: closed.env.DEFAULT_IDENTITY_CLIENT_ID!, tid: identity.tenant_id, mirid: endpointArmId('mi-sai') }, STORAGE);
    assert.equal(closed.sample?.status, 200);
    seenTokens.push(closed.managed_identity.token);
  });

  it('a user-assigned endpoint: tokens for the identity it names', async () => {
    const identity = await shownIdentity(oep, 'mi-uai');
    const assigned = identity.user_assigned_identities![0]!;
    const answer = await askTokens(oep, 'mi-uai', 'blue', { client_id: assigned.client_id, wrong_client_id: WRONG_CLIENT_ID });
    assert.equal(answer.env.DEFAULT_IDENTITY_CLIENT_ID, assigned.client_id);
    assertLocalToken(answer.by_client_id!, { oid: assigned.principal_id, appid: assigned.client_id, tid: identity.tenant_id, mirid: UAI_RESOURCE_ID }, STORAGE);
    assert.equal(answer.wrong_client_id?.error, 'ClientAuthenticationError');
    seenTokens.push(answer.by_client_id!.token);
  });

  it('an adopted container still gets tokens after the daemon is killed (a new socket in the same mounted folder)', async () => {
    await killDaemon(oep);
    await oep.ok(['endpoint', 'show', '-n', 'mi-sai', '-o', 'none']);
    const again = await askTokens(oep, 'mi-sai', 'blue', { sample: true });
    assert.deepEqual([again.host, again.pid], [blue.host, blue.pid], 'the same container answers (adopted)');
    assert.equal(again.managed_identity.claims.oid, blue.managed_identity.claims.oid);
    assert.equal(again.sample?.status, 200);
    assert.match(readFileSync(join(oep.home, 'daemon.log'), 'utf8'), /mi-sai\/blue: replica 0 adopted from an earlier daemon \([0-9a-f]{12}\)/);
    seenTokens.push(again.managed_identity.token);
  });

  it('no MSI secret and no token in files, show, logs, the dashboard or the export', async () => {
    const secrets = [msiSecret(oep.home, 'mi-sai', 'blue'), msiSecret(oep.home, 'mi-sai', 'closed'), msiSecret(oep.home, 'mi-uai', 'blue'), ...seenTokens];
    await assertNothingSecret(oep, 'mi-sai', ['blue', 'closed'], secrets);
    await assertNothingSecret(oep, 'mi-uai', ['blue'], secrets);
  });
});
