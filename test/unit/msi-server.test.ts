import assert from 'node:assert/strict';
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { answerMsi, MsiServer, type MsiCaller, type MsiOptions } from '../../src/identity/msi-server.js';
import type { SourcedToken } from '../../src/identity/token-sources.js';
import { OepError } from '../../src/errors.js';
import { endpointResourceId, type EndpointIdentity, type TokenSubject } from '../../src/model/identity.js';
import { msiSocketPathFor } from '../../src/state/paths.js';
import { prerequisiteSkip } from '../prerequisites.js';

const UAI = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id';
const NOW_MS = 1_700_000_000_000;
const NOW_S = NOW_MS / 1000;

const systemIdentity: EndpointIdentity = {
  type: 'system_assigned',
  tenant_id: 'tenant-1',
  system: { principal_id: 'sys-principal', client_id: 'sys-client' },
  user_assigned_identities: [],
};
const userIdentity: EndpointIdentity = {
  type: 'user_assigned',
  tenant_id: 'tenant-1',
  system: { principal_id: 'unused-principal', client_id: 'unused-client' },
  user_assigned_identities: [{ resource_id: UAI, client_id: 'uai-client', principal_id: 'uai-principal' }],
};
const callers: MsiCaller[] = [
  { endpoint: 'ep', deployment: 'blue', secret: 'secret-blue', identity: systemIdentity },
  { endpoint: 'ep', deployment: 'green', secret: 'secret-green', identity: systemIdentity },
  { endpoint: 'uep', deployment: 'blue', secret: 'secret-uai', identity: userIdentity },
];

/** A token source that says whom it was asked for, so tests see the mapping. */
function fakeOptions(overrides: Partial<MsiOptions> = {}): MsiOptions & { asked: { resource: string; subject: TokenSubject; caller: string }[]; lines: string[] } {
  const asked: { resource: string; subject: TokenSubject; caller: string }[] = [];
  const lines: string[] = [];
  return {
    asked,
    lines,
    callers: () => callers,
    token: async (resource, subject, caller): Promise<SourcedToken> => {
      asked.push({ resource, subject, caller: `${caller.endpoint}/${caller.deployment}` });
      return { token: `token-for-${subject.client_id}`, expires_on: NOW_S + 3600, source: 'local' };
    },
    now: () => NOW_MS,
    log: (line) => lines.push(line),
    ...overrides,
  };
}

async function ask(url: string, headers: IncomingHttpHeaders = { secret: 'secret-blue' }, options = fakeOptions(), method = 'GET') {
  const answer = await answerMsi({ method, url, headers }, options);
  return { ...answer, json: JSON.parse(answer.body) as Record<string, unknown>, options };
}

describe('MSI endpoint answers', () => {
  it('answers azure-identity\'s request with the token, both expiry forms (consistent), the resource as asked and Bearer', async () => {
    const { status, headers, json, options } = await ask('/MSI/auth?api-version=2017-09-01&resource=https%3A%2F%2Fstorage.azure.com');
    assert.equal(status, 200);
    assert.equal(headers['content-type'], 'application/json');
    assert.deepEqual(json, { access_token: 'token-for-sys-client', expires_in: 3600, expires_on: NOW_S + 3600, resource: 'https://storage.azure.com', token_type: 'Bearer', client_id: 'sys-client' });
    assert.deepEqual(options.asked, [
      { resource: 'https://storage.azure.com', subject: { principal_id: 'sys-principal', client_id: 'sys-client', tenant_id: 'tenant-1', resource_id: endpointResourceId('ep') }, caller: 'ep/blue' },
    ]);
  });

  it('takes Microsoft\'s sample: no api-version, an unencoded resource, a Metadata: true header', async () => {
    // (Header names arrive lowercased from node's parser: the listener test sends "Secret".)
    const { status, json, options } = await ask('/MSI/auth?resource=https://storage.azure.com/', { secret: 'secret-green', metadata: 'true' });
    assert.equal(status, 200);
    assert.equal(json.resource, 'https://storage.azure.com/');
    assert.equal(options.asked[0]!.caller, 'ep/green');
  });

  it('maps clientid (and client_id, mi_res_id, object_id) to the endpoint\'s identity; none is the default identity', async () => {
    const byClientId = await ask('/MSI/auth?resource=r&clientid=UAI-CLIENT', { secret: 'secret-uai' });
    assert.equal(byClientId.status, 200);
    assert.deepEqual(byClientId.options.asked[0]!.subject, { principal_id: 'uai-principal', client_id: 'uai-client', tenant_id: 'tenant-1', resource_id: UAI });
    assert.equal(byClientId.json.client_id, 'uai-client');
    for (const query of ['client_id=uai-client', `mi_res_id=${encodeURIComponent(UAI)}`, `msi_res_id=${encodeURIComponent(UAI)}`, 'object_id=uai-principal', '']) {
      const answer = await ask(`/MSI/auth?resource=r&${query}`, { secret: 'secret-uai' });
      assert.equal(answer.status, 200, query);
      assert.equal(answer.options.asked[0]!.subject.principal_id, 'uai-principal', query);
    }
    const system = await ask('/MSI/auth?resource=r&clientid=sys-client');
    assert.equal(system.options.asked[0]!.subject.principal_id, 'sys-principal');
  });

  it('refuses a client id the endpoint does not have: 404 JSON naming the identities it has, no token asked', async () => {
    const { status, json, options } = await ask('/MSI/auth?api-version=2017-09-01&resource=r&clientid=00000000-0000-0000-0000-000000000000');
    assert.equal(status, 404);
    assert.equal(json.error, 'invalid_client');
    assert.match(String(json.error_description), /^Endpoint ep has no managed identity with client id 00000000-0000-0000-0000-000000000000; its system-assigned identity has client id sys-client\.$/);
    assert.deepEqual(options.asked, []);
    // A user_assigned endpoint has no system identity to hand out.
    const uai = await ask('/MSI/auth?resource=r&clientid=unused-client', { secret: 'secret-uai' });
    assert.equal(uai.status, 404);
    assert.match(String(uai.json.error_description), /user-assigned identities have client ids uai-client \(app-id\)/);
    const unknownResource = await ask('/MSI/auth?resource=r&mi_res_id=/subscriptions/x', { secret: 'secret-uai' });
    assert.equal(unknownResource.status, 404);
  });

  it('refuses a missing, empty, wrong or repeated secret with 401 before looking at anything else, and never logs it', async () => {
    for (const headers of [{}, { secret: '' }, { secret: 'secret-blu' }, { secret: 'secret-blue-' }, { secret: ['secret-blue', 'secret-blue'] }] as IncomingHttpHeaders[]) {
      const { status, json, options } = await ask('/MSI/auth?api-version=1999-01-01', headers);
      assert.equal(status, 401, JSON.stringify(headers));
      assert.equal(json.error, 'invalid_secret');
      assert.match(String(json.error_description), /^Invalid secret token header: /);
      assert.deepEqual(options.asked, []);
      assert.ok(!options.lines.join('\n').includes('secret-blu'), options.lines.join('\n'));
    }
  });

  it('refuses an unknown api-version and a missing resource with 400 JSON; accepts 2018-02-01 and none', async () => {
    const version = await ask('/MSI/auth?api-version=2019-08-01&resource=r');
    assert.equal(version.status, 400);
    assert.deepEqual(Object.keys(version.json), ['error', 'error_description']);
    assert.match(String(version.json.error_description), /api-version 2019-08-01 is not supported .*2017-09-01 or 2018-02-01, or none/);
    for (const url of ['/MSI/auth?api-version=2017-09-01', '/MSI/auth?resource=', '/MSI/auth?resource=%20']) {
      const missing = await ask(url);
      assert.equal(missing.status, 400, url);
      assert.match(String(missing.json.error_description), /resource parameter is missing/);
    }
    assert.equal((await ask('/MSI/auth?api-version=2018-02-01&resource=r')).status, 200);
    assert.equal((await ask('/MSI/token?api-version=&resource=r')).status, 200);
  });

  it('answers 404 elsewhere and 405 to other methods; never a status azure-core retries', async () => {
    assert.equal((await ask('/metadata/identity/oauth2/token?resource=r')).status, 404);
    const post = await ask('/MSI/auth?resource=r', { secret: 'secret-blue' }, fakeOptions(), 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    const failing = await ask('/MSI/auth?resource=r', { secret: 'secret-blue' }, fakeOptions({ token: async () => Promise.reject(new Error('the Azure CLI is not logged in')) }));
    assert.equal(failing.status, 400);
    assert.deepEqual(failing.json, { error: 'token_unavailable', error_description: 'oep could not get a token for r: the Azure CLI is not logged in.' });
    assert.match(failing.options.lines.join('\n'), /msi: ep\/blue: no token for r: the Azure CLI is not logged in/);
  });

  it('gives expires_in from expires_on and the clock, so a cached token\'s two agree', async () => {
    const options = fakeOptions({ token: async () => ({ token: 't', expires_on: NOW_S + 1000, source: 'az' }) });
    const { json, options: used } = await ask('/MSI/auth?resource=r', { secret: 'secret-blue' }, options);
    assert.equal(json.expires_in, 1000);
    assert.equal(json.expires_on, NOW_S + 1000);
    assert.match(used.lines.join('\n'), /msi: ep\/blue: token for r as client id sys-client \(from the Azure CLI\), expires in 1000 s/);
    assert.ok(!used.lines.join('\n').includes('"t"'));
  });
});

describe('MSI listener', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oep-msi-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function get(target: { port: number } | { socketPath: string }, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socketPath }), path, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves on 127.0.0.1 and on a socket any uid may use inside a 0700 folder; keeps its port across restarts', async () => {
    const portFile = join(dir, 'home', 'msi', 'port');
    const socketPath = join(dir, 'home', 'msi', 'socket', 'msi.sock');
    const first = await MsiServer.start({ ...fakeOptions(), portFile, socketPath });
    try {
      assert.equal(first.url, `http://127.0.0.1:${first.port}/MSI/auth`);
      assert.equal((await readFile(portFile, 'utf8')).trim(), String(first.port));
      assert.equal((await stat(join(dir, 'home', 'msi'))).mode & 0o777, 0o700);
      assert.equal((await stat(first.socketDir)).mode & 0o777, 0o711);
      assert.equal((await stat(socketPath)).mode & 0o777, 0o666);
      for (const target of [{ port: first.port }, { socketPath }]) {
        const answer = await get(target, '/MSI/auth?resource=https://vault.azure.net', { Secret: 'secret-green' });
        assert.equal(answer.status, 200);
        assert.equal((JSON.parse(answer.body) as { access_token: string }).access_token, 'token-for-sys-client');
        assert.equal((await get(target, '/MSI/auth?resource=r', {})).status, 401);
      }
    } finally {
      await first.close();
    }
    // The next daemon: the same port (a stale socket file is replaced).
    const second = await MsiServer.start({ ...fakeOptions(), portFile, socketPath });
    try {
      assert.equal(second.port, first.port);
      assert.equal((await get({ socketPath }, '/MSI/auth?resource=r', { secret: 'secret-blue' })).status, 200);
    } finally {
      await second.close();
    }
  });

  it('puts the socket in OEP_HOME/msi/socket, or for a long OEP_HOME in the per-user folder of the temp directory', () => {
    assert.equal(msiSocketPathFor('/home/ada/.local/state/oep', '/tmp', 1000), '/home/ada/.local/state/oep/msi/socket/msi.sock');
    const long = `/work/${'x'.repeat(90)}/oep`;
    assert.match(msiSocketPathFor(long, '/tmp', 1000), /^\/tmp\/oep-1000\/[0-9a-f]{16}-msi\/socket\/msi\.sock$/);
    assert.notEqual(msiSocketPathFor(long, '/tmp', 1000), msiSocketPathFor(`${long}2`, '/tmp', 1000));
  });

  it('refuses a socket folder that another user made, and starts nothing', { skip: prerequisiteSkip('the foreign MSI folder test', process.getuid?.() !== 0 && 'needs root to make a folder of another user') }, async () => {
    const home = join(dir, 'foreign');
    await mkdir(join(home, 'msi'), { recursive: true });
    await chown(join(home, 'msi'), 65534, 65534);
    await assert.rejects(
      MsiServer.start({ ...fakeOptions(), portFile: join(home, 'msi', 'port'), socketPath: join(home, 'msi', 'socket', 'msi.sock') }),
      (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_DAEMON_UNAVAILABLE' && /msi \(where oep's managed-identity socket goes\) is not a folder of this user/.test(error.message),
    );
    // The temp directory's per-user folder is checked too.
    const shared = join(dir, 'shared', 'oep-1000');
    await mkdir(shared, { recursive: true });
    await chown(shared, 65534, 65534);
    await assert.rejects(MsiServer.start({ ...fakeOptions(), portFile: join(dir, 'shared-home', 'msi', 'port'), socketPath: join(shared, 'abc-msi', 'socket', 'msi.sock') }), /oep-1000 \(where oep's managed-identity socket goes\) is not a folder of this user/);
  });

  it('takes another port when its own is taken, and writes it down', async () => {
    const blocker = createServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    const portFile = join(dir, 'taken', 'msi', 'port');
    const socketPath = join(dir, 'taken', 'msi', 'socket', 'msi.sock');
    const options = fakeOptions();
    await MsiServer.start({ ...options, portFile, socketPath }).then((server) => server.close());
    await writeFile(portFile, `${taken}\n`);
    const server = await MsiServer.start({ ...options, portFile, socketPath });
    try {
      assert.notEqual(server.port, taken);
      assert.equal((await readFile(portFile, 'utf8')).trim(), String(server.port));
      assert.match(options.lines.join('\n'), new RegExp(`msi: port ${taken} \\(the last start's\\) is taken; listening on ${server.port}`));
    } finally {
      await server.close();
      blocker.close();
    }
  });
});
