import { createHash, type Hash } from 'node:crypto';

/**
 * Replica answers up to this size are held whole (one write to the client, and the mirror, the
 * pair recorder and the data collector see all of it). A larger answer, or one without a length
 * that grows past it, streams to the client at the pace the client reads it: the daemon holds a
 * few socket reads of it at a time, whatever its size.
 */
export const HELD_ANSWER_BYTES = 1024 * 1024;

/** Where a streamed answer's bytes go (the client's connection). */
export interface AnswerSink {
  /**
   * One piece of the body; false: stop until the stream's resume() is called. `written`, when
   * given, is called once the piece's memory is no longer needed (it was handed to the kernel, or
   * dropped), so the producer can reuse it.
   */
  chunk(bytes: Buffer, written?: () => void): boolean;
  /** The whole body was delivered. */
  end(): void;
  /** The replica failed (or stalled) mid-answer: the client cannot get the rest. */
  error(error: Error): void;
}

/** How a streamed answer ended. */
export type AnswerOutcome = 'complete' | 'failed' | 'aborted';

/**
 * A replica's answer body too large to hold, delivered piece by piece to one sink. The router
 * hands it to the client's connection; a mirrored or noise copy is drained into a summary.
 */
export interface AnswerStream {
  /** The replica's content-length, or undefined (chunked or until the connection closed). */
  readonly length: number | undefined;
  /** Starts the delivery (once). */
  start(sink: AnswerSink): void;
  /** The sink can take more after its chunk() said false. */
  resume(): void;
  /** Nobody wants the rest (the client left): stop reading the replica. */
  abort(): void;
  /** Settles once, when the body was delivered, failed or was aborted; never rejects. */
  readonly done: Promise<AnswerOutcome>;
}

/**
 * Read buffers for streamed answers, reused once the client's socket has taken their bytes: a
 * large answer then makes no garbage per read (a fresh 64 KiB buffer per read made tens of MB
 * of garbage, and of resident memory, between two collections). At most `keep` are kept.
 */
export class BufferRecycler {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}

/** What the producer side (a replica connection) lets the pipe do with it. */
export interface AnswerSource {
  /** Read the replica again (after push() returned false). */
  resume(): void;
  /** Stop reading and close the replica's connection. */
  abort(): void;
}

/**
 * The stream between a replica's connection and a sink, with backpressure both ways: push()
 * returns false once the sink is full (the producer then stops reading the replica), and the
 * sink's resume() reads it again. Pieces that come before the sink is attached or while it is full
 * wait in a short queue (one socket read each, as the producer stops at the first false).
 * `stallMs`: no byte from the replica for this long while the sink wants more ends the answer
 * with `stalled()`'s error (a paused answer never stalls: the wait is the client's).
 */
export class AnswerPipe implements AnswerStream {
  readonly done: Promise<AnswerOutcome>;
  private settle!: (outcome: AnswerOutcome) => void;
  private sink?: AnswerSink;
  private queue: { bytes: Buffer; release?: () => void }[] = [];
  private paused = true;
  private ended = false;
  private failure?: Error;
  private settled = false;
  private stallTimer?: NodeJS.Timeout;

  constructor(
    readonly length: number | undefined,
    private readonly source: AnswerSource,
    private readonly stall?: { ms: number; error: () => Error },
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  /**
   * Producer: a piece of the body (copied or owned: it is kept until the sink took it), with what
   * to call once its memory may be reused. False: stop reading.
   */
  push(bytes: Buffer, release?: () => void): boolean {
    if (this.settled || this.ended) return false;
    if (bytes.length === 0) return this.sink !== undefined && !this.paused && this.queue.length === 0;
    if (this.sink && !this.paused && this.queue.length === 0) {
      if (this.sink.chunk(bytes, release)) {
        this.armStall();
        return true;
      }
      this.paused = true;
      this.disarmStall();
      return false;
    }
    this.queue.push({ bytes, release });
    this.disarmStall();
    return false;
  }

  /** Producer: the body is complete. */
  finish(): void {
    if (this.settled || this.ended) return;
    this.ended = true;
    this.disarmStall();
    if (this.sink && this.queue.length === 0) this.complete();
  }

  /** Producer: the replica failed mid-answer. */
  fail(error: Error): void {
    if (this.settled || this.ended) return;
    this.failure = error;
    this.queue = [];
    this.disarmStall();
    if (this.sink) {
      this.close('failed');
      this.sink.error(error);
    }
  }

  start(sink: AnswerSink): void {
    if (this.sink || this.settled) return;
    this.sink = sink;
    if (this.failure) {
      this.close('failed');
      sink.error(this.failure);
      return;
    }
    this.resume();
  }

  resume(): void {
    if (this.settled || !this.sink) return;
    this.paused = false;
    while (this.queue.length > 0) {
      const { bytes, release } = this.queue.shift()!;
      if (!this.sink.chunk(bytes, release)) {
        this.paused = true;
        return;
      }
    }
    if (this.ended) return this.complete();
    this.armStall();
    this.source.resume();
  }

  abort(): void {
    if (this.settled) return;
    this.queue = [];
    this.close('aborted');
    this.source.abort();
  }

  private complete(): void {
    this.close('complete');
    this.sink!.end();
  }

  private close(outcome: AnswerOutcome): void {
    this.settled = true;
    this.disarmStall();
    this.settle(outcome);
  }

  private armStall(): void {
    if (!this.stall || this.settled) return;
    if (this.stallTimer) this.stallTimer.refresh();
    else this.stallTimer = setTimeout(() => this.stalled(), this.stall.ms);
  }

  private disarmStall(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private stalled(): void {
    this.stallTimer = undefined;
    if (this.settled || this.ended || this.paused) return;
    const error = this.stall!.error();
    this.source.abort();
    this.fail(error);
  }
}

/**
 * What is kept of an answer body for the pair recorder and the data collector: its first bytes,
 * its whole length and (when asked) the SHA-1 of all of it, made as the bytes pass.
 */
export interface BodySummary {
  readonly start: Buffer;
  readonly bytes: number;
  /** base64 SHA-1 of the whole body, when a digest was asked for. */
  readonly digest?: string;
}

/** Keeps the first `limit` bytes of what passes, counts all of it, and hashes it when asked. */
export class BodyTap {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private total = 0;
  private readonly hash?: Hash;

  constructor(
    private readonly limit: number,
    digest: boolean,
  ) {
    if (digest) this.hash = createHash('sha1');
  }

  add(bytes: Buffer): void {
    this.total += bytes.length;
    this.hash?.update(bytes);
    if (this.keptBytes < this.limit) {
      // A copy: the piece may belong to a socket's read buffer.
      const part = Buffer.from(bytes.subarray(0, this.limit - this.keptBytes));
      this.kept.push(part);
      this.keptBytes += part.length;
    }
  }

  summary(): BodySummary {
    return { start: Buffer.concat(this.kept, this.keptBytes), bytes: this.total, ...(this.hash && { digest: this.hash.digest('base64') }) };
  }
}

/** A stream whose pieces also go through `tap` on their way to the sink. */
export function tapped(stream: AnswerStream, tap: (bytes: Buffer) => void): AnswerStream {
  return {
    length: stream.length,
    done: stream.done,
    resume: () => stream.resume(),
    abort: () => stream.abort(),
    start: (sink) =>
      stream.start({
        chunk: (bytes, written) => {
          tap(bytes);
          return sink.chunk(bytes, written);
        },
        end: () => sink.end(),
        error: (error) => sink.error(error),
      }),
  };
}

/**
 * Reads a stream to its end as fast as the replica sends it, keeping only what `tap` keeps (a
 * mirrored copy's answer, which nobody reads). Resolves with how it ended.
 */
export function drain(stream: AnswerStream, tap?: BodyTap): Promise<AnswerOutcome> {
  stream.start({
    chunk: (bytes, written) => {
      tap?.add(bytes);
      written?.();
      return true;
    },
    end: () => undefined,
    error: () => undefined,
  });
  return stream.done;
}
