import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AnswerPipe, HELD_ANSWER_BYTES, type AnswerStream } from './answer.js';

export interface ForwardRequest {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  /** A held body, or a stream of a large one (sent with the `content-length` in `headers`, else chunked). */
  body?: Buffer | Readable;
  /** No answer by then: ForwardTimeoutError. Undefined: no deadline at all (--debug), undici's own timeouts off too. */
  timeoutMs: number | undefined;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** The whole body when it was held (up to HELD_ANSWER_BYTES); empty when it streams. */
  body: Buffer;
  /** A larger answer: its body, to be started (or aborted) by whoever takes the response. */
  stream?: AnswerStream;
}

/** Options both ways of reaching a replica share. */
export interface AnswerLimits {
  /** Answers up to this size are held whole; larger ones stream (default HELD_ANSWER_BYTES). */
  heldAnswerBytes?: number;
}

/** The error a forward rejects with when the deadline passes first. */
export class ForwardTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * One proxied request through undici's low-level dispatch API. An answer up to `heldAnswerBytes`
 * is collected whole; a larger one resolves as soon as it passes that size (or announces a larger
 * content-length) with a stream that reads the rest at the pace of whoever takes it (undici
 * pauses the replica's socket). A plain timer and a plain handler cost far less per request than
 * `request()` with an AbortSignal. A stream body is read as fast as the replica takes it; when it
 * fails (too large, the client left) the request is aborted with the stream's error.
 */
export function forward(dispatcher: Dispatcher, request: ForwardRequest, limits: AnswerLimits = {}): Promise<ForwardResponse> {
  const heldAnswerBytes = limits.heldAnswerBytes ?? HELD_ANSWER_BYTES;
  return new Promise((resolve, reject) => {
    let abort: ((reason?: Error) => void) | undefined;
    let timedOut = false;
    let resumeReplica: (() => void) | undefined;
    let received = 0;
    /** Set once the answer streams: the request is answered, the deadline no longer applies. */
    let pipe: AnswerPipe | undefined;
    const timer =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            abort?.(new ForwardTimeoutError(`no answer within ${request.timeoutMs} ms`));
          }, request.timeoutMs);
    let status = 0;
    let headers: Record<string, string | string[]> = {};
    const chunks: Buffer[] = [];
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (pipe) pipe.fail(error);
      else reject(timedOut ? new ForwardTimeoutError(`no answer within ${request.timeoutMs} ms`) : error);
    };
    /** From here the answer streams: what came so far goes first. */
    const startStreaming = (length: number | undefined): AnswerPipe => {
      clearTimeout(timer);
      const stream = new AnswerPipe(
        length,
        { resume: () => resumeReplica?.(), abort: () => abort?.(new Error('the answer was abandoned')) },
        request.timeoutMs === undefined ? undefined : { ms: request.timeoutMs, error: () => new ForwardTimeoutError(`the answer stalled for ${request.timeoutMs} ms`) },
      );
      for (const chunk of chunks.splice(0)) stream.push(chunk);
      pipe = stream;
      resolve({ status, headers, body: EMPTY, stream });
      return stream;
    };
    dispatcher.dispatch(
      {
        origin: request.origin,
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body,
        // A request held at a breakpoint may take longer than undici's 300 s defaults.
        ...(request.timeoutMs === undefined && { headersTimeout: 0, bodyTimeout: 0 }),
      },
      {
        onConnect(abortRequest: (reason?: Error) => void) {
          abort = abortRequest;
          if (timedOut) abortRequest(new ForwardTimeoutError(`no answer within ${request.timeoutMs} ms`));
        },
        onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void) {
          status = statusCode;
          headers = headersFromRaw(rawHeaders);
          resumeReplica = resume;
          const length = Number(headers['content-length']);
          if (typeof headers['content-length'] === 'string' && Number.isSafeInteger(length) && length > heldAnswerBytes && request.method !== 'HEAD') startStreaming(length);
          return true;
        },
        onData(chunk: Buffer) {
          if (pipe) return pipe.push(chunk);
          chunks.push(chunk);
          received += chunk.length;
          if (received <= heldAnswerBytes) return true;
          const length = Number(headers['content-length']);
          return startStreaming(typeof headers['content-length'] === 'string' && Number.isSafeInteger(length) ? length : undefined).push(EMPTY);
        },
        onComplete() {
          clearTimeout(timer);
          if (pipe) pipe.finish();
          else resolve({ status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        },
        onError: fail,
      } as unknown as Dispatcher.DispatchHandler,
    );
  });
}

const EMPTY = Buffer.alloc(0);

function headersFromRaw(raw: Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}
