import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

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
  body: Buffer;
}

/** The error a forward rejects with when the deadline passes first. */
export class ForwardTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * One proxied request through undici's low-level dispatch API, collecting the whole answer.
 * The router's hot path: a plain timer and a plain handler cost far less per request than
 * `request()` with an AbortSignal. A stream body is read as fast as the replica takes it; when it
 * fails (too large, the client left) the request is aborted with the stream's error.
 */
export function forward(dispatcher: Dispatcher, request: ForwardRequest): Promise<ForwardResponse> {
  return new Promise((resolve, reject) => {
    let abort: ((reason?: Error) => void) | undefined;
    let timedOut = false;
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
      reject(timedOut ? new ForwardTimeoutError(`no answer within ${request.timeoutMs} ms`) : error);
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
        onHeaders(statusCode: number, rawHeaders: Buffer[]) {
          status = statusCode;
          headers = headersFromRaw(rawHeaders);
          return true;
        },
        onData(chunk: Buffer) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          clearTimeout(timer);
          resolve({ status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        },
        onError: fail,
      } as unknown as Dispatcher.DispatchHandler,
    );
  });
}

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
