import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { httpRequest, MeetingPoint, ScoringServer, stopAllServers, type HttpResult } from './harness.js';

function sleepRequest(server: ScoringServer, seconds: number, agent?: http.Agent | false): Promise<HttpResult> {
  return server.request({ method: 'POST', path: '/score', body: JSON.stringify({ sleep: seconds }), agent });
}

/** A call to the rendezvous fixture: it answers {"met": true} once `peers` calls were in run() together. */
function meetRequest(server: ScoringServer, point: MeetingPoint, agent?: http.Agent | false, peers = 2): Promise<HttpResult> {
  return server.request({ method: 'POST', path: '/score', body: point.body(peers), agent });
}

function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One kept-alive POST /score {"sleep": 0} on a raw connection: the pid of the worker that answered. */
function quickCallPid(socket: net.Socket): Promise<number> {
  const body = '{"sleep": 0}';
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (chunk: Buffer): void => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(data);
      if (end < 0 || !length || data.length < end + 4 + Number(length[1])) return;
      socket.off('data', onData);
      socket.off('error', reject);
      assert.match(data, /^HTTP\/1\.1 200 /);
      resolve((JSON.parse(data.slice(end + 4)) as { pid: number }).pid);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
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

  it('spreads connections opened at once over the workers, each keeping its own', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { WORKER_COUNT: '2' } });
    await server.waitForWorkers(2);
    // Four connections opened in one go (a client filling its pool) queue together in the
    // listening socket: without the balance, the worker whose accept thread runs first can take
    // them all (whether it does depends on scheduling: wrk's connections did, this test's mostly
    // do not; test/server/cluster.test.ts checks the counts the balance decides on). Calls that
    // take no time are never handed to another worker, so each answer's pid is the pid of the
    // worker that holds its connection.
    const sockets = await Promise.all([0, 1, 2, 3].map(() => connectTo(server.port)));
    try {
      for (let round = 0; round < 3; round++) {
        const pids = await Promise.all(sockets.map((socket) => quickCallPid(socket)));
        assert.equal(new Set(pids).size, 2, `round ${round}: the four connections are served by both workers (pids ${pids.join(', ')})`);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
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
