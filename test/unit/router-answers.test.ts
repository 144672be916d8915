import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { PairRecorder } from '../../src/router/pairs.js';
import { Router, type DeploymentRoute, type EndpointRoute, type LiveReplica } from '../../src/router/router.js';
import type { RouteRecord } from '../../src/model/route-record.js';
import { payloadLogging, replicaAt, until } from './router-support.js';

/**
 * Replica answers too large to hold stream to the client at the pace it reads them (issue: one
 * 200 MB answer took the daemon from 117 to 493 MB, four to slow readers to 1.24 GB). These
 * tests use real HTTP servers on 127.0.0.1 as replicas and clients that read slowly.
 */

/** A byte pattern whose order matters, so a hash proves every byte arrived in place. */
function patternChunk(index: number, size = 64 * 1024): Buffer {
  return Buffer.alloc(size, index % 251);
}

/** What the replica did with one answer. */
interface Sent {
  /** Bytes handed to res.write so far. */
  written: number;
  sha256: string;
  /** res.end() was called after the last byte. */
  finished: boolean;
  /** The connection closed before the answer was whole (the router let go of it). */
  cut: boolean;
  headers: IncomingHttpHeaders;
}

interface BigReplica {
  origin: string;
  sent: Sent[];
  close(): void;
}

/**
 * A replica that answers `x-answer-bytes` bytes of a pattern, with status `x-answer-status`
 * (default 200), framed by `x-answer-mode`: `length` (content-length, the default), `chunked`,
 * `close` (no length, until the connection closes) or `stall` (a content-length, then half of
 * it, then nothing). It writes as fast as the connection takes it, waiting for 'drain'.
 */
async function bigReplica(): Promise<BigReplica> {
  const sent: Sent[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const size = Number(req.headers['x-answer-bytes'] ?? 0);
      const status = Number(req.headers['x-answer-status'] ?? 200);
      const mode = String(req.headers['x-answer-mode'] ?? 'length');
      const entry: Sent = { written: 0, sha256: '', finished: false, cut: false, headers: req.headers };
      sent.push(entry);
      const hash = createHash('sha256');
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'x-replica': 'big' };
      if (mode === 'length' || mode === 'stall') headers['content-length'] = size;
      if (mode === 'close') headers.connection = 'close';
      res.writeHead(status, headers);
      if (mode === 'close') res.useChunkedEncodingByDefault = false;
      res.on('close', () => {
        if (!entry.finished) entry.cut = true;
      });
      const limit = mode === 'stall' ? Math.floor(size / 2) : size;
      let index = 0;
      const pump = (): void => {
        while (entry.written < limit) {
          const chunk = patternChunk(index++, Math.min(64 * 1024, limit - entry.written));
          entry.written += chunk.length;
          hash.update(chunk);
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        entry.sha256 = hash.digest('hex');
        if (mode === 'stall') return;
        entry.finished = true;
        res.end();
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    sent,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The replica's pattern for `size` bytes, hashed as it would send it. */
function patternSha256(size: number): string {
  const hash = createHash('sha256');
  for (let index = 0, done = 0; done < size; index++) {
    const chunk = patternChunk(index, Math.min(64 * 1024, size - done));
    hash.update(chunk);
    done += chunk.length;
  }
  return hash.digest('hex');
}

interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
  /** The answer ended whole (false: the connection closed first). */
  complete: boolean;
}

interface Download {
  /** Bytes received so far. */
  received(): number;
  /** Lets a client paused at `pauseAt` read on. */
  resume(): void;
  /** Closes the connection now. */
  abort(): void;
  done: Promise<Received>;
}

/**
 * POSTs a small body with `headers` and reads the answer; past `pauseAt` bytes it stops reading
 * until resume() (a slow reader). `http10`: an HTTP/1.0-style request Node's server handles.
 */
function download(port: number, headers: Record<string, string>, pauseAt = Infinity, body = '{}'): Download {
  let received = 0;
  let response: IncomingMessage | undefined;
  let paused = false;
  const hash = createHash('sha256');
  let abort = (): void => undefined;
  const done = new Promise<Received>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/score', headers: { authorization: 'Bearer p', 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      response = res;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        hash.update(chunk);
        if (!paused && received >= pauseAt) {
          paused = true;
          res.pause();
        }
      });
      let finished = false;
      const finish = (complete: boolean): void => {
        if (finished) return;
        finished = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: received, sha256: hash.digest('hex'), complete });
      };
      res.on('end', () => finish(true));
      res.on('aborted', () => finish(false));
      res.on('error', () => finish(false));
    });
    abort = () => req.destroy();
    req.on('error', (error) => (response ? undefined : reject(error)));
    req.end(body);
  });
  return {
    received: () => received,
    resume: () => {
      pauseAt = Infinity;
      response?.resume();
    },
    abort: () => abort(),
    done,
  };
}

function route(port: number, deployments: Record<string, DeploymentRoute>, traffic: Record<string, number> = { blue: 100 }, mirror: Record<string, number> = {}): EndpointRoute {
  return { name: 'answers', port, authMode: 'key', keys: { primary: 'p', secondary: 's' }, tokenSecret: 'x', traffic, mirror, deployments };
}

const settings = (change: Partial<DeploymentRoute> = {}): DeploymentRoute => ({ requestTimeoutMs: 60_000, maxConcurrentPerInstance: 4, instanceCount: 1, ...change });

/** Waits until a counter stops moving between two looks (every buffer on its way is full). */
async function untilStill(what: string, value: () => number): Promise<void> {
  let last = -1;
  await until(what, () => {
    const now = value();
    const still = now === last;
    last = now;
    return still;
  });
}

describe('router: answers too large to hold stream to the client', () => {
  let replica: BigReplica;
  let router: Router;
  let port = 0;
  const records: RouteRecord[] = [];
  const logged: string[] = [];

  before(async () => {
    replica = await bigReplica();
    router = new Router({ replicas: () => [replicaAt(replica.origin)], record: (entry) => records.push(entry), log: (line) => logged.push(line) });
    port = await findFreePort();
    await router.upsert(route(port, { blue: settings() }));
  });
  after(async () => {
    await router.close();
    replica.close();
  });

  it('holds no more than the sockets buffer for a client that reads slowly, and the client gets every byte', async () => {
    const size = 96 * 1024 * 1024;
    const client = download(port, { 'x-answer-bytes': String(size) }, 1024 * 1024);
    await until('the client has its first MiB', () => client.received() >= 1024 * 1024);
    const sent = (): number => replica.sent.at(-1)?.written ?? 0;
    await untilStill('the replica cannot send more', sent);
    const inBetween = sent() - client.received();
    // Holding the answer (as the router did before) would let the replica send all 96 MiB.
    assert.ok(inBetween < size / 2, `${(inBetween / 1024 / 1024).toFixed(1)} MiB sat between the replica and the paused client`);
    assert.equal(records.length, 0, 'nothing is logged before the answer ended');
    client.resume();
    const answer = await client.done;
    assert.equal(answer.status, 200);
    assert.equal(answer.complete, true);
    assert.equal(answer.bytes, size);
    assert.equal(answer.sha256, replica.sent.at(-1)!.sha256);
    assert.equal(answer.headers['content-length'], String(size));
    assert.equal(answer.headers['x-replica'], 'big');
    assert.equal(answer.headers['azureml-model-deployment'], 'blue');
    assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    await until('the request is logged', () => records.length === 1);
    assert.equal(records[0]!.status, 200);
    assert.equal(router.stats('answers').blue!.inflight, 0);
  });

  it('streams an answer without a length chunked, on the lean path and through Node\'s server', async () => {
    const size = 5 * 1024 * 1024 + 123;
    for (const mode of ['chunked', 'close']) {
      // A chunked request body makes Node's http server read the request (the fallback path).
      for (const fallback of [false, true]) {
        const client = download(port, { 'x-answer-bytes': String(size), 'x-answer-mode': mode, ...(fallback && { 'transfer-encoding': 'chunked' }) });
        const answer = await client.done;
        assert.equal(answer.status, 200, `${mode} ${fallback}`);
        assert.equal(answer.complete, true);
        assert.equal(answer.bytes, size);
        assert.equal(answer.sha256, patternSha256(size));
        assert.equal(answer.headers['transfer-encoding'], 'chunked');
        assert.equal(answer.headers['content-length'], undefined);
      }
    }
    // The connection stays usable after a chunked answer: a small request on the same socket.
    const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p', 'x-answer-bytes': '10' }, body: '{}' });
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 10);
  });

  it('maps a large model error to 424 with the model status, and streams its body', async () => {
    const size = 3 * 1024 * 1024;
    const answer = await download(port, { 'x-answer-bytes': String(size), 'x-answer-status': '500' }).done;
    assert.equal(answer.status, 424);
    assert.equal(answer.headers['ms-azureml-model-error-statuscode'], '500');
    assert.equal(answer.headers['ms-azureml-model-error-reason'], 'Internal Server Error');
    assert.equal(answer.bytes, size);
    assert.equal(answer.complete, true);
  });

  it('lets go of the replica when the client leaves mid-answer', async () => {
    const size = 64 * 1024 * 1024;
    const before = replica.sent.length;
    const client = download(port, { 'x-answer-bytes': String(size) }, 2 * 1024 * 1024);
    await until('the client has 2 MiB', () => client.received() >= 2 * 1024 * 1024);
    client.abort();
    await until('the replica sees its answer cut', () => replica.sent[before]?.cut === true);
    await until('the request is no longer in flight', () => router.stats('answers').blue!.inflight === 0);
    assert.ok(replica.sent[before]!.written < size);
  });

  it('closes the client connection when the replica stalls mid-answer past request_timeout_ms', async () => {
    const stallPort = await findFreePort();
    const stalling = new Router({ replicas: () => [replicaAt(replica.origin)], log: (line) => logged.push(line) });
    try {
      await stalling.upsert({ ...route(stallPort, { blue: settings({ requestTimeoutMs: 300 }) }), name: 'stall' });
      const size = 8 * 1024 * 1024;
      const answer = await download(stallPort, { 'x-answer-bytes': String(size), 'x-answer-mode': 'stall' }).done;
      assert.equal(answer.status, 200);
      assert.equal(answer.complete, false);
      assert.equal(answer.bytes, size / 2);
      assert.ok(logged.some((line) => line.includes('ended early')), logged.join('\n'));
    } finally {
      await stalling.close();
    }
  });

  it('streams an answer to a request whose body streamed too (undici\'s path)', async () => {
    const smallPort = await findFreePort();
    const small = new Router({ replicas: () => [replicaAt(replica.origin)], heldBodyBytes: 64 * 1024 });
    try {
      await small.upsert({ ...route(smallPort, { blue: settings() }), name: 'small' });
      const size = 48 * 1024 * 1024;
      const client = download(smallPort, { 'x-answer-bytes': String(size) }, 1024 * 1024, 'x'.repeat(256 * 1024));
      await until('the client has its first MiB', () => client.received() >= 1024 * 1024);
      const sent = (): number => replica.sent.at(-1)?.written ?? 0;
      await untilStill('the replica cannot send more', sent);
      const inBetween = sent() - client.received();
      assert.ok(inBetween < size / 2, `${(inBetween / 1024 / 1024).toFixed(1)} MiB sat between the replica and the paused client`);
      client.resume();
      const answer = await client.done;
      assert.equal(answer.bytes, size);
      assert.equal(answer.sha256, replica.sent.at(-1)!.sha256);
    } finally {
      await small.close();
    }
  });
});

describe('router: what the mirror, the pairs and the data collector keep of a large answer', () => {
  it('keeps the start, the length and the digest of the live and mirrored answers, and logs a bounded prefix with its content range', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oep-answers-'));
    const blue = await bigReplica();
    const green = await bigReplica();
    const replicas: Record<string, LiveReplica> = { blue: replicaAt(blue.origin), green: replicaAt(green.origin, 'green/0') };
    const pairs = new PairRecorder({ ringSize: 10 });
    const records: RouteRecord[] = [];
    const router = new Router({ replicas: (_endpoint, deployment) => [replicas[deployment]!], pairs, record: (entry) => records.push(entry), heldBodyBytes: 64 * 1024 });
    const port = await findFreePort();
    const dataCollector = payloadLogging(dir, 'answers');
    let closed = false;
    try {
      await router.upsert(route(port, { blue: settings({ dataCollector }), green: settings() }, { blue: 100 }, { green: 100 }));
      const size = 6 * 1024 * 1024;
      const answer = await download(port, { 'x-answer-bytes': String(size) }).done;
      assert.equal(answer.bytes, size);
      await until('the pair is recorded', () => pairs.pairs('answers').length === 1);
      const pair = pairs.pairs('answers')[0]!;
      const digest = (() => {
        const hash = createHash('sha1');
        for (let index = 0, done = 0; done < size; index++) {
          const chunk = patternChunk(index, Math.min(64 * 1024, size - done));
          hash.update(chunk);
          done += chunk.length;
        }
        return hash.digest('base64');
      })();
      for (const side of [pair.live, pair.mirror]) {
        assert.equal(side.status, 200);
        assert.equal(side.bytes, size);
        assert.equal(side.truncated, true);
        assert.equal(side.digest, digest);
        assert.equal(Buffer.byteLength(side.body), 16 * 1024);
      }
      assert.equal(green.sent[0]!.finished, true, 'the mirror answer was read to its end');
      await until('both are logged', () => records.length === 2);

      await router.close();
      closed = true;
      const events = lines(join(dir, 'answers', 'blue', 'response'));
      assert.equal(events.length, 1);
      assert.equal(events[0]!.contentrange, `bytes 0-65535/${size}`);
    } finally {
      if (!closed) await router.close();
      blue.close();
      green.close();
      rmSync(dir, { recursive: true, force: true });
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
