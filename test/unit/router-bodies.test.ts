import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_BODY_BYTES } from '../../src/router/body.js';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { Router, type DeploymentRoute, type EndpointRoute } from '../../src/router/router.js';
import { REPLICA_SECRET_HEADER } from '../../src/model/server-contract.js';
import type { RouteRecord } from '../../src/model/route-record.js';
import type { LiveReplica } from '../../src/router/router.js';
import { payloadLogging, replicaAt, until, type OwnedReplica } from './router-support.js';

/** What an upstream saw of one request. */
interface Seen {
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
  /** The whole body arrived. */
  complete: boolean;
}

interface Upstream {
  origin: string;
  /** Requests whose headers arrived, in order. */
  seen: Seen[];
  /** Answers held requests, and lets a paused one read on. */
  release(): void;
  close(): void;
}

/**
 * A replica as a real HTTP server on 127.0.0.1. It reads each body, hashing it, and answers
 * `{"bytes": n}`. `hold`: it answers nothing until release(). `pauseAfter`: it stops reading the
 * body after that many bytes until release() (a replica that reads slowly).
 */
async function upstream(options: { hold?: boolean; pauseAfter?: number } = {}): Promise<Upstream> {
  let released = false;
  const waiting: (() => void)[] = [];
  const paused: IncomingMessage[] = [];
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const entry: Seen = { headers: req.headers, bytes: 0, sha256: '', complete: false };
    seen.push(entry);
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      entry.bytes += chunk.length;
      hash.update(chunk);
      if (options.pauseAfter !== undefined && !released && entry.bytes >= options.pauseAfter) {
        req.pause();
        paused.push(req);
      }
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      entry.complete = true;
      entry.sha256 = hash.digest('hex');
      const answer = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: entry.bytes }));
      if (options.hold && !released) waiting.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    seen,
    release() {
      released = true;
      for (const answer of waiting.splice(0)) answer();
      for (const req of paused.splice(0)) req.resume();
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}



function route(port: number, deployments: Record<string, DeploymentRoute>, traffic: Record<string, number> = { blue: 100 }, mirror: Record<string, number> = {}): EndpointRoute {
  return { name: 'bodies', port, authMode: 'key', keys: { primary: 'p', secondary: 's' }, tokenSecret: 'x', traffic, mirror, deployments };
}

const settings = (change: Partial<DeploymentRoute> = {}): DeploymentRoute => ({ requestTimeoutMs: 60_000, maxConcurrentPerInstance: 1, instanceCount: 1, ...change });

/** Sends raw request head bytes (and optionally some body) and returns everything the router answered until it closed or `until` matched. */
function rawExchange(port: number, head: string, stopWhen: (text: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (stopWhen(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('end', () => resolve(text));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(head);
  });
}

/** A byte pattern whose order matters, so a hash proves every byte arrived in place. */
function patternChunk(index: number, size = 64 * 1024): Buffer {
  return Buffer.alloc(size, index % 251);
}

interface Upload {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Bytes handed to the socket before the answer came. */
  sent: number;
  sha256: string;
}

/**
 * POSTs `size` bytes as fast as the connection takes them (chunked when `chunked`), stopping as
 * soon as an answer arrives. `progress` sees the bytes handed over so far.
 */
function upload(port: number, size: number, options: { chunked?: boolean; headers?: Record<string, string>; progress?: (sent: number) => void } = {}): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const hash = createHash('sha256');
    const headers: Record<string, string | number> = { authorization: 'Bearer p', 'content-type': 'application/octet-stream', ...options.headers };
    if (!options.chunked) headers['content-length'] = size;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/score', headers }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, sent, sha256: hash.digest('hex') }));
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    let index = 0;
    const pump = (): void => {
      while (sent < size && !answered) {
        const chunk = patternChunk(index++, Math.min(64 * 1024, size - sent));
        sent += chunk.length;
        hash.update(chunk);
        options.progress?.(sent);
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('router: request bodies over the limit', () => {
  let model: Upstream;
  let router: Router;
  let port = 0;
  let smallPort = 0;
  const records: RouteRecord[] = [];

  before(async () => {
    model = await upstream();
    router = new Router({ replicas: () => [replicaAt(model.origin)], record: (entry) => records.push(entry) });
    port = await findFreePort();
    await router.upsert(route(port, { blue: settings() }));
    // A second router with a 1 MiB limit, so chunked bodies pass it in a few MiB.
    smallPort = await findFreePort();
  });
  after(async () => {
    await router.close();
    model.close();
  });

  it('answers 413 on the declared length, before a byte of the body is read', async () => {
    const answer = await rawExchange(
      port,
      `POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`,
    );
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 413 Request Entity Too Large\r\n/);
    assert.match(head!, /\r\nconnection: close\r\n/i);
    assert.deepEqual(JSON.parse(body!), { message: "Request body too large: the limit is 104857600 bytes (100 MB, as Azure's inference images)." });
    assert.equal(model.seen.length, 0, 'the replica saw nothing');
    assert.equal(records.at(-1)?.status, 413);
  });

  it('answers 413 to a client still sending, without the replica seeing anything', async () => {
    const answer = await upload(port, MAX_BODY_BYTES + 50 * 1024 * 1024);
    assert.equal(answer.status, 413);
    assert.equal(answer.headers.connection, 'close');
    assert.ok(answer.sent < MAX_BODY_BYTES, `the answer came while the client was still sending (${answer.sent} bytes sent)`);
    assert.equal(model.seen.length, 0);
  });

  it('accepts a body of exactly the limit, and the replica gets every byte', async () => {
    const answer = await upload(port, MAX_BODY_BYTES);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(JSON.parse(answer.text), { bytes: MAX_BODY_BYTES });
    assert.equal(model.seen.at(-1)!.sha256, answer.sha256);
    assert.equal(model.seen.at(-1)!.headers['content-length'], String(MAX_BODY_BYTES));
  });

  it('cuts a chunked body off with 413 once it passes the limit', async () => {
    const small = new Router({ replicas: () => [replicaAt(model.origin)], maxBodyBytes: 1024 * 1024, heldBodyBytes: 256 * 1024, record: (entry) => records.push(entry) });
    try {
      await small.upsert(route(smallPort, { blue: settings() }));
      const before = model.seen.length;
      const answer = await upload(smallPort, 64 * 1024 * 1024, { chunked: true });
      assert.equal(answer.status, 413);
      assert.deepEqual(JSON.parse(answer.text), { message: "Request body too large: the limit is 1048576 bytes (1 MB, as Azure's inference images)." });
      assert.ok(answer.sent < 64 * 1024 * 1024, 'cut off while the client was still sending');
      // The replica may have seen the start of it (it streams), never a whole request.
      assert.ok(model.seen.slice(before).every((seen) => !seen.complete));
      assert.equal(small.stats('bodies').blue?.inflight, 0);

      // Under the limit: a small chunked body is held and sent with its length, a larger one streams.
      const held = await upload(smallPort, 100 * 1024, { chunked: true });
      assert.equal(held.status, 200);
      assert.equal(model.seen.at(-1)!.headers['content-length'], String(100 * 1024));
      assert.equal(model.seen.at(-1)!.headers['transfer-encoding'], undefined);
      const streamed = await upload(smallPort, 1024 * 1024, { chunked: true });
      assert.equal(streamed.status, 200);
      assert.equal(model.seen.at(-1)!.headers['transfer-encoding'], 'chunked');
      assert.equal(model.seen.at(-1)!.sha256, streamed.sha256);
    } finally {
      await small.close();
    }
  });
});

describe('router: 429 before the body', () => {
  let model: Upstream;
  let router: Router;
  let port = 0;

  before(async () => {
    model = await upstream({ hold: true });
    router = new Router({ replicas: () => [replicaAt(model.origin)] });
    port = await findFreePort();
    // 2 x 1 x 1: two requests in flight are the limit.
    await router.upsert(route(port, { blue: settings() }));
  });
  after(async () => {
    await router.close();
    model.close();
  });

  it('refuses a request over the limit on its head alone, and never asks an Expect: 100-continue client for its body', async () => {
    const inFlight = [0, 1].map(() =>
      fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p' }, body: '{}' }).then(async (res) => ({ status: res.status, text: await res.text() })),
    );
    try {
      await until('two requests are in flight at the replica', () => model.seen.filter((seen) => seen.complete).length === 2);
      // A 50 MB body that is never sent: the answer can only come from the head.
      const refused = await rawExchange(port, `POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`, (text) => text.includes('}'));
      assert.match(refused, /^HTTP\/1\.1 429 /);
      assert.match(refused, /\r\nconnection: close\r\n/i);
      const expecting = await rawExchange(
        port,
        `POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n`,
        (text) => text.includes('}'),
      );
      assert.match(expecting, /^HTTP\/1\.1 429 /, 'no 100 Continue before the refusal');
      assert.match(expecting, /\r\nconnection: close\r\n/i);
      assert.equal(model.seen.length, 2);
    } finally {
      model.release();
    }
    for (const answer of await Promise.all(inFlight)) assert.equal(answer.status, 200);
  });
});

describe('router: large bodies stream to the replica', () => {
  it('holds no more than the sockets buffer while a replica reads slowly, and the replica gets every byte', async () => {
    const model = await upstream({ pauseAfter: 1024 * 1024 });
    const router = new Router({ replicas: () => [replicaAt(model.origin)] });
    const port = await findFreePort();
    try {
      await router.upsert(route(port, { blue: settings() }));
      const size = 96 * 1024 * 1024;
      let sent = 0;
      const done = upload(port, size, { progress: (bytes) => (sent = bytes) });
      await until('the replica has read its first MiB and paused', () => (model.seen[0]?.bytes ?? 0) >= 1024 * 1024);
      // Wait until the client cannot send more: every buffer between it and the replica is full.
      let last = -1;
      await until('the upload stalls', () => {
        const stalled = sent === last;
        last = sent;
        return stalled;
      });
      const inBetween = sent - model.seen[0]!.bytes;
      // Buffering the body (as the router did before) would hold all of it here, 95 MiB.
      assert.ok(inBetween < size / 2, `${(inBetween / 1024 / 1024).toFixed(1)} MiB sat between the client and the paused replica`);
      model.release();
      const answer = await done;
      assert.equal(answer.status, 200, answer.text);
      assert.equal(model.seen[0]!.sha256, answer.sha256);
      assert.equal(model.seen[0]!.headers['content-length'], String(size));
    } finally {
      await router.close();
      model.close();
    }
  });

  it('gives a streamed body to another replica when the first refuses the connection, as a held one', async () => {
    const model = await upstream();
    const deadPort = await findFreePort();
    const dead = replicaAt(`http://127.0.0.1:${deadPort}`, 'blue/0');
    const live = replicaAt(model.origin, 'blue/1');
    const router = new Router({
      replicas: () => [dead, live],
      unreachable: (_endpoint, _deployment, replica) => void (replica === dead && (dead.ready = false)),
      heldBodyBytes: 64 * 1024,
    });
    const port = await findFreePort();
    try {
      await router.upsert(route(port, { blue: settings() }));
      for (const size of [1024, 2 * 1024 * 1024]) {
        dead.ready = true;
        const answer = await upload(port, size);
        assert.equal(answer.status, 200, answer.text);
        assert.equal(model.seen.at(-1)!.sha256, answer.sha256);
        assert.equal(dead.ready, false, 'the dead replica left rotation');
      }
    } finally {
      await router.close();
      model.close();
    }
  });
});

describe('router: mirroring and payload logging of large bodies', () => {
  it('mirrors a held body, never a streamed one, and logs the start of a streamed body with its whole length', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oep-bodies-'));
    const blue = await upstream();
    const green = await upstream();
    const records: RouteRecord[] = [];
    const replicas: Record<string, LiveReplica> = { blue: replicaAt(blue.origin), green: replicaAt(green.origin, 'green/0') };
    const router = new Router({ replicas: (_endpoint, deployment) => [replicas[deployment]!], record: (entry) => records.push(entry), heldBodyBytes: 64 * 1024 });
    const port = await findFreePort();
    const dataCollector = payloadLogging(dir, 'bodies');
    let closed = false;
    try {
      await router.upsert(route(port, { blue: settings({ dataCollector }), green: settings() }, { blue: 100 }, { green: 50 }));
      for (const size of [1000, 1000, 1024 * 1024, 1024 * 1024]) {
        const answer = await upload(port, size);
        assert.equal(answer.status, 200);
      }
      await until('both mirror copies are recorded', () => records.filter((entry) => entry.mirrored).length === 2);
      const mirrored = records.filter((entry) => entry.mirrored).map((entry) => entry.status);
      // 50%: the second and fourth requests, one small and one large.
      assert.deepEqual(mirrored.sort(), [200, 413]);
      assert.equal(green.seen.length, 1);
      assert.equal(green.seen[0]!.bytes, 1000);

      // Closing flushes the batched payload files.
      await router.close();
      closed = true;
      const events = lines(join(dir, 'bodies', 'blue', 'request'));
      assert.equal(events.length, 4);
      assert.deepEqual(
        events.map((event) => event.contentrange),
        ['bytes 0-999/1000', 'bytes 0-999/1000', `bytes 0-65535/${1024 * 1024}`, `bytes 0-65535/${1024 * 1024}`],
      );
    } finally {
      if (!closed) await router.close();
      blue.close();
      green.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('router: the replica secret', () => {
  it('adds the deployment secret to live and mirrored requests, and never passes on one a client sent', async () => {
    const blue = await upstream();
    const green = await upstream();
    const replicas: Record<string, LiveReplica> = { blue: replicaAt(blue.origin), green: replicaAt(green.origin, 'green/0') };
    const router = new Router({ replicas: (_endpoint, deployment) => [replicas[deployment]!] });
    const port = await findFreePort();
    try {
      await router.upsert(route(port, { blue: settings({ replicaSecret: 'b1ue' }), green: settings({ replicaSecret: 'gr33n' }) }, { blue: 100 }, { green: 100 }));
      const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p', [REPLICA_SECRET_HEADER]: 'forged' }, body: '{}' });
      assert.equal(res.status, 200);
      await res.text();
      await until('the mirror got its copy', () => green.seen.some((seen) => seen.complete));
      assert.equal(blue.seen[0]!.headers[REPLICA_SECRET_HEADER], 'b1ue');
      assert.equal(green.seen[0]!.headers[REPLICA_SECRET_HEADER], 'gr33n');
      // A deployment without a secret (a custom container) gets no header at all, not the client's.
      await router.upsert(route(port, { blue: settings() }));
      const plain = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p', [REPLICA_SECRET_HEADER]: 'forged' }, body: '{}' });
      await plain.text();
      assert.equal(blue.seen[1]!.headers[REPLICA_SECRET_HEADER], undefined);
    } finally {
      await router.close();
      blue.close();
      green.close();
    }
  });
});

/** Every JSON line under a folder. */
function lines(root: string): Record<string, unknown>[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .flatMap((name) => {
      const path = join(root, name);
      if (statSync(path).isDirectory()) return lines(path);
      return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    });
}
