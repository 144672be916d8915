import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { freePort, httpRequest, ScoringServer, stopAllServers } from './harness.js';

/**
 * The managed identity's endpoint inside a container: with OEP_MSI_SOCKET and OEP_MSI_PORT,
 * oep-server passes 127.0.0.1:OEP_MSI_PORT on to the daemon's unix socket
 * (server/oep_server/msi_forward.py). Here a node server on a socket stands for the daemon.
 */
describe('oep-server: the MSI forwarder', () => {
  let dir: string;
  let socketPath: string;
  let daemon: Server | undefined;
  const seen: string[] = [];

  async function startDaemon(): Promise<void> {
    daemon = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} secret=${String(req.headers.secret)}`);
      const body = JSON.stringify({ access_token: 'tok', url: req.url, secret: req.headers.secret });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    });
    await new Promise<void>((done) => daemon!.listen(socketPath, () => done()));
  }

  async function stopDaemon(): Promise<void> {
    if (!daemon) return;
    daemon.closeAllConnections();
    await new Promise<void>((done) => daemon!.close(() => done()));
    daemon = undefined;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oep-msi-fwd-'));
    socketPath = join(dir, 'msi.sock');
  });
  afterEach(async () => {
    await stopAllServers();
    await stopDaemon();
    seen.length = 0;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('passes requests and answers through as they are, concurrent ones too', async () => {
    await startDaemon();
    const port = await freePort();
    const server = await ScoringServer.start({ fixture: 'environ', env: { OEP_MSI_SOCKET: socketPath, OEP_MSI_PORT: String(port) } });
    const answers = await Promise.all(
      [1, 2, 3, 4].map((n) => httpRequest(port, { path: `/MSI/auth?api-version=2017-09-01&resource=https://r${n}/`, headers: { secret: `s${n}`, Metadata: 'true' }, agent: false })),
    );
    answers.forEach((answer, index) => {
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json(), { access_token: 'tok', url: `/MSI/auth?api-version=2017-09-01&resource=https://r${index + 1}/`, secret: `s${index + 1}` });
    });
    assert.equal(seen.length, 4);
    // The scoring server itself is unaffected (and its own port is another).
    assert.equal((await server.request({ method: 'POST', path: '/score', body: '{}' })).status, 200);
    assert.equal(server.stderr, '');
  });

  it('closes the connection, and says so once, when the daemon does not answer; works again once it does', async () => {
    const port = await freePort();
    const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_MSI_SOCKET: socketPath, OEP_MSI_PORT: String(port) } });
    await assert.rejects(httpRequest(port, { path: '/MSI/auth?resource=r', headers: { secret: 's' }, agent: false, timeoutMs: 10_000 }));
    await server.waitForStderr(`oep-server: the managed identity endpoint (MSI_ENDPOINT) gets no answer from the oep daemon at ${socketPath}`);
    await startDaemon();
    assert.equal((await httpRequest(port, { path: '/MSI/auth?resource=r', headers: { secret: 's' }, agent: false })).status, 200);
  });

  it('serves on when the port is taken (a warning), and the forwarder ends with the server', async () => {
    await startDaemon();
    const taken = createServer();
    const port = await new Promise<number>((done) => taken.listen(0, '127.0.0.1', () => done((taken.address() as { port: number }).port)));
    try {
      const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_MSI_SOCKET: socketPath, OEP_MSI_PORT: String(port) } });
      await server.waitForStderr(`oep-server: warning: cannot listen on 127.0.0.1:${port} for the managed identity (MSI_ENDPOINT)`);
      assert.equal((await server.request({ method: 'POST', path: '/score', body: '{}' })).status, 200);
    } finally {
      taken.close();
    }
    const free = await freePort();
    const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_MSI_SOCKET: socketPath, OEP_MSI_PORT: String(free) } });
    assert.equal((await httpRequest(free, { path: '/MSI/auth?resource=r', agent: false })).status, 200);
    await server.stop();
    // PR_SET_PDEATHSIG: nothing listens on the port once the server is gone.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const open = await new Promise<boolean>((done) => {
        const socket = connect(free, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), done(true)));
        socket.once('error', () => done(false));
      });
      if (!open) break;
      assert.ok(Date.now() < deadline, `the forwarder still listens on ${free} after the server stopped`);
      await new Promise((done) => setTimeout(done, 50));
    }
  });
});
