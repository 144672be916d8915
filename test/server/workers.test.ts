import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { httpRequest, MeetingPoint, ScoringServer, stopAllServers, type HttpResult } from './harness.js';

function sleepRequest(server: ScoringServer, seconds: number, agent?: http.Agent | false): Promise<HttpResult> {
  return server.request({ method: 'POST', path: '/score', body: JSON.stringify({ sleep: seconds }), agent });
}

/** A call to the rendezvous fixture: it answers {"met": true} once `peers` calls were in run() together. */
function meetRequest(server: ScoringServer, point: MeetingPoint, agent?: http.Agent | false, peers = 2): Promise<HttpResult> {
  return server.request({ method: 'POST', path: '/score', body: point.body(peers), agent });
}

function pidOf(res: HttpResult): number {
  return (JSON.parse(res.text) as { pid: number }).pid;
}

function met(res: HttpResult): boolean {
  return (JSON.parse(res.text) as { met: boolean }).met;
}

describe('oep-server WORKER_COUNT', () => {
  const points: MeetingPoint[] = [];
  const meetingPoint = (): MeetingPoint => {
    const point = new MeetingPoint();
    points.push(point);
    return point;
  };
  afterEach(async () => {
    await stopAllServers();
    for (const point of points.splice(0)) point.remove();
  });

  it('runs two requests at once with WORKER_COUNT=2, each worker having called init()', async () => {
    const server = await ScoringServer.start({ fixture: 'rendezvous', env: { WORKER_COUNT: '2' } });
    await server.waitForWorkers(2);
    // Each call waits in run() for the other: both meet only if two workers run them at once.
    const point = meetingPoint();
    const [a, b] = await Promise.all([meetRequest(server, point, false), meetRequest(server, point, false)]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.deepEqual([met(a), met(b)], [true, true], 'the two calls ran at the same time');
    assert.notEqual(pidOf(a), pidOf(b));
    await server.waitForStdout(/rendezvous: init pid=\d+\n[\s\S]*rendezvous: init pid=\d+\n/);
    assert.equal((server.stdout.match(/rendezvous: init pid=\d+\n/g) ?? []).length, 2);
    assert.match(server.stdout, /Worker Count: 2\n/);
  });

  it('stays concurrent over kept-alive connections, whichever worker accepted them', async () => {
    const server = await ScoringServer.start({ fixture: 'rendezvous', env: { WORKER_COUNT: '2' } });
    await server.waitForWorkers(2);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      // open two connections, then send pairs of calls that must meet over them
      const opening = meetingPoint();
      await Promise.all([meetRequest(server, opening, agent), meetRequest(server, opening, agent)]);
      for (let round = 0; round < 4; round++) {
        const point = meetingPoint();
        const results = await Promise.all([meetRequest(server, point, agent), meetRequest(server, point, agent)]);
        assert.deepEqual(
          results.map((res) => [res.status, met(res)]),
          [
            [200, true],
            [200, true],
          ],
          `round ${round}: both calls ran at the same time`,
        );
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
    // A lower bound only: a loaded machine can make it slower, never faster.
    assert.ok(elapsed >= 950, `both answered after ${elapsed} ms`);
    assert.equal(pidOf(a), pidOf(b));
  });

  it('answers GET / while run() is busy', async () => {
    const server = await ScoringServer.start({ fixture: 'rendezvous' });
    const point = meetingPoint();
    let answered = false;
    const busy = meetRequest(server, point, false).finally(() => (answered = true));
    await point.waitArrivals(1);
    const health = await httpRequest(server.port, { path: '/' });
    assert.equal(health.status, 200);
    assert.equal(answered, false, 'run() was still busy when GET / answered');
    point.arrive();
    const res = await busy;
    assert.equal(res.status, 200);
    assert.equal(met(res), true);
  });

  it('starts a new worker (calling init() again) when one dies', async () => {
    const server = await ScoringServer.start({ fixture: 'crash' });
    const before = await server.request({ method: 'POST', path: '/score', body: 'hi', agent: false });
    const firstPid = pidOf(before);
    await assert.rejects(server.request({ method: 'POST', path: '/score', body: 'die', agent: false }));
    await server.waitForStderr(new RegExp(`oep-server: worker 0 \\(pid ${firstPid}\\) exited with code 7; starting a new one\\n`));
    const after = await server.request({ method: 'POST', path: '/score', body: 'hi', agent: false });
    assert.equal(after.status, 200);
    assert.notEqual(pidOf(after), firstPid);
    await server.waitForStdout(/crash: init pid=\d+\n[\s\S]*crash: init pid=\d+\n/);
    assert.equal((server.stdout.match(/crash: init pid=\d+\n/g) ?? []).length, 2);
  });

  it('exits cleanly on SIGTERM without waiting for a busy run(), workers included', async () => {
    const server = await ScoringServer.start({ fixture: 'rendezvous', env: { WORKER_COUNT: '3' } });
    await server.waitForWorkers(3);
    // This call waits in run() for a peer that never comes (far longer than stop() waits).
    const point = meetingPoint();
    const busy = server.request({ method: 'POST', path: '/score', body: point.body(2, 120), agent: false }).catch(() => undefined);
    await point.waitArrivals(1);
    // stop() sends SIGTERM and falls back to SIGKILL: exit code 0 means the server ended by itself.
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    await busy;
    await assert.rejects(httpRequest(server.port, { path: '/', timeoutMs: 1000 }));
  });
});
