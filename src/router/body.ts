import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';

/**
 * Azure's inference images put nginx in front of the scoring server with `client_max_body_size
 * 100m` (104,857,600 bytes): a larger request body is refused with 413.
 */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

/**
 * Bodies up to this size are read whole before they are forwarded, as before: such a request can
 * be given again to another replica, copied to a mirror and logged whole by the data collector.
 * Larger bodies stream to the replica and are never held: the router's memory does not grow with
 * them.
 */
export const HELD_BODY_BYTES = 4 * 1024 * 1024;

/** The request body passed the size limit while it was read. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
  }
}

/** The client went away before its body was complete. */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
  constructor() {
    super('the client closed the connection before its request body was complete');
  }
}

/**
 * The length the request declares (Content-Length), or undefined for a chunked body. A length of
 * 2^53 or more (Node's parser takes up to 2^64 - 1) is Infinity: larger than any limit, so it is
 * refused on its head (413) rather than taken for a body of unknown length and waited for.
 */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined || req.headers['transfer-encoding'] !== undefined) return undefined;
  const length = Number(raw);
  if (Number.isSafeInteger(length) && length >= 0) return length;
  return /^\s*\d+\s*$/.test(raw) ? Number.POSITIVE_INFINITY : undefined;
}

/** Whether a request still has body bytes on the wire that nobody read (so an early answer should close the connection). */
export function hasUnreadBody(req: IncomingMessage, smallEnoughToDrain: number): boolean {
  if (req.complete) return false;
  const length = declaredLength(req);
  return length === undefined ? req.headers['transfer-encoding'] !== undefined : length > smallEnoughToDrain;
}

/** A connection closed on an unread body keeps reading (and dropping) what still comes for this long at most... */
const LINGER_MAX_MS = 10_000;
/** ...and closes once nothing came for this long (nginx's lingering_time and lingering_timeout). */
const LINGER_IDLE_MS = 2_000;

/**
 * Makes the end of a connection that answered before reading the client's whole body (413, 429,
 * a replica's early answer) a lingering close, as nginx does: the answer is sent, the sending side
 * is shut, and what the client still sends is read and dropped for a while. Closing at once would
 * make the kernel reset the connection over the unread bytes, and a client still writing its body
 * could get ECONNRESET or EPIPE instead of the answer. Dropping costs no memory.
 */
export function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    const give = (): void => void this.destroy();
    const total = setTimeout(give, LINGER_MAX_MS);
    let idle = setTimeout(give, LINGER_IDLE_MS);
    total.unref();
    idle.unref();
    this.on('data', () => {
      clearTimeout(idle);
      idle = setTimeout(give, LINGER_IDLE_MS);
      idle.unref();
    });
    this.once('end', give);
    this.once('close', () => {
      clearTimeout(total);
      clearTimeout(idle);
    });
    this.resume();
  };
}

export interface BodyLimits {
  /** Past this many bytes the body is refused (BodyTooLargeError). */
  maxBytes: number;
  /** Bodies up to this many bytes are held whole (see HELD_BODY_BYTES). */
  heldBytes: number;
}

/**
 * A request body as the router forwards it: held whole (small), or streamed from the client
 * (large) with at most `heldBytes` of it kept, for payload logging.
 */
export type RequestBody = HeldBody | StreamedBody;

export class HeldBody {
  readonly kind = 'held';
  constructor(readonly bytes: Buffer) {}

  get length(): number {
    return this.bytes.length;
  }
}

/**
 * Reads the body of `req` as far as needed to decide how to forward it: a body that declares a
 * length over `heldBytes` is not read at all; a chunked one is read up to `heldBytes`. Rejects with
 * BodyTooLargeError past `maxBytes` and ClientAbortedError when the client goes away.
 */
export async function readRequestBody(req: IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  const held = Math.min(limits.heldBytes, limits.maxBytes);
  const length = declaredLength(req);
  if (length !== undefined && length > limits.maxBytes) throw new BodyTooLargeError(limits.maxBytes);
  if (length !== undefined && length > held) return new StreamedBody(req, limits.maxBytes, length, [], 0);
  const start = await readUpTo(req, held, limits.maxBytes);
  if (start.ended) return new HeldBody(start.chunks.length === 1 ? start.chunks[0]! : Buffer.concat(start.chunks, start.bytes));
  return new StreamedBody(req, limits.maxBytes, length, start.chunks, start.bytes);
}

/** Reads chunks until the body ends or more than `upTo` bytes were read; leaves the request paused. */
function readUpTo(req: IncomingMessage, upTo: number, maxBytes: number): Promise<{ chunks: Buffer[]; bytes: number; ended: boolean }> {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) return resolve({ chunks: [], bytes: 0, ended: true });
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done();
        req.pause();
        reject(new BodyTooLargeError(maxBytes));
      } else if (bytes > upTo) {
        done();
        req.pause();
        resolve({ chunks, bytes, ended: false });
      }
    };
    const onEnd = (): void => {
      done();
      resolve({ chunks, bytes, ended: true });
    };
    const onClose = (): void => {
      done();
      reject(new ClientAbortedError());
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
    req.resume();
  });
}

/**
 * A body too large to hold: each attempt to forward it gets a stream (`open()`) that replays the
 * bytes read so far and then pulls the rest from the client, at the pace the replica reads it.
 * An attempt can be replaced by another (a retry on another replica) as long as no byte past what
 * is held has been pulled from the client (`replayable`).
 */
export class StreamedBody {
  readonly kind = 'streamed';
  /** Bytes received from the client so far. */
  private received: number;
  private current?: BodyAttempt;
  /** The start of the body, kept for the data collector when asked (`keepStart`). */
  private kept?: { chunks: Buffer[]; bytes: number; limit: number };
  private finished = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly maxBytes: number,
    /** The declared Content-Length, forwarded as is; undefined: chunked. */
    readonly length: number | undefined,
    /** What was read before deciding to stream (a chunked body's first bytes). */
    private readonly head: Buffer[],
    headBytes: number,
  ) {
    this.received = headBytes;
  }

  /** Whether a new attempt would send the whole body (nothing past the held head was pulled yet). */
  get replayable(): boolean {
    return !this.current?.pulledLive;
  }

  /** Whether the client's body was read to its end. */
  get complete(): boolean {
    return this.finished;
  }

  /** Total bytes received from the client. */
  get receivedBytes(): number {
    return this.received;
  }

  /** Keeps up to `limit` bytes of the start of the body (what the data collector records). */
  keepStart(limit: number): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (const chunk of this.head) {
      if (bytes >= limit) break;
      const part = chunk.subarray(0, limit - bytes);
      chunks.push(part);
      bytes += part.length;
    }
    this.kept = { chunks, bytes, limit };
  }

  /** The kept start of the body (see keepStart). */
  start(): Buffer {
    return this.kept ? Buffer.concat(this.kept.chunks, this.kept.bytes) : Buffer.alloc(0);
  }

  /** A stream of the whole body for one attempt; the previous attempt's stream lets go of the client. */
  open(): Readable {
    this.current?.destroy();
    this.current = new BodyAttempt(this.req, this.head, {
      onLive: (chunk) => this.onLive(chunk),
      onEnd: () => {
        this.finished = true;
      },
    });
    return this.current;
  }

  /** Counts a chunk pulled from the client; returns the error that ends the attempt, if any. */
  private onLive(chunk: Buffer): Error | undefined {
    this.received += chunk.length;
    if (this.received > this.maxBytes) return new BodyTooLargeError(this.maxBytes);
    const kept = this.kept;
    if (kept && kept.bytes < kept.limit) {
      const part = chunk.subarray(0, kept.limit - kept.bytes);
      // A copy: the chunk's memory belongs to the socket's read buffer pool.
      kept.chunks.push(Buffer.from(part));
      kept.bytes += part.length;
    }
    return undefined;
  }
}

interface AttemptHooks {
  onLive(chunk: Buffer): Error | undefined;
  onEnd(): void;
}

/**
 * One attempt's view of a streamed body: the held head first, then the client's bytes, read only
 * when the consumer asks for more (backpressure reaches the client's socket). Destroying it never
 * destroys the client's request: it only stops reading it.
 */
class BodyAttempt extends Readable {
  pulledLive = false;
  private headIndex = 0;
  private attached = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly head: readonly Buffer[],
    private readonly hooks: AttemptHooks,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    while (this.headIndex < this.head.length) {
      const chunk = this.head[this.headIndex++]!;
      if (!this.push(chunk)) return;
    }
    if (!this.attached) this.attach();
    this.req.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(error);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.pulledLive = true;
    const failure = this.hooks.onLive(chunk);
    if (failure) {
      this.destroy(failure);
      return;
    }
    if (!this.push(chunk)) this.req.pause();
  };

  private readonly onEnd = (): void => {
    this.hooks.onEnd();
    this.detach();
    this.push(null);
  };

  private readonly onClose = (): void => {
    if (!this.req.complete) this.destroy(new ClientAbortedError());
  };

  private attach(): void {
    this.attached = true;
    if (this.req.readableEnded) {
      this.push(null);
      return;
    }
    this.req.on('data', this.onData);
    this.req.once('end', this.onEnd);
    this.req.once('close', this.onClose);
    this.req.once('error', this.onClose);
  }

  private detach(): void {
    if (!this.attached) return;
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('close', this.onClose);
    this.req.off('error', this.onClose);
    this.req.pause();
  }
}
