import { connect as connectTcp, type Socket } from 'node:net';
import { isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { ChunkedDecoder, hasNoBody, MAX_HEAD_BYTES } from '../router/http1.js';

/**
 * One keep-alive HTTP/1.1 connection of the load generator: it writes a request serialised once
 * for the whole step and reads the answer with a minimal parser (the status line and the three
 * headers that frame the body, then content-length, chunked (the router's ChunkedDecoder) or
 * until-close bodies), discarding the body. Not the router's full head parser: with it the
 * generator spent 40 µs of CPU a request instead of 21 and reached 0.51x wrk's rate on a plain
 * Node server instead of 0.82x (bench/load-generator.ts); a generator busier than its target
 * measures itself. (undici and Node's http client, which build objects per request, were not
 * measured.)
 */

/** What the load generator reads of a response head. */
export interface AnswerHead {
  status: number;
  /** Bytes of the head, the blank line included. */
  size: number;
  /** Whether the connection ends after this answer (HTTP/1.0, `Connection: close`). */
  close: boolean;
  contentLength: number | undefined;
  chunked: boolean;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Parses a response head; undefined while incomplete. Throws on a head that is not HTTP/1.x. */
export function parseAnswerHead(buffer: Buffer): AnswerHead | undefined {
  const end = buffer.indexOf(CRLF_CRLF);
  if (end < 0) {
    if (buffer.length > MAX_HEAD_BYTES * 4) throw new Error('the response head is too large');
    return undefined;
  }
  const text = buffer.toString('latin1', 0, end);
  if (!text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) throw new Error('the response is not HTTP/1.x');
  const status = Number(text.slice(9, 12));
  if (!Number.isInteger(status) || status < 100) throw new Error('the response has no valid status');
  const head: AnswerHead = { status, size: end + 4, close: text.startsWith('HTTP/1.0'), contentLength: undefined, chunked: false };
  let at = text.indexOf('\r\n');
  while (at >= 0) {
    const next = text.indexOf('\r\n', at + 2);
    const lineEnd = next < 0 ? text.length : next;
    const colon = text.indexOf(':', at + 2);
    if (colon > at + 2 && colon < lineEnd) readFramingHeader(head, text.slice(at + 2, colon).toLowerCase(), text.slice(colon + 1, lineEnd).trim().toLowerCase());
    at = next;
  }
  return head;
}

/** Takes in the headers that decide where the body ends and whether the connection stays. */
function readFramingHeader(head: AnswerHead, name: string, value: string): void {
  if (name === 'content-length') {
    if (!/^\d+$/.test(value) || (head.contentLength !== undefined && head.contentLength !== Number(value))) throw new Error(`the content-length ${JSON.stringify(value)} is not valid`);
    head.contentLength = Number(value);
  } else if (name === 'transfer-encoding') {
    head.chunked = value.split(',').some((coding) => coding.trim() === 'chunked');
  } else if (name === 'connection') {
    if (value.split(',').some((option) => option.trim() === 'close')) head.close = true;
  }
}

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  /** PEM of the CA the https target's certificate chains to. */
  ca?: string;
}

/** How a request ended: its HTTP status, or why there was none. */
export type Answer = { status: number } | { error: string };

export interface ConnectionEvents {
  /** The connection is open and can take a request. */
  onOpen(connection: LoadConnection): void;
  /** The request written by send() ended. The connection is usable again if `connection.usable`. */
  onAnswer(connection: LoadConnection, answer: Answer): void;
  /** The socket is gone (after onAnswer for a request it was carrying). */
  onClose(connection: LoadConnection): void;
}

export class LoadConnection {
  /** Whether it can carry another request once the current one is answered. */
  usable = false;
  busy = false;
  /** Whether the socket ever connected (a refused connection did not). */
  opened = false;
  /** Why the socket closed, once it has. */
  closeReason: string | undefined;
  private readonly socket: Socket;
  private pending: Buffer | undefined;
  private head: AnswerHead | undefined;
  private bodyLeft = 0;
  private chunked: ChunkedDecoder | undefined;
  private untilClose = false;
  private closed = false;

  constructor(
    endpoint: Endpoint,
    private readonly method: string,
    private readonly events: ConnectionEvents,
  ) {
    this.socket = openSocket(endpoint, () => {
      this.opened = true;
      this.usable = true;
      this.events.onOpen(this);
    });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('end', () => this.ended());
    this.socket.on('error', (error: Error) => this.fail(error.message));
    this.socket.on('close', () => this.fail('the connection closed'));
  }

  /** Writes one request; the connection must be open and idle. */
  send(request: Buffer): void {
    this.busy = true;
    this.pending = undefined;
    this.head = undefined;
    this.socket.write(request);
  }

  /** Closes the socket at once (the end of a step, an abort); an answer in progress is dropped. */
  destroy(): void {
    this.busy = false;
    this.usable = false;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (!this.busy) {
      // Bytes nobody asked for: the connection cannot be trusted with the next request.
      this.fail('the server sent bytes with no request outstanding');
      return;
    }
    let data: Buffer | undefined = chunk;
    if (this.head === undefined) {
      data = this.readHead(chunk);
      if (data === undefined) return;
    }
    this.readBody(data);
  }

  /** Reads the head; returns the bytes after it, or undefined while it is incomplete. */
  private readHead(chunk: Buffer): Buffer | undefined {
    let buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      let head: AnswerHead | undefined;
      try {
        head = parseAnswerHead(buffer);
      } catch (error) {
        this.fail((error as Error).message);
        return undefined;
      }
      if (head === undefined) {
        this.pending = buffer;
        return undefined;
      }
      buffer = buffer.subarray(head.size);
      // An interim answer (100 Continue, 103 Early Hints): the final one follows.
      if (head.status < 200 && head.status !== 101) continue;
      this.pending = undefined;
      this.startBody(head);
      return buffer;
    }
  }

  private startBody(head: AnswerHead): void {
    this.head = head;
    this.chunked = undefined;
    this.untilClose = false;
    this.bodyLeft = 0;
    if (hasNoBody(this.method, head.status)) return;
    if (head.chunked) this.chunked = new ChunkedDecoder();
    else if (head.contentLength !== undefined) this.bodyLeft = head.contentLength;
    else this.untilClose = true;
  }

  private readBody(data: Buffer): void {
    if (this.untilClose) return; // ended() finishes it
    let extra: Buffer | undefined;
    if (this.chunked) {
      let done: boolean;
      try {
        done = data.length > 0 && this.chunked.push(data);
      } catch (error) {
        this.fail((error as Error).message);
        return;
      }
      if (!done) return;
      extra = this.chunked.extra;
    } else {
      const take = Math.min(this.bodyLeft, data.length);
      this.bodyLeft -= take;
      if (this.bodyLeft > 0) return;
      if (take < data.length) extra = data.subarray(take);
    }
    if (extra !== undefined && extra.length > 0) {
      this.fail('the server sent more bytes than its answer');
      return;
    }
    this.finish();
  }

  /** The answer is complete: hand it over, then close the socket if the server said so. */
  private finish(): void {
    const head = this.head!;
    const keep = !head.close && !this.untilClose;
    this.busy = false;
    this.head = undefined;
    this.chunked = undefined;
    if (!keep) this.usable = false;
    this.events.onAnswer(this, { status: head.status });
    if (!keep) this.socket.destroy();
  }

  private ended(): void {
    if (this.busy && this.head !== undefined && this.untilClose) {
      this.finish();
      return;
    }
    this.fail('the server closed the connection');
  }

  private fail(reason: string): void {
    this.usable = false;
    if (this.busy) {
      this.busy = false;
      this.events.onAnswer(this, { error: reason });
    }
    if (!this.closed) {
      this.closed = true;
      this.closeReason = reason;
      this.socket.destroy();
      this.events.onClose(this);
    }
  }
}

function openSocket(endpoint: Endpoint, onOpen: () => void): Socket {
  if (!endpoint.tls) return connectTcp({ host: endpoint.host, port: endpoint.port }, onOpen);
  // SNI carries host names only (RFC 6066); an IP address is checked against the certificate's IP SANs.
  const servername = isIP(endpoint.host) ? undefined : endpoint.host;
  return connectTls({ host: endpoint.host, port: endpoint.port, ca: endpoint.ca, servername, ALPNProtocols: ['http/1.1'] }, onOpen);
}
