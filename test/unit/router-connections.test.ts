import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, it } from 'node:test';
import { parseOpenFilesLimit, isOutOfDescriptors } from '../../src/model/descriptors.js';
import { budgetFor, ConnectionBudget, type Tracked } from '../../src/router/connection-budget.js';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { Router, type DeploymentRoute, type EndpointRoute } from '../../src/router/router.js';
import { makeCa, makeServerCertificate } from '../../src/tls/certificates.js';
import { replicaAt, until } from './router-support.js';

/**
 * The router's connection budget (issue: 20,000 idle connections to one port exhausted the
 * daemon's descriptors; every keyed request failed). Idle connections and slow heads are shed,
 * oldest first, so a new request always gets a slot; busy ones never are.
 */

function tracked(endpoint: string, peer = '127.0.0.1'): Tracked & { closed: boolean } {
  const entry = { endpoint, peer, closed: false, shed: () => (entry.closed = true) };
  return entry;
}

describe('connection budget', () => {
  it('derives the cap from the descriptor limit with a reserve', () => {
    assert.deepEqual(budgetFor(2048), { limit: 2048, reserve: 256, total: 896, ceiling: 1344 });
    assert.deepEqual(budgetFor(1024), { limit: 1024, reserve: 128, total: 448, ceiling: 672 });
    assert.deepEqual(budgetFor(20_000), { limit: 20_000, reserve: 2500, total: 8750, ceiling: 13125 });
    assert.deepEqual(parseOpenFilesLimit('Limit                     Soft Limit           Hard Limit           Units\nMax open files            2048                 4096                 files\n'), { soft: 2048, hard: 4096 });
    assert.deepEqual(parseOpenFilesLimit('Max open files            unlimited            unlimited            files'), { soft: undefined, hard: undefined });
    assert.equal(isOutOfDescriptors(Object.assign(new Error('x'), { code: 'EMFILE' })), true);
    assert.equal(isOutOfDescriptors(new Error('could not start replica 0: spawn EMFILE')), true);
    assert.equal(isOutOfDescriptors(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), false);
  });

  it('sheds the oldest idle connection first, then the oldest slow head, never a busy one', async () => {
    const budget = new ConnectionBudget({ total: 4, ceiling: 4, seasonMs: 0 });
    const [a, b, c, d] = [tracked('e'), tracked('e'), tracked('e'), tracked('e')];
    for (const each of [a, b, c, d]) assert.equal(budget.admit(each), true);
    budget.markHead(a);
    budget.markBusy(b);
    await turns();
    // c and d are idle, c the older: it goes.
    const e = tracked('e');
    assert.equal(budget.admit(e), true);
    assert.deepEqual([a, b, c, d].map((x) => x.closed), [false, false, true, false]);
    await turns();
    // A connection that was busy goes to the back of the idle line: e (idle since it came) goes first.
    budget.markBusy(d);
    budget.markIdle(d);
    const f = tracked('e');
    assert.equal(budget.admit(f), true);
    assert.deepEqual([d, e].map((x) => x.closed), [false, true]);
    await turns();
    // No idle connection left: the slow head goes, never the busy one.
    budget.markBusy(d);
    budget.markBusy(f);
    assert.equal(budget.admit(tracked('e')), true);
    assert.deepEqual([a, b, d, f].map((x) => x.closed), [true, false, false, false]);
    assert.deepEqual(budget.stats(), { open: 4, shed: 3, refused: 0 });
  });

  it('gives a new connection a turn of the event loop before it may be shed, up to the ceiling', async () => {
    const budget = new ConnectionBudget({ total: 4, ceiling: 6, seasonMs: 0 });
    const old = [tracked('e'), tracked('e')];
    for (const each of old) budget.admit(each);
    await turns();
    // Six come in one turn: the two old ones go, then the new ones pass the cap up to the ceiling.
    const burst = Array.from({ length: 6 }, () => tracked('e'));
    for (const each of burst) assert.equal(budget.admit(each), true);
    assert.deepEqual(old.map((x) => x.closed), [true, true]);
    assert.equal(burst.filter((x) => x.closed).length, 0);
    assert.equal(budget.stats().open, 6);
    // At the ceiling, within the same turn, the oldest goes whatever its age.
    budget.admit(tracked('e'));
    assert.equal(burst[0]!.closed, true);
    await turns();
    // A turn later they may go: the next one brings the count back under the cap.
    budget.admit(tracked('e'));
    assert.equal(budget.stats().open, 4);
  });

  it('refuses a new connection when every one is busy', () => {
    const budget = new ConnectionBudget({ total: 2, ceiling: 2, seasonMs: 0 });
    const [a, b] = [tracked('e'), tracked('e')];
    budget.admit(a);
    budget.admit(b);
    budget.markBusy(a);
    budget.markBusy(b);
    assert.equal(budget.admit(tracked('e')), false);
    assert.deepEqual(budget.stats(), { open: 2, shed: 0, refused: 1 });
    budget.release(a);
    budget.release(a);
    assert.equal(budget.admit(tracked('e')), true);
  });

  it('keeps one endpoint (or peer) from taking more than 3/4 of the slots while another holds some', async () => {
    const budget = new ConnectionBudget({ total: 8, seasonMs: 0 });
    const others = [tracked('b'), tracked('b')];
    for (const each of others) budget.admit(each);
    const flood = Array.from({ length: 20 }, () => tracked('a'));
    for (const each of flood) {
      assert.equal(budget.admit(each), true);
      await turns();
    }
    assert.deepEqual(others.map((x) => x.closed), [false, false], "b's idle connections stay");
    assert.equal(flood.filter((x) => !x.closed).length, 6);
    const peers = new ConnectionBudget({ total: 8, seasonMs: 0 });
    const user = tracked('a', '127.0.0.1');
    peers.admit(user);
    for (let i = 0; i < 20; i++) {
      peers.admit(tracked('a', '127.0.0.2'));
      await turns();
    }
    assert.equal(user.closed, false);
  });
});

/** Lets the budget's turns pass (two turns of the event loop). */
async function turns(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

function route(port: number, name = 'conns', deployments: Record<string, DeploymentRoute> = { blue: settings() }): EndpointRoute {
  return { name, port, authMode: 'key', keys: { primary: 'p', secondary: 's' }, tokenSecret: 'x', traffic: { blue: 100 }, mirror: {}, deployments };
}

const settings = (change: Partial<DeploymentRoute> = {}): DeploymentRoute => ({ requestTimeoutMs: 30_000, maxConcurrentPerInstance: 8, instanceCount: 1, ...change });

/** A replica that answers {"ok": true}, or holds every answer until release() when `hold`. */
async function replica(hold = false): Promise<{ origin: string; held: number; release(): void; close(): void }> {
  const waiting: (() => void)[] = [];
  let released = !hold;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      if (released) answer();
      else waiting.push(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    get held() {
      return waiting.length;
    },
    release() {
      released = true;
      for (const answer of waiting.splice(0)) answer();
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Client {
  socket: Socket;
  closed: boolean;
  text: string;
}

/** A TCP connection to the port that sends `send` (nothing: an idle connection) and records what comes back. */
function open(port: number, send = ''): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const client: Client = { socket, closed: false, text: '' };
    socket.on('data', (chunk: Buffer) => (client.text += chunk.toString('latin1')));
    socket.on('close', () => (client.closed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (send) socket.write(send);
      resolve(client);
    });
    socket.once('error', reject);
  });
}

const KEYED = 'POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';

describe('router: connections at the cap', () => {
  it('answers keyed requests while idle connections flood the port, shedding the oldest idle first', async () => {
    const model = await replica();
    const router = new Router({ replicas: () => [replicaAt(model.origin)], connections: { total: 20, seasonMs: 0 } });
    const port = await findFreePort();
    const clients: Client[] = [];
    try {
      await router.upsert(route(port));
      for (let i = 0; i < 60; i++) clients.push(await open(port));
      await until('the router holds at most its cap', () => clients.filter((c) => !c.closed).length <= 20);
      // The newest are kept, the oldest were let go.
      assert.ok(clients.slice(0, 40).every((c) => c.closed));
      assert.ok(clients.slice(-20).every((c) => !c.closed));
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p' }, body: '{}' });
        assert.equal(res.status, 200);
        await res.text();
      }
      const stats = router.connectionStats()!;
      assert.ok(stats.open <= 20, JSON.stringify(stats));
      assert.ok(stats.shed >= 40, JSON.stringify(stats));
      assert.equal(stats.refused, 0);
    } finally {
      for (const client of clients) client.socket.destroy();
      await router.close();
      model.close();
    }
  });

  it('sheds slow heads after idle connections, and never a request in flight; refuses with 503 when all are busy', async () => {
    const model = await replica(true);
    const router = new Router({ replicas: () => [replicaAt(model.origin)], connections: { total: 4, ceiling: 4, seasonMs: 0 } });
    const port = await findFreePort();
    const clients: Client[] = [];
    try {
      await router.upsert(route(port));
      // Two requests in flight (held by the replica), an idle connection, then a slow head.
      const busy = [await open(port, KEYED), await open(port, KEYED)];
      await until('the replica holds both', () => model.held === 2);
      const idle = await open(port);
      await until('the router has the idle connection', () => router.connectionStats()!.open === 3);
      const head = await open(port, 'POST /score HTTP/1.1\r\nHost: x\r\n');
      clients.push(...busy, idle, head);
      await until('the router has all four', () => router.connectionStats()!.open === 4);
      const third = await open(port, KEYED);
      clients.push(third);
      await until('the idle connection is shed', () => idle.closed);
      assert.equal(head.closed, false);
      await until('the replica holds the third', () => model.held === 3);
      const fourth = await open(port, KEYED);
      clients.push(fourth);
      await until('the slow head is shed', () => head.closed);
      await until('the replica holds the fourth', () => model.held === 4);
      // Every slot is a request in flight: a fifth connection is refused, saying why.
      const fifth = await open(port, KEYED);
      clients.push(fifth);
      await until('the fifth is answered and closed', () => fifth.closed);
      assert.match(fifth.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.match(fifth.text, /connection limit/);
      model.release();
      for (const client of [...busy, third, fourth]) await until('a held request is answered', () => client.text.includes('\r\n\r\n{"ok":true}'));
      for (const client of [...busy, third, fourth]) assert.match(client.text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.deepEqual(router.connectionStats(), { open: 4, shed: 2, refused: 1, total: 4, ceiling: 4 });
    } finally {
      for (const client of clients) client.socket.destroy();
      await router.close();
      model.close();
    }
  });

  it("keeps another endpoint's connections while one endpoint is flooded", async () => {
    const model = await replica();
    const router = new Router({ replicas: () => [replicaAt(model.origin)], connections: { total: 8, seasonMs: 0 } });
    const [flooded, quiet] = [await findFreePort(), await findFreePort()];
    const clients: Client[] = [];
    try {
      await router.upsert(route(flooded, 'flooded'));
      await router.upsert(route(quiet, 'quiet'));
      const kept = [await open(quiet), await open(quiet)];
      for (let i = 0; i < 30; i++) clients.push(await open(flooded));
      clients.push(...kept);
      await until('the flooded endpoint holds its share', () => clients.filter((c) => !c.closed).length <= 8);
      assert.deepEqual(kept.map((c) => c.closed), [false, false]);
      // The quiet endpoint's kept connections still carry requests.
      kept[0]!.socket.write(KEYED);
      await until('the quiet endpoint answers', () => kept[0]!.text.includes('{"ok":true}'));
    } finally {
      for (const client of clients) client.socket.destroy();
      await router.close();
      model.close();
    }
  });
});

describe('router: connections at the cap over HTTPS', () => {
  it('counts a connection from its TCP accept through its TLS session, sheds idle ones before the handshake, and releases them all', async () => {
    const model = await replica();
    const ca = makeCa();
    const pair = makeServerCertificate(ca, 'conns');
    const router = new Router({ replicas: () => [replicaAt(model.origin)], connections: { total: 5, seasonMs: 0 } });
    const port = await findFreePort();
    const clients: Client[] = [];
    try {
      await router.upsert({ ...route(port), tls: { cert: pair.cert, key: pair.key } });
      // Idle TCP connections that never start a handshake.
      for (let i = 0; i < 12; i++) clients.push(await open(port));
      await until('the router holds at most its ceiling', () => router.connectionStats()!.open <= 7);
      for (let i = 0; i < 5; i++) {
        const status = await new Promise<string>((resolve) => {
          const socket = tlsConnect({ port, host: '127.0.0.1', ca: ca.cert, servername: 'localhost' }, () => socket.write(KEYED.replace('Host: x', 'Host: x\r\nConnection: close')));
          let text = '';
          socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
          socket.on('close', () => resolve(text.split('\r\n')[0]!));
          socket.on('error', (error) => resolve(String(error)));
        });
        assert.equal(status, 'HTTP/1.1 200 OK');
      }
      for (const client of clients) client.socket.destroy();
      await until('every connection is released', () => router.connectionStats()!.open === 0);
      assert.ok(router.connectionStats()!.shed >= 5);
    } finally {
      for (const client of clients) client.socket.destroy();
      await router.close();
      model.close();
    }
  });
});
