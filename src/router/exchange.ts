import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, declaredLength, HeldBody, hasUnreadBody, lingerOnClose, readRequestBody, type BodyLimits, type RequestBody } from './body.js';
import type { Answer, LeanRequest } from './front.js';

/**
 * One request as the router's logic sees it, whichever path read it: the lean front (most
 * requests) or Node's http server (streamed bodies, Expect: 100-continue and the rest).
 */
export interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The declared Content-Length, or undefined (chunked, or none). */
  declaredLength(): number | undefined;
  /** How many Host lines the head has (RFC 9112 section 3.2: more than one is a bad request). */
  hostLines(): number;
  /** Tells an `Expect: 100-continue` client to send its body. */
  sendContinue(): void;
  readBody(limits: BodyLimits): RequestBody | Promise<RequestBody>;
  /** Sends the answer; a body still unread past `drainable` bytes ends the connection instead of being read. */
  respond(answer: Answer, drainable: number): void;
}

/** A request read by Node's http server. */
export class NodeExchange implements Exchange {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }

  get url(): string {
    return this.req.url ?? '/';
  }

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  declaredLength(): number | undefined {
    return declaredLength(this.req);
  }

  hostLines(): number {
    // Node keeps the first Host of several in req.headers; the raw lines tell.
    let count = 0;
    const raw = this.req.rawHeaders;
    for (let index = 0; index < raw.length; index += 2) if (raw[index]!.length === 4 && raw[index]!.toLowerCase() === 'host') count += 1;
    return count;
  }

  sendContinue(): void {
    this.res.writeContinue();
  }

  readBody(limits: BodyLimits): Promise<RequestBody> {
    return readRequestBody(this.req, limits);
  }

  respond(answer: Answer, drainable: number): void {
    // A body still on the wire that is too large to drain, or that the client was never asked
    // for (Expect: 100-continue), ends the connection instead of being read.
    if (hasUnreadBody(this.req, drainable)) {
      answer.headers.connection = 'close';
      lingerOnClose(this.req.socket);
    }
    if (answer.reason !== undefined) this.res.writeHead(answer.status, answer.reason, answer.headers);
    else this.res.writeHead(answer.status, answer.headers);
    const stream = answer.stream;
    if (!stream) return void this.res.end(answer.body);
    if (this.res.destroyed || this.req.method === 'HEAD') {
      stream.abort();
      this.res.end();
      return;
    }
    // The body as the replica sends it, at the pace the client reads it (Node frames it chunked
    // when the head has no content-length).
    const res = this.res;
    const onDrain = (): void => stream.resume();
    res.on('drain', onDrain);
    // The client left first: the replica's connection goes too (nothing once the answer is whole).
    res.once('close', () => stream.abort());
    stream.start({
      chunk: (bytes, written) => res.write(bytes, written),
      end: () => {
        res.off('drain', onDrain);
        res.end();
      },
      error: () => res.destroy(),
    });
  }
}

/** A request the lean front read whole. */
export class LeanExchange implements Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(private readonly request: LeanRequest) {
    this.method = request.head.method;
    this.url = request.head.url;
    this.headers = request.head.headers;
  }

  declaredLength(): number {
    return this.request.body.length;
  }

  hostLines(): number {
    // The lean path takes only heads with one Host and no repeated name (http1.ts).
    return 1;
  }

  sendContinue(): void {
    // never asked for: the lean front does not take Expect requests
  }

  readBody(limits: BodyLimits): RequestBody {
    if (this.request.body.length > limits.maxBytes) throw new BodyTooLargeError(limits.maxBytes);
    return new HeldBody(this.request.body);
  }

  respond(answer: Answer): void {
    this.request.respond(answer);
  }
}
