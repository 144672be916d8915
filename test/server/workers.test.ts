import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { httpRequest, ScoringServer, stopAllServers, type HttpResult } from './harness.js';

function sleepRequest(server: ScoringServer, seconds: number, agent?: http.Agent | false): Promise<HttpResult> {
  return server.request({ method: 'POST', path: '/score', body: JSON.stringify({ sleep: seconds }), agent });
}

function pidOf(res: HttpResult): number {
  return (JSON.parse(res.text) as { pid: number }).pid;
}

describe('oep-server WORKER_COUNT', () => {
  afterEach(stopAllServers);

  it('runs two slow requests at once with WORKER_COUNT=2, each worker having called init()', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { WORKER_COUNT: '2' } });
    const started = Date.now();
    const [a, b] = await Promise.all([sleepRequest(server, 1, false), sleepRequest(server, 1, false)]);
    const elapsed = Date.now() - started;
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.ok(elapsed < 1800, `both answered after ${elapsed} ms`);
    assert.notEqual(pidOf(a), pidOf(b));
    await server.waitForStdout(/slow: init pid=\d+\n[\s\S]*slow: init pid=\d+\n/);
    assert.equal((server.stdout.match(/slow: init pid=\d+\n/g) ?? []).length, 2);
    assert.match(server.stdout, /Worker Count: 2\n/);
  });

  it('stays concurrent over kept-alive connections, whichever worker accepted them', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { WORKER_COUNT: '2' } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      // open two connections, then send pairs of slow requests over them
      await Promise.all([sleepRequest(server, 0.2, agent), sleepRequest(server, 0.2, agent)]);
      for (let round = 0; round < 4; round++) {
        const started = Date.now();
        const results = await Promise.all([sleepRequest(server, 1, agent), sleepRequest(server, 1, agent)]);
        const elapsed = Date.now() - started;
        assert.deepEqual(
          results.map((res) => res.status),
          [200, 200],
        );
        assert.ok(elapsed < 1800, `round ${round}: both answered after ${elapsed} ms`);
      }
    } finally {
      agent.destroy();
    }
  });

  it('runs one request at a time per worker with WORKER_COUNT=1, as azmlinfsrv does', async () => {
    const server = await ScoringServer.start({ fixture: 'slow' });
    const started = Date.now();
    const [a, b] = await Promise.all([sleepRequest(server, 0.5, false), sleepRequest(server, 0.5, false)]);
    const elapsed = Date.now() - started;
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.ok(elapsed >= 950, `both answered after ${elapsed} ms`);
    assert.equal(pidOf(a), pidOf(b));
  });

  it('answers GET / while run() is busy', async () => {
    const server = await ScoringServer.start({ fixture: 'slow' });
    const slow = sleepRequest(server, 1, false);
    await new Promise((done) => setTimeout(done, 100));
    const started = Date.now();
    const health = await httpRequest(server.port, { path: '/' });
    assert.equal(health.status, 200);
    assert.ok(Date.now() - started < 500);
    assert.equal((await slow).status, 200);
  });

  it('starts a new worker (calling init() again) when one dies', async () => {
    const server = await ScoringServer.start({ fixture: 'crash' });
    const before = await server.request({ method: 'POST', path: '/score', body: 'hi', agent: false });
    const firstPid = pidOf(before);
    await assert.rejects(server.request({ method: 'POST', path: '/score', body: 'die', agent: false }));
    await server.waitForStderr(new RegExp(`oep-server: worker 0 \\(pid ${firstPid}\\) exited with code 7; starting a new one\\n`));
    const after = await server.request({ method: 'POST', path: '/score', body: 'hi', agent: false, timeoutMs: 10_000 });
    assert.equal(after.status, 200);
    assert.notEqual(pidOf(after), firstPid);
    await server.waitForStdout(/crash: init pid=\d+\n[\s\S]*crash: init pid=\d+\n/);
    assert.equal((server.stdout.match(/crash: init pid=\d+\n/g) ?? []).length, 2);
  });

  it('exits quickly and cleanly on SIGTERM, workers included', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { WORKER_COUNT: '3' } });
    const busy = sleepRequest(server, 5, false).catch(() => undefined);
    await new Promise((done) => setTimeout(done, 100));
    const started = Date.now();
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - started < 2000, `exited after ${Date.now() - started} ms`);
    await busy;
    await assert.rejects(httpRequest(server.port, { path: '/', timeoutMs: 1000 }));
  });
});
