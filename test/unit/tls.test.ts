import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { parseTlsFlag } from '../../src/engine/tls-flag.js';
import { OepError } from '../../src/errors.js';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { Router, type EndpointRoute } from '../../src/router/router.js';
import { makeCa, makeServerCertificate, serverCertificateProblem, SERVER_VALIDITY_DAYS } from '../../src/tls/certificates.js';
import { endpointCertificate, localCa, removeEndpointCertificate } from '../../src/tls/local-ca.js';
import { caCertificateFile, caPrivateFile, endpointCertificateFile, tlsDir } from '../../src/tls/paths.js';
import { replicaAt } from './router-support.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'oep-tls-'));
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

describe('certificates (src/tls/certificates.ts)', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  const ca = makeCa(now);
  const server = makeServerCertificate(ca, 'My-Endpoint', now);
  const caCert = new X509Certificate(ca.cert);
  const cert = new X509Certificate(server.cert);

  it('the CA is a CA (critical basic constraints) valid for 10 years', () => {
    assert.equal(caCert.ca, true);
    assert.match(caCert.subject, /^CN=oep local CA [0-9a-f]{8}\nO=oep \(local development only\)$/);
    assert.equal(caCert.subject, caCert.issuer);
    assert.equal(new Date(caCert.validFrom).toISOString(), '2026-12-07T11:00:00.000Z');
    assert.equal(new Date(caCert.validTo).toISOString(), new Date(now + 3650 * DAY_MS).toISOString().replace(/\.\d+Z$/, '.000Z'));
  });

  it("an endpoint's certificate is for 127.0.0.1, localhost and <endpoint>.localhost, signed by the CA", () => {
    assert.equal(cert.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost, DNS:my-endpoint.localhost');
    assert.equal(cert.subject, 'CN=my-endpoint.localhost\nO=oep (local development only)');
    assert.equal(cert.issuer, caCert.subject);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkHost('my-endpoint.localhost'), 'my-endpoint.localhost');
    assert.equal(cert.checkHost('other.localhost'), undefined);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it(`is valid from an hour back for ${SERVER_VALIDITY_DAYS} days`, () => {
    assert.equal(new Date(cert.validFrom).toISOString(), '2026-12-07T11:00:00.000Z');
    assert.equal(new Date(cert.validTo).toISOString(), '2028-01-08T12:00:00.000Z');
  });

  it('is checked: good; not by another CA; not for another endpoint; renewed 30 days before its end', () => {
    assert.equal(serverCertificateProblem(server, ca.cert, 'My-Endpoint', now), undefined);
    assert.equal(serverCertificateProblem(server, makeCa(now).cert, 'My-Endpoint', now), 'not signed by the local CA');
    assert.equal(serverCertificateProblem(server, ca.cert, 'other', now), 'not valid for 127.0.0.1, localhost, other.localhost');
    assert.equal(serverCertificateProblem({ cert: server.cert, key: ca.key }, ca.cert, 'My-Endpoint', now), 'its private key does not belong to it');
    assert.equal(serverCertificateProblem(server, ca.cert, 'My-Endpoint', now + 367 * DAY_MS), undefined);
    assert.equal(serverCertificateProblem(server, ca.cert, 'My-Endpoint', now + 368 * DAY_MS), 'it expires on 2028-01-08T12:00:00.000Z');
  });
});

describe('the local CA and endpoint certificates under OEP_HOME/tls (src/tls/local-ca.ts)', () => {
  const home = tempHome();
  after(() => rmSync(home, { recursive: true, force: true }));

  it('makes the CA once: ca-key.pem 0600, ca.pem the certificate alone (0600 too, as every file of OEP_HOME), the folder 0700', () => {
    const umask = process.umask(0o022);
    let ca;
    try {
      ca = localCa(home);
    } finally {
      process.umask(umask);
    }
    assert.equal(modeOf(tlsDir(home)), '700');
    assert.equal(modeOf(caPrivateFile(home)), '600');
    assert.equal(modeOf(caCertificateFile(home)), '600');
    assert.equal(readFileSync(caCertificateFile(home), 'utf8'), ca.cert);
    assert.doesNotMatch(readFileSync(caCertificateFile(home), 'utf8'), /PRIVATE KEY/);
    assert.deepEqual(localCa(home), ca);
  });

  it('gives the same CA to another process (a daemon restart), and ca.pem is written again if removed', async () => {
    const first = localCa(home);
    rmSync(caCertificateFile(home));
    const script = `import { localCa } from ${JSON.stringify(new URL('../../src/tls/local-ca.js', import.meta.url).href)}; process.stdout.write(localCa(process.argv[1]).cert);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, home]);
    assert.equal(stdout, first.cert);
    assert.equal(readFileSync(caCertificateFile(home), 'utf8'), first.cert);
  });

  it('two processes making a new CA at once agree on one', async () => {
    const fresh = tempHome();
    try {
      const script = `import { localCa } from ${JSON.stringify(new URL('../../src/tls/local-ca.js', import.meta.url).href)}; process.stdout.write(localCa(process.argv[1]).cert);`;
      const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, fresh]);
      const [a, b] = await Promise.all([run(), run()]);
      assert.equal(a.stdout, b.stdout);
      assert.equal(readFileSync(caCertificateFile(fresh), 'utf8'), a.stdout);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("keeps an endpoint's certificate (0600) across calls, signed by the home's CA", () => {
    const pair = endpointCertificate(home, 'blue-endpoint');
    const file = endpointCertificateFile(home, 'blue-endpoint');
    assert.equal(modeOf(file), '600');
    assert.equal(readFileSync(file, 'utf8'), `${pair.cert}${pair.key}`);
    assert.deepEqual(endpointCertificate(home, 'blue-endpoint'), pair);
    assert.ok(new X509Certificate(pair.cert).verify(new X509Certificate(localCa(home).cert).publicKey));
  });

  it('makes it again when it nears its end or is damaged; removes it with the endpoint', () => {
    // Made 380 days ago: 17 days left.
    const old = makeServerCertificate(localCa(home), 'renewed', Date.now() - 380 * DAY_MS);
    writeFileSync(endpointCertificateFile(home, 'renewed'), `${old.cert}${old.key}`);
    const renewed = endpointCertificate(home, 'renewed');
    assert.notEqual(renewed.cert, old.cert);
    assert.equal(serverCertificateProblem(renewed, localCa(home).cert, 'renewed'), undefined);
    assert.equal(readFileSync(endpointCertificateFile(home, 'renewed'), 'utf8'), `${renewed.cert}${renewed.key}`);
    writeFileSync(endpointCertificateFile(home, 'renewed'), 'not a certificate');
    const remade = endpointCertificate(home, 'renewed');
    assert.equal(serverCertificateProblem(remade, localCa(home).cert, 'renewed'), undefined);
    removeEndpointCertificate(home, 'renewed');
    assert.throws(() => statSync(endpointCertificateFile(home, 'renewed')), { code: 'ENOENT' });
  });

  it('a damaged CA file: OEP_ERR_TLS_UNAVAILABLE naming the file and the fix, never the key', () => {
    const damaged = tempHome();
    try {
      const ca = localCa(damaged);
      const other = makeCa();
      // The CA's certificate with another key.
      writeFileSync(caPrivateFile(damaged), `${other.key}${ca.cert}`);
      assert.throws(
        () => endpointCertificate(damaged, 'x'),
        (error: unknown) => {
          assert.ok(error instanceof OepError);
          assert.equal(error.code, 'OEP_ERR_TLS_UNAVAILABLE');
          assert.equal(error.exitCode, 1);
          assert.equal(error.message, `oep's local CA (${caPrivateFile(damaged)}) cannot be used: its private key does not belong to its certificate.`);
          assert.equal(error.hint, `Remove ${tlsDir(damaged)} to make a new CA (oep daemon stop first; clients then need the new ${caCertificateFile(damaged)}: oep ca path).`);
          assert.doesNotMatch(JSON.stringify(error.toJSON()), /PRIVATE KEY|MII/);
          return true;
        },
      );
    } finally {
      rmSync(damaged, { recursive: true, force: true });
    }
  });
});

describe('--tls on|off', () => {
  it('parses on and off; anything else is a usage error (exit 2)', () => {
    assert.equal(parseTlsFlag(undefined), undefined);
    assert.equal(parseTlsFlag('on'), true);
    assert.equal(parseTlsFlag('off'), false);
    assert.throws(() => parseTlsFlag('yes'), (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_USAGE' && error.exitCode === 2 && error.message === '--tls "yes" is not on or off.');
  });
});

/** One request; resolves with the status, body and the certificate the server showed (HTTPS). */
function call(url: string, options: { ca?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; serial?: string }> {
  return new Promise((resolve, reject) => {
    const body = options.body ?? '{"x":1}';
    const headers: Record<string, string> = { authorization: 'Bearer key-1', 'content-type': 'application/json', ...options.headers };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const serial = 'getPeerCertificate' in res.socket ? (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber : undefined;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ...(serial && { serial }) }));
    };
    const req = url.startsWith('https:')
      ? httpsRequest(url, { method: 'POST', headers, agent: false, ...(options.ca && { ca: options.ca }) }, onResponse)
      : httpRequest(url, { method: 'POST', headers, agent: false }, onResponse);
    req.once('error', reject);
    if (headers['transfer-encoding'] === 'chunked') {
      req.write(body.slice(0, 3));
      req.end(body.slice(3));
    } else req.end(body);
  });
}

for (const leanPath of [true, false]) {
  describe(`the router over HTTPS (${leanPath ? 'lean path' : "Node's http server path"})`, () => {
    const home = tempHome();
    let upstream: Server;
    let router: Router;
    let port: number;
    let route: EndpointRoute;
    let ca: string;

    before(async () => {
      upstream = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: Buffer.concat(chunks).toString() })));
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const address = upstream.address() as { port: number };
      const replica = replicaAt(`http://127.0.0.1:${address.port}`);
      router = new Router({ replicas: () => [replica], leanPath });
      port = await findFreePort();
      ca = localCa(home).cert;
      route = {
        name: 'secure',
        port,
        authMode: 'key',
        keys: { primary: 'key-1', secondary: 'key-2' },
        tokenSecret: 'x',
        traffic: { blue: 100 },
        mirror: {},
        deployments: { blue: { requestTimeoutMs: 5000, maxConcurrentPerInstance: 10, instanceCount: 1 } },
        tls: endpointCertificate(home, 'secure'),
      };
      await router.upsert(route);
    });

    after(async () => {
      await router.close();
      await new Promise((resolve) => upstream.close(resolve));
      rmSync(home, { recursive: true, force: true });
    });

    it('answers HTTPS for a client that trusts the CA, by 127.0.0.1 and by localhost', async () => {
      assert.deepEqual(await call(`https://127.0.0.1:${port}/score`, { ca }).then(({ status, body }) => ({ status, body })), { status: 200, body: '{"echo":"{\\"x\\":1}"}' });
      assert.equal((await call(`https://localhost:${port}/score`, { ca })).status, 200);
    });

    it('a chunked body goes to the fallback on the decrypted socket', async () => {
      const reply = await call(`https://127.0.0.1:${port}/score`, { ca, body: '{"chunked":true}', headers: { 'transfer-encoding': 'chunked' } });
      assert.deepEqual({ status: reply.status, body: reply.body }, { status: 200, body: '{"echo":"{\\"chunked\\":true}"}' });
    });

    it('refuses a client that does not trust the CA (the handshake fails)', async () => {
      await assert.rejects(call(`https://127.0.0.1:${port}/score`), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    });

    it('a plain HTTP request to the HTTPS port: 400 that says so, then the connection ends', async () => {
      assert.deepEqual(await call(`http://127.0.0.1:${port}/score`), {
        status: 400,
        body: JSON.stringify({
          message: `This endpoint speaks HTTPS: the plain HTTP request was sent to an HTTPS port. Use https://127.0.0.1:${port}/ and trust oep's local CA (oep ca path).`,
        }),
      });
    });

    it('speaks HTTP/1.1 in ALPN', async () => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2', 'http/1.1'] });
      await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      assert.equal(socket.alpnProtocol, 'http/1.1');
      socket.destroy();
    });

    it('a renewed certificate serves the connections from then on', async () => {
      const before = (await call(`https://127.0.0.1:${port}/score`, { ca })).serial;
      const renewed = makeServerCertificate(localCa(home), 'secure');
      await router.upsert({ ...route, tls: renewed });
      const after = (await call(`https://127.0.0.1:${port}/score`, { ca })).serial;
      assert.notEqual(after, before);
      assert.equal(after, new X509Certificate(renewed.cert).serialNumber);
    });

    it('TLS off and on again: the same port answers HTTP, then HTTPS', async () => {
      const { tls, ...plain } = route;
      await router.upsert(plain);
      assert.equal((await call(`http://127.0.0.1:${port}/score`)).status, 200);
      // An https client on the HTTP port: Node's server answers 400 in plain text, which is no TLS record.
      await assert.rejects(call(`https://127.0.0.1:${port}/score`, { ca }), { code: 'EPROTO' });
      await router.upsert({ ...plain, tls: tls! });
      assert.equal((await call(`https://127.0.0.1:${port}/score`, { ca })).status, 200);
    });
  });
}
