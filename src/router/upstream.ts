import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Agent } from 'undici';
import { AnswerPipe, BufferRecycler, HELD_ANSWER_BYTES } from './answer.js';
import { forward, ForwardTimeoutError, type AnswerLimits, type ForwardRequest, type ForwardResponse } from './forward.js';
import { ChunkedDecoder, hasNoBody, parseResponseHead, serializeRequest, type ResponseHead } from './http1.js';

/** Idle connections kept per replica (undici's pool had 256); more are closed when they come back. */
const MAX_IDLE_PER_ORIGIN = 256;
/**
 * An idle connection unused this long is closed (undici's default): shorter than the usual server
 * keep-alive timeouts (Node's 5 s), so the replica rarely closes a connection as it is reused.
 */
const IDLE_TIMEOUT_MS = 4_000;
/**
 * A reused connection that fails this soon after the request was written, before any answer, is
 * taken for one the replica had closed before the request came (the race the timeout above makes
 * rare), and the request is sent again on a new connection. A failure later than this is left to
 * the router (the replica may have run the request): no second try on the same replica. The bound
 * is generous because a busy event loop notices a failure late.
 */
const STALE_FAILURE_MS = 100;

/**
 * How the router reaches replicas. A held body (the common case) goes through the lean pool
 * below: one write per request over kept-alive connections, the answer parsed in place. A
 * streamed body goes through undici (`forward`), which reads it at the replica's pace. Either
 * way an answer up to `heldAnswerBytes` is held whole and a larger one streams (see answer.ts).
 */
export class Upstreams {
  private readonly pool: ConnectionPool;
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

  constructor(private readonly limits: AnswerLimits = {}) {
    this.pool = new ConnectionPool(limits.heldAnswerBytes ?? HELD_ANSWER_BYTES);
  }

  forward(request: ForwardRequest): Promise<ForwardResponse> {
    if (request.body instanceof Readable) return forward(this.agent, request, this.limits);
    return this.pool.send(request as ForwardRequest & { body?: Buffer });
  }

  async close(): Promise<void> {
    this.pool.close();
    await this.agent.close();
  }
}

interface Origin {
  host: string;
  port: number;
  /** The `host` header. */
  authority: string;
  idle: Connection[];
}

/** Kept-alive HTTP/1.1 connections to replicas, one request at a time on each. */
class ConnectionPool {
  private readonly origins = new Map<string, Origin>();
  private sweeper?: NodeJS.Timeout;
  private closed = false;

  constructor(readonly heldAnswerBytes: number) {}

  send(request: ForwardRequest & { body?: Buffer }): Promise<ForwardResponse> {
    const origin = this.origin(request.origin);
    const bytes = serializeRequest(request.method, request.path, origin.authority, request.headers, request.body);
    return new Promise((resolve, reject) => {
      const exchange = new InFlight(request.method, request.timeoutMs, resolve, reject);
      if (request.timeoutMs !== undefined) {
        exchange.timer = setTimeout(() => {
          exchange.timedOut = true;
          exchange.connection?.socket.destroy();
        }, request.timeoutMs);
      }
      this.start(origin, exchange, bytes, true);
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const origin of this.origins.values()) {
      for (const connection of origin.idle) connection.socket.destroy();
      origin.idle.length = 0;
    }
  }

  /** Sends on an idle connection, or a new one. A reused connection that fails before any answer (the replica had just closed it) is retried once on a new one. */
  private start(origin: Origin, exchange: InFlight, bytes: Buffer, mayReuse: boolean): void {
    const reused = mayReuse ? origin.idle.pop() : undefined;
    const connection = reused ?? new Connection(origin, this);
    exchange.onStale = reused ? () => this.start(origin, exchange, bytes, false) : undefined;
    connection.send(exchange, bytes);
  }

  /** A connection is free again: keep it (up to the cap) for the next request. */
  release(connection: Connection): void {
    const idle = connection.origin.idle;
    // After close() (a request still in flight then), nothing is kept.
    if (this.closed || idle.length >= MAX_IDLE_PER_ORIGIN) {
      connection.socket.destroy();
      return;
    }
    connection.idleSince = Date.now();
    idle.push(connection);
    this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
  }

  forget(connection: Connection): void {
    const idle = connection.origin.idle;
    const index = idle.indexOf(connection);
    if (index >= 0) idle.splice(index, 1);
  }

  private sweep(): void {
    const oldest = Date.now() - IDLE_TIMEOUT_MS;
    for (const origin of this.origins.values()) {
      for (const connection of origin.idle.filter((c) => c.idleSince < oldest)) connection.socket.destroy();
    }
  }

  private origin(url: string): Origin {
    let origin = this.origins.get(url);
    if (!origin) {
      const parsed = new URL(url);
      origin = { host: parsed.hostname, port: Number(parsed.port || 80), authority: parsed.host, idle: [] };
      this.origins.set(url, origin);
    }
    return origin;
  }
}

/** One request and its answer as it arrives. */
class InFlight {
  head?: ResponseHead;
  chunks: Buffer[] = [];
  bytes = 0;
  /** Body bytes expected (content-length), or undefined: chunked or until the connection closes. */
  expected?: number;
  chunked?: ChunkedDecoder;
  untilClose = false;
  keepAlive = true;
  /** Bytes of the answer received so far (head included). */
  received = 0;
  timer?: NodeJS.Timeout;
  timedOut = false;
  /** The connection carrying it now. */
  connection?: Connection;
  /** When it was written to that connection (performance.now()). */
  sentAt = 0;
  onStale?: () => void;
  /** Set once the answer streams (too large to hold): the promise has resolved with it. */
  pipe?: AnswerPipe;
  private settled = false;

  constructor(
    readonly method: string,
    readonly timeoutMs: number | undefined,
    private readonly resolve: (response: ForwardResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  succeed(): void {
    if (this.pipe) return this.pipe.finish();
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const chunks = this.chunked ? this.chunked.chunks : this.chunks;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.resolve({ status: this.head!.status, headers: this.head!.headers, body });
  }

  fail(error: Error): void {
    if (this.pipe) return this.pipe.fail(error);
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(this.timedOut ? new ForwardTimeoutError(`no answer within ${this.timeoutMs} ms`) : error);
  }

  /**
   * The answer is too large to hold: resolves now with a stream of its body (what came so far
   * first). The deadline no longer applies (the request is answered); a replica that stops
   * sending while the client reads fails the stream after the same time instead.
   */
  stream(connection: Connection, length: number | undefined, held: Buffer[]): AnswerPipe {
    this.settled = true;
    clearTimeout(this.timer);
    const pipe = new AnswerPipe(
      length,
      {
        resume: () => {
          if (connection.carries(this)) connection.socket.resume();
        },
        abort: () => {
          if (connection.carries(this)) connection.abandon();
        },
      },
      this.timeoutMs === undefined ? undefined : { ms: this.timeoutMs, error: () => new ForwardTimeoutError(`the answer stalled for ${this.timeoutMs} ms`) },
    );
    for (const chunk of held) pipe.push(chunk);
    this.pipe = pipe;
    this.resolve({ status: this.head!.status, headers: this.head!.headers, body: EMPTY, stream: pipe });
    return pipe;
  }
}

const EMPTY = Buffer.alloc(0);

const readBuffer = Buffer.allocUnsafe(64 * 1024);
/** Buffers for the pieces of streamed answers (a read each), back once the client's socket took them. */
const streamBuffers = new BufferRecycler(readBuffer.length, 64);

class Connection {
  readonly socket: Socket;
  idleSince = 0;
  private current?: InFlight;
  private buffer?: Buffer;

  constructor(
    readonly origin: Origin,
    private readonly pool: ConnectionPool,
  ) {
    // `onread` hands each read straight to onData, past the stream machinery (a read buffer shared
    // by every connection: onData copies what it keeps).
    this.socket = connect({
      host: origin.host,
      port: origin.port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (bytes: number, buffer: Uint8Array) => {
          const exchange = this.current;
          if (exchange?.pipe && !exchange.chunked) this.onStreamData(exchange, exchange.pipe, buffer, bytes);
          else this.onData(Buffer.from(buffer.subarray(0, bytes)));
          return true;
        },
      },
    });
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error) => this.onClosed(error));
    this.socket.on('close', () => this.onClosed(connectionError('ECONNRESET', 'the replica closed the connection before answering')));
  }

  /** Whether this connection still carries the exchange's answer. */
  carries(exchange: InFlight): boolean {
    return this.current === exchange;
  }

  /** The answer's reader left: the rest of it is not read, so the connection cannot be reused. */
  abandon(): void {
    this.current = undefined;
    this.socket.destroy();
  }

  send(exchange: InFlight, bytes: Buffer): void {
    this.current = exchange;
    exchange.connection = this;
    exchange.sentAt = performance.now();
    this.buffer = undefined;
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    const exchange = this.current;
    if (!exchange) {
      // Bytes nobody asked for: the connection cannot be trusted any more.
      this.socket.destroy();
      return;
    }
    exchange.received += chunk.length;
    try {
      if (!exchange.head) {
        let data = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
        let head = parseResponseHead(data);
        // 100 Continue and friends: the real answer follows.
        while (head && head.status >= 100 && head.status < 200) {
          data = data.subarray(head.size);
          head = parseResponseHead(data);
        }
        if (!head) {
          this.buffer = data.length > 0 ? data : undefined;
          return;
        }
        this.buffer = undefined;
        exchange.head = head;
        const connectionHeader = head.headers.connection;
        if (head.http10 || (typeof connectionHeader === 'string' && /close/i.test(connectionHeader))) exchange.keepAlive = false;
        chunk = data.subarray(head.size);
        const transferEncoding = head.headers['transfer-encoding'];
        const length = contentLength(head.headers['content-length']);
        if (hasNoBody(exchange.method, head.status)) exchange.expected = 0;
        else if (transferEncoding !== undefined) exchange.chunked = new ChunkedDecoder();
        else if (length !== undefined) exchange.expected = length;
        else {
          exchange.untilClose = true;
          exchange.keepAlive = false;
        }
      }
      const held = this.pool.heldAnswerBytes;
      if (exchange.chunked) {
        const decoder = exchange.chunked;
        const done = chunk.length > 0 && decoder.push(chunk);
        if (exchange.pipe) {
          // Streaming: the decoded pieces go on at once (the decoder keeps none of them).
          let flowing = true;
          for (const piece of decoder.chunks.splice(0)) flowing = exchange.pipe.push(piece);
          if (!flowing && !done) this.socket.pause();
        } else if (!done && decoder.bytes > held) {
          if (!exchange.stream(this, undefined, decoder.chunks.splice(0)).push(EMPTY)) this.socket.pause();
        }
        if (done) {
          if (decoder.extra) exchange.keepAlive = false;
          this.complete(exchange);
        }
        return;
      }
      if (exchange.pipe) {
        // Streaming: pass it on, up to what was announced.
        const rest = exchange.expected === undefined ? chunk.length : exchange.expected - exchange.bytes;
        const piece = chunk.length > rest ? chunk.subarray(0, rest) : chunk;
        exchange.bytes += piece.length;
        if (chunk.length > rest) exchange.keepAlive = false;
        const flowing = exchange.pipe.push(piece);
        if (exchange.expected !== undefined && exchange.bytes >= exchange.expected) this.complete(exchange);
        else if (!flowing) this.socket.pause();
        return;
      }
      if (chunk.length > 0) {
        exchange.chunks.push(chunk);
        exchange.bytes += chunk.length;
      }
      if (exchange.expected !== undefined && exchange.bytes >= exchange.expected) {
        if (exchange.bytes > exchange.expected) {
          // More than announced: keep what was announced, and do not reuse the connection.
          const all = Buffer.concat(exchange.chunks);
          exchange.chunks = [all.subarray(0, exchange.expected)];
          exchange.keepAlive = false;
        }
        this.complete(exchange);
      } else if ((exchange.expected ?? exchange.bytes) > held) {
        // Too large to hold (announced, or read so far until the close): stream what came and the rest.
        const pieces = exchange.chunks;
        exchange.chunks = [];
        if (!exchange.stream(this, exchange.expected, pieces).push(EMPTY)) this.socket.pause();
      }
    } catch (error) {
      this.current = undefined;
      this.socket.destroy();
      // Not a dead replica: it answered, wrongly. The router answers 500 and keeps it in rotation.
      exchange.fail(connectionError('REPLICA_BAD_ANSWER', `the replica's answer is not valid HTTP: ${(error as Error).message}`));
    }
  }

  /**
   * A read of an answer that streams with a known length (or until the close): copied into a
   * reused buffer, given back once the client's socket took it.
   */
  private onStreamData(exchange: InFlight, pipe: AnswerPipe, buffer: Uint8Array, bytes: number): void {
    exchange.received += bytes;
    const rest = exchange.expected === undefined ? bytes : exchange.expected - exchange.bytes;
    const length = Math.min(bytes, rest);
    if (bytes > rest) exchange.keepAlive = false;
    let flowing = true;
    if (length > 0) {
      const piece = streamBuffers.take();
      piece.set(buffer.subarray(0, length));
      exchange.bytes += length;
      flowing = pipe.push(piece.subarray(0, length), () => streamBuffers.give(piece));
    }
    if (exchange.expected !== undefined && exchange.bytes >= exchange.expected) this.complete(exchange);
    else if (!flowing) this.socket.pause();
  }

  private complete(exchange: InFlight): void {
    this.current = undefined;
    exchange.succeed();
    if (exchange.keepAlive && !this.socket.destroyed && this.socket.readyState === 'open') {
      // A streamed answer may have paused the socket; the next request reads it.
      if (this.socket.isPaused()) this.socket.resume();
      this.pool.release(this);
    } else this.socket.destroy();
  }

  private onEnd(): void {
    const exchange = this.current;
    if (exchange?.untilClose && exchange.head) {
      this.current = undefined;
      exchange.succeed();
    }
    this.socket.destroy();
  }

  private onClosed(error: Error): void {
    this.pool.forget(this);
    const exchange = this.current;
    if (!exchange) return;
    this.current = undefined;
    this.socket.destroy();
    const retry = exchange.onStale;
    if (retry && exchange.received === 0 && !exchange.timedOut && performance.now() - exchange.sentAt <= STALE_FAILURE_MS) {
      // A kept-alive connection the replica had closed just before this request: once more, on a new one.
      exchange.onStale = undefined;
      return retry();
    }
    exchange.fail(error);
  }
}

/** A response's content-length: one number, or the same number repeated; throws on anything else. */
function contentLength(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  if (!values.every((each) => /^\d{1,15}$/.test(each) && each === values[0])) throw new Error(`the content-length ${JSON.stringify(value)} is not valid`);
  return Number(values[0]);
}

function connectionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
