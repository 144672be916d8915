import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Front } from '../../src/router/front.js';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { Router, type DeploymentRoute, type EndpointRoute, type LiveReplica } from '../../src/router/router.js';
import { type OwnedReplica, replicaAt, until } from './router-support.js';

// The router's lean data path end to end, over raw sockets where the exact bytes matter: the
// endpoint listener (front.ts) answering common requests itself, handing the others to Node's
// http server on the same connection, and the kept-alive pool (upstream.ts) to the replicas.

/** One answer as the client read it off the wire. */
interface Reply {
  status: number;
  reason: string;
  /** The head as sent, status line to the last header line. */
  head: string;
  /** Lower-case names, in order, repeats kept. */
  headers: [string, string][];
  body: Buffer;
}

function all(reply: Reply, name: string): string[] {
  return reply.headers.filter(([n]) => n === name).map(([, value]) => value);
}

function one(reply: Reply, name: string): string | undefined {
  const values = all(reply, name);
  assert.ok(values.length <= 1, `one ${name} header at most, got ${JSON.stringify(values)}`);
  return values[0];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Reads the answer at the start of `buffer`: undefined while it is incomplete. The body is read
 * by content-length, chunked, or until the connection ended; none for 1xx, 204, 304 and `noBody`.
 */
function parseReply(buffer: Buffer, noBody: boolean, ended: boolean): { reply: Reply; size: number } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buffer.toString('latin1', 0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine!);
  if (!match) throw new Error(`not an HTTP answer: ${JSON.stringify(head)}`);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  const status = Number(match[1]);
  const start = end + 4;
  const reply = (body: Buffer, size: number) => ({ reply: { status, reason: match[2]!, head, headers, body }, size });
  if (noBody || status < 200 || status === 204 || status === 304) return reply(Buffer.alloc(0), start);
  const get = (name: string) => headers.find(([n]) => n === name)?.[1];
  if (/chunked/i.test(get('transfer-encoding') ?? '')) {
    const chunks: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        const trailersEnd = buffer.indexOf('\r\n\r\n', lineEnd);
        if (trailersEnd < 0) return undefined;
        return reply(Buffer.concat(chunks), trailersEnd + 4);
      }
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = get('content-length');
  if (length !== undefined) {
    const total = start + Number(length);
    return buffer.length < total ? undefined : reply(buffer.subarray(start, total), total);
  }
  return ended ? reply(buffer.subarray(start), buffer.length) : undefined;
}

/** A client connection over a raw socket: writes exact bytes, reads answers one by one. */
class RawClient {
  private buffer = Buffer.alloc(0);
  /** The router ended its side of the connection. */
  ended = false;
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => this.wake());
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Resolves once the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (error) => (error ? reject(error) : resolve())));
  }

  /** Writes one byte at a time, each in its own write. */
  async trickle(data: string): Promise<void> {
    const bytes = Buffer.from(data, 'latin1');
    for (let i = 0; i < bytes.length; i++) await this.write(bytes.subarray(i, i + 1));
  }

  /** The next whole answer; throws when the connection ends first. */
  async reply(options: { noBody?: boolean } = {}): Promise<Reply> {
    for (;;) {
      const parsed = parseReply(this.buffer, options.noBody ?? false, this.ended || this.closed);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.size);
        return parsed.reply;
      }
      if (this.ended || this.closed) throw new Error(`the connection ended before a whole answer; got ${JSON.stringify(this.buffer.toString('latin1'))}`);
      await this.next();
    }
  }

  /** Waits until the router ends the connection; returns what it sent after the answers read. */
  async untilEnded(): Promise<string> {
    while (!this.ended && !this.closed) await this.next();
    return this.buffer.toString('latin1');
  }

  /** Everything received and not read as an answer yet. */
  unread(): string {
    return this.buffer.toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

/** A scoring request as raw bytes. */
function scoreRequest(body: string, extraHeaders = ''): string {
  return `POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer p\r\nContent-Type: application/json\r\n${extraHeaders}Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
}

/** A request as a replica saw it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface EchoReplica {
  origin: string;
  server: Server;
  seen: Seen[];
  /** Sockets the replica accepted, and those it has seen close. */
  accepted: number;
  closedSockets: number;
  close(): void;
}

/** A replica as Node's http server: answers 200 with `{"n": i, "body": <the request body>}`. */
async function echoReplica(options: { sendDate?: boolean } = {}): Promise<EchoReplica> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    if (options.sendDate === false) res.sendDate = false;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('latin1') };
      seen.push(entry);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ n: seen.length, body: entry.body }));
    });
  });
  const replica: EchoReplica = {
    origin: '',
    server,
    seen,
    accepted: 0,
    closedSockets: 0,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
  server.on('connection', (socket: Socket) => {
    replica.accepted += 1;
    socket.on('close', () => (replica.closedSockets += 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  replica.origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return replica;
}

/** A request a raw replica read: its head parsed minimally, and its content-length body. */
interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Which accepted connection (0, 1, ...) it came on, and its place on that connection. */
  connection: number;
  onConnection: number;
}

interface RawReplica {
  origin: string;
  requests: RawRequest[];
  accepted: number;
  /** Replica-side sockets still open. */
  open: Set<Socket>;
  close(): Promise<void>;
}

/**
 * A replica over a raw socket, to answer with exact bytes: `answer` gets each request (read by
 * its content-length, as the router's pool sends held bodies) and the socket to write to.
 */
async function rawReplica(answer: (request: RawRequest, socket: Socket) => void): Promise<RawReplica> {
  const replica: RawReplica = { origin: '', requests: [], accepted: 0, open: new Set(), close: async () => undefined };
  const server = createNetServer((socket) => {
    const connection = replica.accepted++;
    let onConnection = 0;
    replica.open.add(socket);
    socket.on('close', () => replica.open.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [requestLine, ...lines] = buffer.toString('latin1', 0, end).split('\r\n');
        const [method, url] = requestLine!.split(' ');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const total = end + 4 + Number(headers['content-length'] ?? 0);
        if (buffer.length < total) return;
        const request: RawRequest = { method: method!, url: url!, headers, body: buffer.subarray(end + 4, total), connection, onConnection: onConnection++ };
        buffer = buffer.subarray(total);
        replica.requests.push(request);
        answer(request, socket);
        if (socket.destroyed) return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  replica.origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  replica.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of replica.open) socket.destroy();
      server.close(() => resolve());
    });
  return replica;
}



const settings = (change: Partial<DeploymentRoute> = {}): DeploymentRoute => ({ requestTimeoutMs: 60_000, maxConcurrentPerInstance: 4, instanceCount: 1, ...change });

function route(name: string, port: number, deployments: Record<string, DeploymentRoute>, traffic: Record<string, number> = { blue: 100 }): EndpointRoute {
  return { name, port, authMode: 'key', keys: { primary: 'p', secondary: 's' }, tokenSecret: 'x', traffic, mirror: {}, deployments };
}

/** What onEndpoint sets up: the replicas it routes to, and what it closes after the test. */
interface EndpointSetup {
  name: string;
  replicas: () => readonly LiveReplica[];
  blue?: DeploymentRoute;
  /** The replicas' servers, closed after the router. */
  owned: { close(): unknown }[];
  log?: (line: string) => void;
}

/**
 * One endpoint (deployment blue) routed to `setup.replicas` and a raw client on it; runs `test`
 * with the client and the ids of replicas the router reported unreachable, then closes the
 * client, the router and the replicas' servers, also when the test fails.
 */
async function onEndpoint(setup: EndpointSetup, test: (client: RawClient, unreachable: string[]) => Promise<void>): Promise<void> {
  const unreachable: string[] = [];
  const router = new Router({ replicas: setup.replicas, unreachable: (_e, _d, replica) => unreachable.push(replica.id), log: setup.log });
  const port = await findFreePort();
  let client: RawClient | undefined;
  try {
    await router.upsert(route(setup.name, port, { blue: setup.blue ?? settings() }));
    client = await RawClient.open(port);
    await test(client, unreachable);
  } finally {
    client?.destroy();
    await router.close();
    for (const server of setup.owned) await server.close();
  }
}

/** The JSON an echo replica answered. */
function echoed(reply: Reply): { n: number; body: string } {
  return JSON.parse(reply.body.toString()) as { n: number; body: string };
}

describe('router lean path: answers on one connection', () => {
  let blue: EchoReplica;
  let green: EchoReplica;
  let router: Router;
  let port = 0;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const client = await RawClient.open(port);
    clients.push(client);
    return client;
  };

  before(async () => {
    blue = await echoReplica();
    // green's replica sends no Date: the router adds one.
    green = await echoReplica({ sendDate: false });
    const replicas: Record<string, LiveReplica> = { blue: replicaAt(blue.origin), green: replicaAt(green.origin, 'green/0') };
    router = new Router({ replicas: (_endpoint, deployment) => [replicas[deployment]!] });
    port = await findFreePort();
    await router.upsert(route('lean', port, { blue: settings({ maxConcurrentPerInstance: 64 }), green: settings() }, { blue: 100, green: 0 }));
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await router.close();
    blue.close();
    green.close();
  });

  it('answers 200 with x-request-id, the deployment, content-length, exactly one Date and keep-alive', async () => {
    const client = await open();
    await client.write(scoreRequest('{"a":1}', 'X-Ms-Client-Request-Id: mine\r\n'));
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(reply.reason, 'OK');
    assert.match(one(reply, 'x-request-id')!, UUID);
    assert.equal(blue.seen.at(-1)!.headers['x-request-id'], one(reply, 'x-request-id'), 'the replica got the same request id');
    assert.equal(one(reply, 'azureml-model-deployment'), 'blue');
    assert.equal(one(reply, 'x-ms-client-request-id'), 'mine');
    assert.equal(one(reply, 'content-length'), String(reply.body.length));
    assert.equal(one(reply, 'content-type'), 'application/json');
    assert.equal(all(reply, 'date').length, 1, reply.head);
    assert.equal(one(reply, 'connection'), 'keep-alive');
    assert.equal(one(reply, 'keep-alive'), 'timeout=30');
    assert.equal(one(reply, 'transfer-encoding'), undefined);
    assert.equal(echoed(reply).body, '{"a":1}');
    assert.equal(blue.seen.at(-1)!.headers['content-length'], '7');
    assert.equal(blue.seen.at(-1)!.headers.authorization, undefined, 'the key stays with the router');
    assert.equal(client.ended, false);

    // A replica that sends no Date: the router adds exactly one.
    await client.write(scoreRequest('{}', 'Azureml-Model-Deployment: green\r\n'));
    const dated = await client.reply();
    assert.equal(dated.status, 200);
    assert.equal(one(dated, 'azureml-model-deployment'), 'green');
    assert.equal(all(dated, 'date').length, 1, dated.head);
    assert.ok(Math.abs(Date.parse(one(dated, 'date')!) - Date.now()) < 60_000, 'the Date is now');
  });

  it('answers several requests in turn on one kept-alive connection', async () => {
    const client = await open();
    const before = blue.seen.length;
    for (let i = 0; i < 5; i++) {
      await client.write(scoreRequest(`{"i":${i}}`));
      const reply = await client.reply();
      assert.equal(reply.status, 200);
      assert.equal(echoed(reply).body, `{"i":${i}}`);
      assert.equal(one(reply, 'connection'), 'keep-alive');
    }
    // A GET without a body on the same connection (/swagger.json goes to the replica as is).
    await client.write('GET /swagger.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\n\r\n');
    const swagger = await client.reply();
    assert.equal(swagger.status, 200);
    assert.equal(blue.seen.at(-1)!.method, 'GET');
    assert.equal(blue.seen.at(-1)!.headers['content-length'], undefined);
    assert.equal(blue.seen.length - before, 6);
    assert.equal(client.ended, false);
  });

  it('answers pipelined requests (written in one write) in order', async () => {
    const client = await open();
    await client.write(scoreRequest('"first"') + scoreRequest('"second"'));
    assert.equal(echoed(await client.reply()).body, '"first"');
    assert.equal(echoed(await client.reply()).body, '"second"');

    // The router's own quick answers (404, 401) wait their turn behind the replica's.
    await client.write(
      scoreRequest('"third"') +
        'GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 2\r\n\r\n{}' +
        scoreRequest('"fourth"'),
    );
    const third = await client.reply();
    assert.equal(third.status, 200);
    assert.equal(echoed(third).body, '"third"');
    assert.equal((await client.reply()).status, 404);
    assert.equal((await client.reply()).status, 401);
    const fourth = await client.reply();
    assert.equal(fourth.status, 200);
    assert.equal(echoed(fourth).body, '"fourth"');
    assert.equal(client.unread(), '');
    assert.equal(client.ended, false);
  });

  it('answers thousands of pipelined requests it refuses at once (404), in order, one after the other rather than nested', async () => {
    const client = await open();
    const count = 5000;
    await client.write('GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(count) + scoreRequest('"after them"'));
    for (let i = 0; i < count; i++) assert.equal((await client.reply()).status, 404, `answer ${i + 1}`);
    const last = await client.reply();
    assert.equal(last.status, 200);
    assert.equal(echoed(last).body, '"after them"');
    assert.equal(client.ended, false);
  });

  it('serves a request whose head and body arrive byte by byte', async () => {
    const client = await open();
    await client.trickle(scoreRequest('{"slow":true}'));
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, '{"slow":true}');
    // The connection is in a clean state for the next request, sent whole.
    await client.write(scoreRequest('{"fast":true}'));
    assert.equal(echoed(await client.reply()).body, '{"fast":true}');
  });

  it('answers Connection: close with Connection: close, then closes, answering nothing sent after it', async () => {
    const client = await open();
    await client.write(scoreRequest('{}', 'Connection: close\r\n') + scoreRequest('"never"'));
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(one(reply, 'connection'), 'close');
    assert.equal(one(reply, 'keep-alive'), undefined);
    assert.equal(all(reply, 'date').length, 1);
    assert.equal(await client.untilEnded(), '', 'nothing after the answer');
    assert.ok(!blue.seen.some((seen) => seen.body === '"never"'));
  });

  it('keeps answers apart under load: 16 connections at once, bodies of every size up to 256 KiB', async () => {
    const sizes = [0, 1, 100, 16 * 1024, 64 * 1024 - 1, 64 * 1024 + 1, 200 * 1024, 256 * 1024];
    const connections = await Promise.all(Array.from({ length: 16 }, () => open()));
    await Promise.all(
      connections.map(async (client, c) => {
        for (let r = 0; r < sizes.length; r += 2) {
          const bodies = [r, r + 1].map((i) => `${c}:${i}:`.padEnd(sizes[(c + i) % sizes.length]!, String.fromCharCode(97 + ((c + i) % 26))));
          if (r % 4 === 0) {
            // Pipelined: both in one write.
            await client.write(scoreRequest(bodies[0]!) + scoreRequest(bodies[1]!));
            for (const body of bodies) assert.equal(echoed(await client.reply()).body, body);
          } else {
            for (const body of bodies) {
              await client.write(scoreRequest(body));
              assert.equal(echoed(await client.reply()).body, body);
            }
          }
        }
      }),
    );
    for (const client of connections) assert.equal(client.ended, false);
  });

  it('answers a client that half-closes right after its request, then closes', async () => {
    const client = await open();
    await client.write(scoreRequest('{"half":1}'));
    client.socket.end();
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, '{"half":1}');
    assert.equal(await client.untilEnded(), '');
  });

  it('answers every request a client pipelined before half-closing, in order, then closes', async () => {
    const client = await open();
    await client.write(scoreRequest('"one"') + 'GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n' + scoreRequest('"three"'));
    client.socket.end();
    assert.equal(echoed(await client.reply()).body, '"one"');
    assert.equal((await client.reply()).status, 404);
    assert.equal(echoed(await client.reply()).body, '"three"');
    assert.equal(await client.untilEnded(), '');
  });

  it('answers HEAD with the headers only (content-length kept), and the connection serves the next request', async () => {
    const client = await open();
    await client.write('HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n' + scoreRequest('"next"'));
    const head = await client.reply({ noBody: true });
    assert.equal(head.status, 404);
    assert.ok(Number(one(head, 'content-length')) > 0);
    const next = await client.reply();
    assert.equal(next.status, 200);
    assert.equal(echoed(next).body, '"next"');
  });

  it('a client that stops reading: its answers wait, and all come in order once it reads again', async () => {
    const client = await open();
    client.socket.pause();
    const count = 20_000;
    await client.write('GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(count) + scoreRequest('"last"'));
    client.socket.resume();
    for (let i = 0; i < count; i++) assert.equal((await client.reply()).status, 404, `answer ${i + 1}`);
    assert.equal(echoed(await client.reply()).body, '"last"');
    assert.equal(client.ended, false);
  });
});

describe('router lean path: what it hands to Node\'s http server', () => {
  let blue: EchoReplica;
  let router: Router;
  let port = 0;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const client = await RawClient.open(port);
    clients.push(client);
    return client;
  };
  const NODE_400 = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
  const NODE_431 = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';

  before(async () => {
    blue = await echoReplica();
    router = new Router({ replicas: () => [replicaAt(blue.origin)] });
    port = await findFreePort();
    await router.upsert(route('handed', port, { blue: settings() }));
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await router.close();
    blue.close();
  });

  /** The answer to a plain request on a connection Node's server has taken, proving it still serves it. */
  const stillServes = async (client: RawClient, body: string): Promise<void> => {
    await client.write(scoreRequest(body));
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, body);
    assert.equal(all(reply, 'date').length, 1);
  };

  it('a chunked body: answered, and the connection serves the next request', async () => {
    const client = await open();
    await client.write('POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"ch\r\n8;ext=1\r\nunked":1\r\n1\r\n}\r\n0\r\n\r\n');
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, '{"chunked":1}');
    assert.match(one(reply, 'x-request-id')!, UUID);
    assert.equal(one(reply, 'azureml-model-deployment'), 'blue');
    assert.equal(one(reply, 'content-length'), String(reply.body.length));
    assert.equal(all(reply, 'date').length, 1);
    assert.equal(one(reply, 'connection'), 'keep-alive');
    // Held, so the replica got it with its length.
    assert.equal(blue.seen.at(-1)!.headers['content-length'], '13');
    await stillServes(client, '"after chunked"');
  });

  it('Expect: 100-continue: 100 first, then 200 once the body is sent, on the same connection', async () => {
    const client = await open();
    await client.write('POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n');
    const interim = await client.reply();
    assert.equal(interim.status, 100);
    await client.write('{"e":true}');
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, '{"e":true}');
    await stillServes(client, '"after expect"');
  });

  it('HTTP/1.0: answered with Connection: close, then closed', async () => {
    const client = await open();
    await client.write('POST /score HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer p\r\nContent-Length: 6\r\n\r\n"v1.0"');
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, '"v1.0"');
    assert.equal(one(reply, 'connection'), 'close');
    assert.equal(await client.untilEnded(), '');
  });

  it('a repeated header name: answered (the replica sees both values) on the same connection', async () => {
    const client = await open();
    await client.write(scoreRequest('"repeated"', 'X-Custom: a\r\nX-Custom: b\r\n'));
    const reply = await client.reply();
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).body, '"repeated"');
    assert.equal(blue.seen.at(-1)!.headers['x-custom'], 'a, b');
    await stillServes(client, '"after repeated"');
  });

  it('a lean request then a chunked one on one connection, sent apart and pipelined', async () => {
    const chunked = 'POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n"chunked"\r\n0\r\n\r\n';
    const apart = await open();
    await apart.write(scoreRequest('"lean"'));
    assert.equal(echoed(await apart.reply()).body, '"lean"');
    await apart.write(chunked);
    assert.equal(echoed(await apart.reply()).body, '"chunked"');
    await stillServes(apart, '"then lean again"');

    const pipelined = await open();
    await pipelined.write(scoreRequest('"lean"') + chunked + scoreRequest('"last"'));
    assert.equal(echoed(await pipelined.reply()).body, '"lean"');
    assert.equal(echoed(await pipelined.reply()).body, '"chunked"');
    assert.equal(echoed(await pipelined.reply()).body, '"last"');
    assert.equal(pipelined.unread(), '');
  });

  it('bodies up to the held size are read by the lean path, larger ones by Node\'s server: both reach the replica whole', async () => {
    const small = await echoReplica();
    const bounded = new Router({ replicas: () => [replicaAt(small.origin)], heldBodyBytes: 1024 });
    const smallPort = await findFreePort();
    let client: RawClient | undefined;
    try {
      await bounded.upsert(route('bounded', smallPort, { blue: settings() }));
      client = await RawClient.open(smallPort);
      for (const size of [1024, 1025, 1024, 64 * 1024, 0]) {
        const body = 'b'.repeat(size);
        await client.write(scoreRequest(body));
        const reply: Reply = await client.reply();
        assert.equal(reply.status, 200, `${size} bytes`);
        assert.equal(echoed(reply).body, body, `${size} bytes`);
        assert.equal(small.seen.at(-1)!.headers['content-length'], String(size));
      }
      assert.equal(client.ended, false);
    } finally {
      client?.destroy();
      await bounded.close();
      small.close();
    }
  });

  it('a malformed request line gets Node\'s 400, and the connection closes', async () => {
    for (const line of ['HELLO', 'GET /score HTTP/1.1 extra', 'GET /score HTTP/1.1x']) {
      const client = await open();
      await client.write(`${line}\r\nHost: x\r\n\r\n`);
      assert.equal(await client.untilEnded(), NODE_400, line);
    }
    // After a lean answer on the same connection too.
    const client = await open();
    await client.write(scoreRequest('{}'));
    assert.equal((await client.reply()).status, 200);
    await client.write('HELLO\r\n\r\n');
    assert.equal(await client.untilEnded(), NODE_400);
  });

  it(
    'an HTTP/1.1 request without Host gets Node\'s 400 as before (RFC 9112: a server MUST answer 400)',
    async () => {
      const client = await open();
      await client.write('POST /score HTTP/1.1\r\nAuthorization: Bearer p\r\nContent-Length: 2\r\n\r\n{}');
      const reply = await client.reply();
      assert.equal(reply.status, 400);
      assert.equal(one(reply, 'connection'), 'close');
      assert.equal(await client.untilEnded(), '');
    },
  );

  it('a head over 16 KiB that is still coming gets Node\'s 431, and the connection closes', async () => {
    const client = await open();
    // No end of head yet: the router cannot know more than its size.
    await client.write(`POST /score HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n`);
    assert.equal(await client.untilEnded(), NODE_431);
  });

  it(
    'a whole head over 16 KiB gets Node\'s 431 too, however it arrives',
    async () => {
      const client = await open();
      await client.write(scoreRequest('{}', `X-Big: ${'a'.repeat(20 * 1024)}\r\n`));
      const reply = await client.reply();
      assert.equal(`${reply.head}\r\n\r\n`, NODE_431);
      assert.equal(await client.untilEnded(), '');
    },
  );
});

describe('router lean path: closing the router', () => {
  it(
    'ends a connection handed to Node\'s http server at once, as it ends lean ones',
    async () => {
      const model = await echoReplica();
      const router = new Router({ replicas: () => [replicaAt(model.origin)] });
      const port = await findFreePort();
      let client: RawClient | undefined;
      let closing: Promise<void> | undefined;
      try {
        await router.upsert(route('closing', port, { blue: settings() }));
        client = await RawClient.open(port);
        await client.write('POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
        assert.equal((await client.reply()).status, 200);
        closing = router.close();
        // Closed, the connection can answer nothing more; left open, it answers this request.
        await client.write(scoreRequest('"after close"')).catch(() => undefined);
        const outcome = await client.reply().then(
          (reply) => `answered ${reply.status}`,
          () => 'closed',
        );
        assert.equal(outcome, 'closed');
      } finally {
        client?.destroy();
        await (closing ?? router.close());
        model.close();
      }
    },
  );
});

describe('router lean path: replicas answering in every HTTP/1.1 way', () => {
  let replica: RawReplica;
  let router: Router;
  let port = 0;
  let client: RawClient;

  /** Bytes the raw replica answers with, chosen by the request's x-answer header. */
  const answers: Record<string, (socket: Socket) => void> = {
    plain: (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nplain'),
    chunked: (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      socket.write('6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n');
    },
    'until-close': (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil ');
      socket.end('close');
    },
    continue: (socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n', () =>
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nafter'),
      );
    },
    head: (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12345\r\n\r\n'),
    'no-content': (socket) => socket.write('HTTP/1.1 204 No Content\r\nX-Extra: yes\r\n\r\n'),
    'set-cookies': (socket) => socket.write('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok'),
    'object-names': (socket) => socket.write('HTTP/1.1 200 OK\r\nConstructor: c\r\n__proto__: p\r\nContent-Length: 2\r\n\r\nok'),
  };

  before(async () => {
    replica = await rawReplica((request, socket) => answers[request.headers['x-answer']!]!(socket));
    router = new Router({ replicas: () => [replicaAt(replica.origin)] });
    port = await findFreePort();
    await router.upsert(route('answers', port, { blue: settings() }));
    client = await RawClient.open(port);
  });
  after(async () => {
    client.destroy();
    await router.close();
    await replica.close();
  });

  const ask = async (answer: string, method = 'POST'): Promise<Reply> => {
    const body = method === 'POST' ? '{}' : '';
    await client.write(`${method} /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer p\r\nX-Answer: ${answer}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    return client.reply({ noBody: method === 'HEAD' });
  };

  it('a chunked answer reaches the client whole, with a content-length, and the replica connection is kept', async () => {
    const first = await ask('plain');
    assert.equal(first.body.toString(), 'plain');
    const connections = replica.accepted;
    const reply = await ask('chunked');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'hello world');
    assert.equal(one(reply, 'content-length'), '11');
    assert.equal(one(reply, 'transfer-encoding'), undefined);
    assert.equal(one(reply, 'content-type'), 'text/plain');
    assert.equal((await ask('plain')).body.toString(), 'plain');
    assert.equal(replica.accepted, connections, 'all three on one kept-alive replica connection');
  });

  it('an answer without a length, read until the replica closes, reaches the client whole; the client connection stays', async () => {
    const connections = replica.accepted;
    const reply = await ask('until-close');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'until close');
    assert.equal(one(reply, 'content-length'), '11');
    assert.equal(one(reply, 'connection'), 'keep-alive', 'the replica\'s Connection: close is its own');
    assert.equal((await ask('plain')).body.toString(), 'plain');
    assert.equal(replica.accepted, connections + 1, 'the next request took a new replica connection');
  });

  it('1xx answers before the real one are skipped', async () => {
    const reply = await ask('continue');
    assert.equal(reply.status, 201);
    assert.equal(reply.body.toString(), 'after');
    assert.equal(one(reply, 'link'), undefined, 'the early hint is not mixed into the answer');
    assert.equal(client.unread(), '');
    assert.equal((await ask('plain')).body.toString(), 'plain');
  });

  it('HEAD: the announced length is not waited for, and the replica connection is kept', async () => {
    await ask('plain');
    const connections = replica.accepted;
    const reply = await ask('head', 'HEAD');
    assert.equal(reply.status, 200);
    assert.equal(replica.requests.at(-1)!.method, 'HEAD');
    assert.equal(client.unread(), '', 'no body bytes after a HEAD answer');
    assert.equal((await ask('plain')).body.toString(), 'plain');
    assert.equal(replica.accepted, connections);
  });

  it('204: no body, the replica\'s headers, and the replica connection is kept', async () => {
    await ask('plain');
    const connections = replica.accepted;
    const reply = await ask('no-content');
    assert.equal(reply.status, 204);
    assert.equal(one(reply, 'x-extra'), 'yes');
    assert.equal(one(reply, 'azureml-model-deployment'), 'blue');
    assert.equal(client.unread(), '');
    assert.equal((await ask('plain')).body.toString(), 'plain');
    assert.equal(replica.accepted, connections);
  });

  it('repeated headers of the replica reach the client as repeated lines', async () => {
    const reply = await ask('set-cookies');
    assert.deepEqual(all(reply, 'set-cookie'), ['a=1', 'b=2']);
  });

  it(
    'headers named like members of Object.prototype reach the client as sent',
    async () => {
      const reply = await ask('object-names');
      assert.equal(reply.status, 200);
      assert.deepEqual(all(reply, 'constructor'), ['c']);
      assert.deepEqual(all(reply, '__proto__'), ['p']);
      assert.deepEqual(all(reply, '0'), []);
      assert.deepEqual(all(reply, '1'), []);
    },
  );
});

describe('router lean path: replicas answering broken HTTP', () => {
  it('never passes a bare LF or CR in a replica\'s header value on to the client', async () => {
    const replica = await rawReplica((_request, socket) => socket.write('HTTP/1.1 200 OK\r\nX-Evil: a\nSet-Cookie: injected=1\r\nX-Cr: b\rc\r\nContent-Length: 2\r\n\r\nok'));
    await onEndpoint({ name: 'breaks', replicas: () => [replicaAt(replica.origin)], owned: [replica] }, async (client) => {
      await client.write(scoreRequest('{}'));
      const reply = await client.reply();
      assert.doesNotMatch(reply.head, /[^\r]\n|\r(?!\n)/, JSON.stringify(reply.head));
    });
  });

  it('a replica repeating its content-length is answered at once, not after the request timeout', async () => {
    const replica = await rawReplica((_request, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'));
    // A timeout no request reaches on a machine however loaded, unless it waits for the replica to close.
    const blue = settings({ requestTimeoutMs: 1000 });
    await onEndpoint({ name: 'twice', replicas: () => [replicaAt(replica.origin)], blue, owned: [replica] }, async (client) => {
      await client.write(scoreRequest('{}'));
      const reply = await client.reply();
      assert.notEqual(reply.status, 408, reply.body.toString());
    });
  });
});

describe('router lean path: replica connections that go away', () => {
  it('a replica closing kept-alive connections right after answering never fails the next request', async () => {
    // Answers, then closes the connection (without saying so), as a short keep-alive timeout does.
    const replica = await rawReplica((_request, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    await onEndpoint({ name: 'closing', replicas: () => [replicaAt(replica.origin)], owned: [replica] }, async (client, unreachable) => {
      for (let i = 0; i < 20; i++) {
        await client.write(scoreRequest('{}'));
        const reply: Reply = await client.reply();
        assert.equal(reply.status, 200, `request ${i}: ${reply.body.toString()}`);
        assert.equal(reply.body.toString(), 'ok');
      }
      assert.deepEqual(unreachable, []);
    });
  });

  it('a kept-alive connection the replica drops as the next request arrives: sent again once, on a new connection', async () => {
    // Every connection answers its first request and drops the second unanswered: the race of a
    // keep-alive timeout firing just as the router reuses the connection.
    const replica = await rawReplica((request, socket) => {
      if (request.onConnection === 0) socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${request.body.length}\r\n\r\n${request.body.toString('latin1')}`);
      else socket.destroy();
    });
    await onEndpoint({ name: 'stale', replicas: () => [replicaAt(replica.origin)], owned: [replica] }, async (client, unreachable) => {
      for (let i = 0; i < 5; i++) {
        await client.write(scoreRequest(`"${i}"`));
        const reply: Reply = await client.reply();
        assert.equal(reply.status, 200, `request ${i}: ${reply.body.toString()}`);
        assert.equal(reply.body.toString(), `"${i}"`);
      }
      assert.deepEqual(unreachable, [], 'a stale connection is not a dead replica');
      // Request 0 on connection 0; each later one first on the previous (dropped), then on a new one.
      assert.deepEqual(
        replica.requests.map((request) => [request.body.toString(), request.connection, request.onConnection]),
        [
          ['"0"', 0, 0],
          ['"1"', 0, 1],
          ['"1"', 1, 0],
          ['"2"', 1, 1],
          ['"2"', 2, 0],
          ['"3"', 2, 1],
          ['"3"', 3, 0],
          ['"4"', 3, 1],
          ['"4"', 4, 0],
        ],
      );
    });
  });

  it('a reused connection the replica drops only after working on the request: not sent to it again (the router decides)', async () => {
    // The first request of each connection is answered; a later one is worked on (held well past
    // the pool's bound for a stale connection) and then dropped unanswered.
    const replica = await rawReplica((request, socket) => {
      if (request.onConnection === 0) socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${request.body.length}\r\n\r\n${request.body.toString('latin1')}`);
      else setTimeout(() => socket.destroy(), 300);
    });
    const live = replicaAt(replica.origin);
    await onEndpoint({ name: 'worked', replicas: () => [live], owned: [replica] }, async (client, unreachable) => {
      await client.write(scoreRequest('"first"'));
      assert.equal((await client.reply()).status, 200);
      await client.write(scoreRequest('"worked on"'));
      // No other replica: Azure's answer for no ready replica (503), and the replica leaves rotation, as for any dropped connection.
      assert.equal((await client.reply()).status, 503);
      assert.equal(replica.requests.filter((request) => request.body.toString() === '"worked on"').length, 1);
      assert.deepEqual(unreachable, ['blue/0']);
    });
  });

  it('Node replicas closing idle connections (closeIdleConnections, a 1 ms keep-alive timeout) never fail the next request', async () => {
    const model = await echoReplica();
    await onEndpoint({ name: 'idle', replicas: () => [replicaAt(model.origin)], owned: [model] }, async (client, unreachable) => {
      for (let i = 0; i < 5; i++) {
        await client.write(scoreRequest(`"${i}"`));
        assert.equal(echoed(await client.reply()).body, `"${i}"`);
        const closedBefore = model.closedSockets;
        model.server.closeIdleConnections();
        await until('the replica has closed its idle connection', () => model.closedSockets > closedBefore);
      }
      model.server.keepAliveTimeout = 1;
      for (let i = 0; i < 20; i++) {
        await client.write(scoreRequest(`"${i}"`));
        const reply: Reply = await client.reply();
        assert.equal(reply.status, 200, reply.body.toString());
        assert.equal(echoed(reply).body, `"${i}"`);
      }
      assert.deepEqual(unreachable, []);
    });
  });

  it('a replica that drops every connection unanswered: out of rotation and 503 (no ready replica), or the request goes to another ready replica', async () => {
    const dead = await rawReplica((_request, socket) => socket.destroy());
    const live = await echoReplica();
    const deadReplica = replicaAt(dead.origin, 'blue/0');
    const liveReplica = replicaAt(live.origin, 'blue/1');
    let replicas: OwnedReplica[] = [deadReplica];
    const logged: string[] = [];
    await onEndpoint({ name: 'dead', replicas: () => replicas, owned: [dead, live], log: (line) => logged.push(line) }, async (client, unreachable) => {
      await client.write(scoreRequest('"alone"'));
      const failed = await client.reply();
      assert.equal(failed.status, 503);
      assert.deepEqual(JSON.parse(failed.body.toString()), {
        message: 'Deployment blue has no ready replica: the replica the request went to stopped answering (it may have crashed) and no other was ready in time (request_settings.request_timeout_ms: 60000 ms).',
      });
      assert.equal(one(failed, 'azureml-model-deployment'), 'blue');
      assert.deepEqual(unreachable, ['blue/0']);
      assert.equal(dead.requests.length, 1, 'a new connection that fails is not sent again to the same replica');
      assert.deepEqual(logged, [], 'a dead replica is the deployment\'s trouble, not an error of oep');

      // The dead replica first (ties go to the first), a live one next: the request moves over.
      replicas = [deadReplica, liveReplica];
      await client.write(scoreRequest('"moved"'));
      const moved = await client.reply();
      assert.equal(moved.status, 200);
      assert.equal(echoed(moved).body, '"moved"');
      assert.deepEqual(unreachable, ['blue/0', 'blue/0']);
      assert.equal(client.ended, false, 'the client connection stays');
    });
  });

  it('a replica answering malformed HTTP: 502 Bad Gateway, not taken out of rotation, and the request not sent again elsewhere', async () => {
    const bad = await rawReplica((_request, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok'));
    const good = await echoReplica();
    const replicas = [replicaAt(bad.origin, 'blue/0'), replicaAt(good.origin, 'blue/1')];
    await onEndpoint({ name: 'malformed', replicas: () => replicas, owned: [bad, good] }, async (client, unreachable) => {
      await client.write(scoreRequest('"once"'));
      const reply = await client.reply();
      assert.deepEqual(
        { status: reply.status, unreachable, resentTo: good.seen.map((seen) => seen.body) },
        { status: 502, unreachable: [], resentTo: [] },
      );
    });
  });

  it('a replica that never answers: 408 after request_timeout_ms, and its connection is not reused', async () => {
    let hang = true;
    const replica = await rawReplica((request, socket) => {
      if (!hang) socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${request.body.length}\r\n\r\n${request.body.toString('latin1')}`);
    });
    // A short timeout: it can fire late on a loaded machine, never early, so the answer is always 408.
    const blue = settings({ requestTimeoutMs: 200 });
    await onEndpoint({ name: 'hang', replicas: () => [replicaAt(replica.origin)], blue, owned: [replica] }, async (client) => {
      await client.write(scoreRequest('"hang"'));
      const reply = await client.reply();
      assert.equal(reply.status, 408);
      assert.deepEqual(JSON.parse(reply.body.toString()), { message: 'Request timed out after 200 ms (request_settings.request_timeout_ms of deployment blue).' });
      assert.equal(one(reply, 'azureml-model-deployment'), 'blue');
      assert.equal(one(reply, 'connection'), 'keep-alive');
      await until('the router has dropped the connection it gave up on', () => replica.open.size === 0);

      hang = false;
      await client.write(scoreRequest('"answered"'));
      const next = await client.reply();
      assert.equal(next.status, 200);
      assert.equal(next.body.toString(), '"answered"');
      assert.equal(replica.requests.at(-1)!.connection, 1, 'on a new connection');
    });
  });
});

describe('front: the idle keep-alive limit', () => {
  // The keep-alive clock runs between requests only: measured from the last answer, it once cut
  // a connection whose request body was still arriving.
  it('does not cut a connection while a request body is still arriving', async () => {
    // A body trickling in over several times the keep-alive limit, one byte every 50 ms.
    const front = new Front({
      leanBodyBytes: 1024,
      keepAliveMs: 1000,
      fallback: createServer(),
      onRequest: (request) => request.respond({ status: 200, headers: { 'content-length': request.body.length }, body: request.body }),
    });
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    const address = front.server.address();
    let client: RawClient | undefined;
    try {
      client = await RawClient.open(typeof address === 'object' && address ? address.port : 0);
      const body = 'x'.repeat(60);
      await client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      for (const byte of body) {
        if (client.closed || client.ended) break;
        await client.write(byte).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const reply = await client.reply();
      assert.equal(reply.status, 200);
      assert.equal(reply.body.toString(), body);
    } finally {
      client?.destroy();
      await front.close();
    }
  });
});
