import type { Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TlsOptions } from 'node:tls';
import type { AnswerStream } from './answer.js';
import type { ConnectionBudget, Tracked } from './connection-budget.js';
import { MAX_HEAD_BYTES, parseRequestHead, serializeResponse, type RequestHead } from './http1.js';

/** What the router answers with: status, an optional reason phrase, headers, and the whole body. */
export interface Answer {
  status: number;
  reason?: string;
  headers: Record<string, string | string[] | number>;
  body: Buffer;
  /**
   * A body too large to hold (then `body` is empty): written after the head as it comes, at the
   * pace the client reads it; without a content-length in `headers`, chunked.
   */
  stream?: AnswerStream;
}

/** A request the lean path took whole: its head and its body, already read. */
export interface LeanRequest {
  readonly head: RequestHead;
  readonly body: Buffer;
  /** Sends the answer (once; later calls do nothing). */
  respond(answer: Answer): void;
}

export interface FrontOptions {
  /** Requests whose body is larger than this (or unknown) go to `fallback`. */
  leanBodyBytes: number;
  keepAliveMs: number;
  /** Takes the requests the lean path does not, and the rest of their connection. */
  fallback: HttpServer;
  onRequest(request: LeanRequest): void;
  /**
   * HTTPS on the same port: the endpoint's certificate and private key (PEM), one secure context
   * per endpoint. The lean path and the fallback then read and write the decrypted socket.
   */
  tls?: FrontCertificate;
  /** false: every connection goes to `fallback` as it comes (benchmarks compare the two paths); default true. */
  lean?: boolean;
  /**
   * The router's connection budget, shared by its endpoints (connection-budget.ts): each new
   * connection is admitted there (others shed at a cap) or refused with 503.
   */
  budget?: ConnectionBudget;
  /** The endpoint's name, the budget's per-endpoint group. */
  endpoint?: string;
}

/** An endpoint's certificate and its private key, PEM. */
export interface FrontCertificate {
  cert: string;
  key: string;
}

/** The first byte of a TLS connection (a handshake record); anything else on an HTTPS port is refused. */
const TLS_HANDSHAKE = 0x16;

/**
 * Bodies up to this size are read by the lean path before the router sees the request (a scoring
 * request's usual size). A larger body goes to Node's server, where the router decides on the
 * head (path, credential, 429, 503) before reading it, so a refused client never makes the daemon
 * hold its body.
 */
export const LEAN_BODY_BYTES = 64 * 1024;

/** A request head still incomplete after this long closes the connection (Node's headersTimeout)... */
const HEAD_TIMEOUT_MS = 60_000;
/** ...and a request whose body is still incomplete after this long (Node's requestTimeout). */
const REQUEST_TIMEOUT_MS = 300_000;
/** Bytes a client may send ahead (pipelining) while a request is answered before reading pauses. */
const AHEAD_BYTES = 1024 * 1024;

/**
 * The endpoint's listener. The common request (HTTP/1.1, a body with a content-length that fits
 * in memory, no `Expect`) is read, parsed and answered here with one write each way, which costs
 * a fraction of Node's http server. Anything else (chunked or large bodies, `Expect:
 * 100-continue`, HTTP/1.0, malformed or repeated header lines, upgrades) hands the connection,
 * with the bytes already read, to `fallback`, a Node http server that never listens itself, so
 * every such case keeps Node's behaviour.
 */
export class Front {
  readonly server: Server;
  private readonly connections = new Set<LeanConnection>();
  /** Connections given to the fallback server, closed with the front. */
  private readonly handedOver = new Set<Socket>();
  /** HTTPS: the TLS server that never listens itself; it is handed each connection that starts a handshake. */
  private readonly secure?: TlsServer;
  /** HTTPS: TCP connections before their TLS session is up (or their plain request refused). */
  private readonly raw = new Set<Socket>();
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly options: FrontOptions) {
    if (options.tls) {
      this.secure = createTlsServer({ ...secureOptions(options.tls), handshakeTimeout: HEAD_TIMEOUT_MS }, (socket) => this.accept(socket));
      // A failed handshake (a client that does not trust the CA, garbage): Node ends the socket; nothing to log per connection.
      this.secure.on('tlsClientError', () => undefined);
    }
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      const slot = this.admit(socket);
      if (slot === null) return refuseConnection(socket, this.secure !== undefined);
      if (this.secure) this.sniff(socket, slot);
      else this.accept(socket, slot);
    });
    // Node's http server arms its header and request timeouts (and tracks its connections) once
    // it is listening; the fallback never listens itself, so it is told it is.
    options.fallback.emit('listening');
  }

  /** HTTPS: a new certificate (renewed) for the connections from now on. */
  setCertificate(certificate: FrontCertificate): void {
    this.secure?.setSecureContext(secureOptions(certificate));
  }

  /**
   * `oep daemon restart`: the plain connections with nothing in flight, for the keeper to pass to
   * the next daemon; idle TLS and Node-server connections are closed instead; `remaining` counts
   * the connections still answering (release them on a later call).
   */
  releaseIdle(): { released: Socket[]; remaining: number } {
    const released: Socket[] = [];
    let remaining = 0;
    for (const connection of [...this.connections]) {
      const outcome = connection.release(this.secure === undefined);
      if (outcome === 'busy') remaining += 1;
      else if (outcome) released.push(outcome);
    }
    this.options.fallback.closeIdleConnections();
    for (const socket of this.handedOver) if (!socket.destroyed) remaining += 1;
    remaining += this.raw.size;
    return { released, remaining };
  }

  /** Stops accepting and ends every connection, lean or handed over. */
  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
      for (const connection of this.connections) connection.socket.destroy();
      this.connections.clear();
      for (const socket of this.handedOver) socket.destroy();
      this.handedOver.clear();
      for (const socket of this.raw) socket.destroy();
      this.raw.clear();
      this.options.fallback.closeAllConnections();
      // Stops the fallback's timeout checks; it never listened, so there is nothing else to close.
      this.options.fallback.close(() => undefined);
    });
  }

  /**
   * HTTPS: a connection whose first byte starts a TLS handshake goes to the TLS server (the byte
   * put back first); anything else is a plain request to an HTTPS port, answered 400 as nginx does.
   */
  private sniff(socket: Socket, slot?: BudgetSlot): void {
    // The handshake (or a plain request's head) is still to come: a slow head to the budget.
    if (slot) this.options.budget!.markHead(slot);
    this.raw.add(socket);
    socket.once('close', () => this.raw.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy());
    // A client that goes before its first byte: nothing to answer (the server keeps half-open sockets otherwise).
    const gone = (): void => void socket.destroy();
    socket.once('end', gone);
    socket.once('data', (chunk: Buffer) => {
      socket.off('end', gone);
      socket.pause();
      if (chunk[0] !== TLS_HANDSHAKE) return refusePlain(socket);
      socket.setTimeout(0);
      socket.unshift(chunk);
      this.secure!.emit('connection', socket);
    });
  }

  /**
   * A new TCP connection in the budget: a slot (released when it closes), undefined without a
   * budget, or null when refused (nothing could be shed).
   */
  private admit(socket: Socket): BudgetSlot | undefined | null {
    const budget = this.options.budget;
    if (!budget) return undefined;
    const slot = new BudgetSlot(this.options.endpoint ?? '', socket.remoteAddress ?? '', socket);
    if (!budget.admit(slot)) return null;
    socket.once('close', () => budget.release(slot));
    return slot;
  }

  private accept(socket: Socket, admitted?: BudgetSlot): void {
    let slot = admitted;
    if (this.options.budget && this.secure) {
      // HTTPS: the slot the TCP connection got, now carried by its TLS session.
      const raw = (socket as unknown as { _parent?: Socket })._parent;
      slot = raw ? slots.get(raw) : undefined;
      if (slot) {
        slot.socket = socket;
        const budget = this.options.budget;
        socket.once('close', () => budget.release(slot!));
      }
    }
    if (slot) this.options.budget!.markIdle(slot);
    if (this.options.lean === false) {
      if (slot) this.options.budget!.markNode(slot);
      this.handedOver.add(socket);
      socket.once('close', () => this.handedOver.delete(socket));
      this.options.fallback.emit('connection', socket);
      return;
    }
    const connection = new LeanConnection(
      socket,
      this.options,
      () => this.connections.delete(connection),
      () => {
        this.handedOver.add(socket);
        socket.once('close', () => this.handedOver.delete(socket));
      },
      slot,
    );
    this.connections.add(connection);
    this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const connection of this.connections) connection.expire(now);
  }
}

class LeanConnection {
  /** What came and is not answered yet, in pieces: joined once a request is whole, not per read. */
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** The head of the request being received, once complete, and that request's size in bytes. */
  private head?: RequestHead;
  private total = 0;
  /** A request is being answered. */
  private busy = false;
  /** Answers wait in the socket for a client that does not read them: take no more requests. */
  private draining = false;
  /** next() is taking requests (an answer given at once must not recurse into it). */
  private dispatching = false;
  /** The client finished sending: what came whole is answered, then the connection ends. */
  private ended = false;
  /** The answer being written as it comes from the replica (busy until it ends). */
  private streaming?: AnswerStream;
  /** No more requests are taken on this connection (it ends, or Node's server has it). */
  private closing = false;
  private lastActive = Date.now();
  /** When the first byte of the request being received came. */
  private requestSince?: number;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onGone = (): void => this.gone();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.next();
  };
  private readonly onDrain = (): void => {
    // A streamed answer goes on once the client has read what was written.
    if (this.streaming) return this.streaming.resume();
    this.draining = false;
    this.lastActive = Date.now();
    if (this.slot && !this.busy) this.options.budget!.markIdle(this.slot);
    this.socket.resume();
    this.next();
  };

  constructor(
    readonly socket: Socket,
    private readonly options: FrontOptions,
    private readonly forget: () => void,
    private readonly handedOver: () => void,
    /** Its place in the router's connection budget (idle, head or busy as it goes). */
    private readonly slot?: BudgetSlot,
  ) {
    socket.on('data', this.onData);
    socket.on('error', this.onGone);
    socket.on('close', this.onGone);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
  }

  expire(now: number): void {
    // Not while answering, nor while an answer is still being written to a slow reader.
    if (this.busy || this.socket.writableLength > 0) return;
    const expired =
      this.requestSince === undefined
        ? now - this.lastActive > this.options.keepAliveMs
        : now - this.requestSince > (this.head ? REQUEST_TIMEOUT_MS : HEAD_TIMEOUT_MS);
    if (expired) this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    // After the last answer of the connection nothing more is read: it is dropped, not kept.
    if (this.closing) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.busy || this.draining) {
      if (this.bytes > AHEAD_BYTES) this.socket.pause();
      return;
    }
    this.next();
  }

  /** Takes requests from what came while none is being answered (several, when answers come at once). */
  private next(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (!this.busy && !this.draining && !this.closing && this.bytes > 0 && this.takeOne());
    } finally {
      this.dispatching = false;
    }
    // A client that finished sending gets the answers to what it sent whole, then the end.
    if (this.ended && !this.busy && !this.closing) this.close();
  }

  /** Starts the next request if it has come whole; false when more bytes are needed or the connection was handed over. */
  private takeOne(): boolean {
    if (this.requestSince === undefined) {
      this.requestSince = Date.now();
      if (this.slot) this.options.budget!.markHead(this.slot);
    }
    if (!this.head) {
      const buffer = this.joined();
      const head = parseRequestHead(buffer);
      if (head === undefined) {
        // A TLS handshake on an HTTP port (a client still on https after --tls off): Node answers
        // 400 at once rather than the lean path waiting for a head that never comes.
        if (buffer.length > MAX_HEAD_BYTES || buffer[0] === TLS_HANDSHAKE) this.handOver();
        return false;
      }
      // Node decides (400, 431, or serving it) whatever the lean path does not take.
      const length = head === null || head.size > MAX_HEAD_BYTES ? undefined : bodyLength(head, this.options.leanBodyBytes);
      if (head === null || length === undefined) {
        this.handOver();
        return false;
      }
      this.head = head;
      this.total = head.size + length;
    }
    if (this.bytes < this.total) return false;
    const head = this.head;
    const buffer = this.joined();
    const rest = buffer.subarray(this.total);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bytes = rest.length;
    this.head = undefined;
    this.requestSince = undefined;
    this.busy = true;
    if (this.slot) this.options.budget!.markBusy(this.slot);
    const keepAlive = !/close/i.test(head.headers.connection ?? '');
    const withoutBody = head.method === 'HEAD';
    let answered = false;
    this.options.onRequest({
      head,
      body: buffer.subarray(head.size, this.total),
      respond: (answer) => {
        if (answered) return;
        answered = true;
        this.answer(answer, keepAlive, withoutBody);
      },
    });
    return true;
  }

  /** Everything unanswered as one buffer. */
  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.bytes)];
    return this.chunks[0]!;
  }

  private answer(answer: Answer, keepAlive: boolean, withoutBody: boolean): void {
    if (answer.stream) {
      if (!withoutBody && !this.socket.destroyed) return this.answerStream(answer, answer.stream, keepAlive);
      answer.stream.abort();
    }
    this.busy = false;
    this.lastActive = Date.now();
    if (this.socket.destroyed) return;
    const keepAliveSeconds = keepAlive ? Math.floor(this.options.keepAliveMs / 1000) : undefined;
    // A HEAD answer has the headers of the GET answer, content-length included, and no body.
    const bytes = serializeResponse(answer.status, answer.reason, answer.headers, withoutBody ? EMPTY : answer.body, keepAliveSeconds);
    if (!this.socket.write(bytes)) {
      // The client is not reading: take nothing more until the socket drains (Node's server pauses too).
      this.draining = true;
      this.socket.pause();
    }
    // A client that has not read its answer yet is not idle: it keeps its slot until it drains.
    else if (this.slot) this.options.budget!.markIdle(this.slot);
    if (!keepAlive) return this.close();
    if (!this.draining && this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  /**
   * Writes the head, then the body as the replica sends it: each piece is written at once, and a
   * full socket (the client reads slowly) stops the replica until it drains, so only a few reads
   * of the answer are ever held. The connection takes no other request until the end.
   */
  private answerStream(answer: Answer, stream: AnswerStream, keepAlive: boolean): void {
    const socket = this.socket;
    const chunked = stream.length === undefined;
    const headers = chunked ? { ...answer.headers, 'transfer-encoding': 'chunked' } : answer.headers;
    const keepAliveSeconds = keepAlive ? Math.floor(this.options.keepAliveMs / 1000) : undefined;
    this.streaming = stream;
    socket.cork();
    socket.write(serializeResponse(answer.status, answer.reason, headers, EMPTY, keepAliveSeconds));
    stream.start({
      chunk: (bytes, written) => {
        if (!chunked) return socket.write(bytes, written);
        socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
        socket.write(bytes, written);
        return socket.write('\r\n', 'latin1');
      },
      end: () => {
        this.streaming = undefined;
        if (chunked) socket.write('0\r\n\r\n', 'latin1');
        this.busy = false;
        this.lastActive = Date.now();
        if (socket.destroyed) return;
        if (socket.writableNeedDrain) {
          this.draining = true;
          socket.pause();
        } else if (this.slot) this.options.budget!.markIdle(this.slot);
        if (!keepAlive) return this.close();
        if (!this.draining && socket.isPaused()) socket.resume();
        this.next();
      },
      error: () => {
        // The head is gone already: the client sees the body cut short, as from the replica itself.
        this.streaming = undefined;
        socket.destroy();
      },
    });
    socket.uncork();
  }

  /** Ends the connection once what was written is sent; what the client still sends is dropped. */
  private close(): void {
    this.closing = true;
    this.chunks = [];
    this.bytes = 0;
    this.socket.end();
    // Keep reading (and dropping) so that the client's unread bytes never turn the end into a reset.
    this.socket.resume();
  }

  /** Gives the connection, and what it has read and not answered yet, to Node's http server. */
  private handOver(): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('error', this.onGone);
    socket.off('close', this.onGone);
    socket.off('end', this.onEnd);
    socket.off('drain', this.onDrain);
    this.forget();
    this.handedOver();
    if (this.slot) this.options.budget!.markNode(this.slot);
    socket.pause();
    if (this.bytes > 0) socket.unshift(this.joined());
    this.chunks = [];
    this.bytes = 0;
    this.closing = true;
    // Node's http server reads a socket it has not consumed in C++ through 'data' events, so the
    // bytes put back above come first, in order.
    const handle = (socket as unknown as { _handle?: { _consumed?: boolean } })._handle;
    if (handle) handle._consumed = true;
    this.options.fallback.emit('connection', socket);
    socket.resume();
  }

  /**
   * `oep daemon restart`: a connection with nothing in flight and nothing read, taken off this
   * process with its reading stopped in the same tick, so that the client's next request stays in
   * the kernel and goes with the descriptor to the next daemon (through the keeper). 'busy' while
   * a request is in flight or bytes wait; undefined when it was closed instead (`handBack` false:
   * TLS, whose session lives in this process).
   */
  release(handBack: boolean): Socket | 'busy' | undefined {
    const socket = this.socket;
    if (this.busy || this.draining || this.streaming || this.closing || this.bytes > 0 || this.requestSince !== undefined || socket.writableLength > 0) return 'busy';
    if (!handBack) {
      this.gone();
      return undefined;
    }
    const handle = (socket as unknown as { _handle?: { readStop?: () => number } })._handle;
    if (!handle?.readStop || socket.readableLength > 0) return 'busy';
    handle.readStop();
    socket.pause();
    socket.off('data', this.onData);
    socket.off('error', this.onGone);
    socket.off('close', this.onGone);
    socket.off('end', this.onEnd);
    socket.off('drain', this.onDrain);
    socket.once('error', () => undefined);
    this.closing = true;
    this.forget();
    return socket;
  }

  private gone(): void {
    this.closing = true;
    // The client left during a streamed answer: the replica's connection goes too.
    this.streaming?.abort();
    this.streaming = undefined;
    this.forget();
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

/** The budget's slots of TCP connections, found again by an HTTPS connection's TLS socket. */
const slots = new WeakMap<Socket, BudgetSlot>();

/** One connection in the router's budget: shedding it closes whichever socket carries it now. */
class BudgetSlot implements Tracked {
  constructor(
    readonly endpoint: string,
    readonly peer: string,
    /** The TCP socket, then (HTTPS) its TLS socket. */
    public socket: Socket,
  ) {
    slots.set(socket, this);
  }

  shed(): void {
    this.socket.destroy();
  }

  /** Node's http server sets `_httpMessage` while it answers on the socket, and clears it after. */
  idleInNode(): boolean {
    return !(this.socket as unknown as { _httpMessage?: unknown })._httpMessage;
  }
}

/** Connections refused at the cap that are still being answered (they close within a second). */
let refusing = 0;
const MAX_REFUSING = 64;

/**
 * A connection that came when every slot of the budget was busy: a 503 that says so (HTTP), then
 * the end; what it sends is dropped, and it is destroyed after a second at most. Past
 * MAX_REFUSING such answers at once, or on an HTTPS port (nothing to answer before a handshake),
 * it is closed at once.
 */
function refuseConnection(socket: Socket, secure: boolean): void {
  if (secure || refusing >= MAX_REFUSING) {
    socket.destroy();
    return;
  }
  refusing += 1;
  socket.once('close', () => (refusing -= 1));
  socket.on('error', () => socket.destroy());
  const body = Buffer.from(
    JSON.stringify({
      message: "Service Unavailable: oep's router has reached its connection limit and every connection is busy with a request; try again.",
    }),
  );
  socket.end(serializeResponse(503, undefined, { 'content-type': 'application/json', 'content-length': body.length, 'retry-after': '1' }, body, undefined));
  socket.resume();
  socket.setTimeout(1000, () => socket.destroy());
}

function secureOptions(certificate: FrontCertificate): TlsOptions {
  // HTTP/1.1 only, said in ALPN, so a client that offers h2 settles on HTTP/1.1 at once.
  return { cert: certificate.cert, key: certificate.key, ALPNProtocols: ['http/1.1'], minVersion: 'TLSv1.2' };
}

/** A plain HTTP request on an HTTPS port: a 400 that says so, then the connection ends (what it still sends is dropped). */
function refusePlain(socket: Socket): void {
  const body = Buffer.from(
    JSON.stringify({
      message: `This endpoint speaks HTTPS: the plain HTTP request was sent to an HTTPS port. Use https://127.0.0.1:${socket.localPort}/ and trust oep's local CA (oep ca path).`,
    }),
  );
  socket.end(serializeResponse(400, 'Bad Request', { 'content-type': 'application/json', 'content-length': body.length }, body, undefined));
  socket.resume();
  socket.setTimeout(5000, () => socket.destroy());
}

/** The body length of a request the lean path takes, or undefined when it leaves it to Node. */
function bodyLength(head: RequestHead, leanBodyBytes: number): number | undefined {
  const headers = head.headers;
  // Without Host an HTTP/1.1 request is a bad request (RFC 9112 section 3.2): Node says so.
  if (headers.host === undefined || headers['transfer-encoding'] !== undefined || headers.expect !== undefined || headers.upgrade !== undefined) return undefined;
  const declared = headers['content-length'];
  if (declared === undefined) return 0;
  if (!/^\d{1,15}$/.test(declared)) return undefined;
  const length = Number(declared);
  return length <= leanBodyBytes ? length : undefined;
}
