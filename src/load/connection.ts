import { connect as connectTcp, type Socket } from 'node:net';
import { isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { ChunkedDecoder, hasNoBody, parseResponseHead, type ResponseHead } from '../router/http1.js';

/**
 * One keep-alive HTTP/1.1 connection of the load generator: it writes a request serialised once
 * for the whole step and reads the answer with the router's own minimal parser (status line and
 * head, then content-length, chunked or until-close bodies), discarding the body. No Node http
 * client: its per-request objects and parser cost more CPU than the target under test would.
 */

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
  private head: ResponseHead | undefined;
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
      let head: ResponseHead | undefined;
      try {
        head = parseResponseHead(buffer);
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

  private startBody(head: ResponseHead): void {
    this.head = head;
    this.chunked = undefined;
    this.untilClose = false;
    this.bodyLeft = 0;
    const encoding = String(head.headers['transfer-encoding'] ?? '').toLowerCase();
    const length = head.headers['content-length'];
    if (hasNoBody(this.method, head.status)) return;
    if (encoding.includes('chunked')) this.chunked = new ChunkedDecoder();
    else if (typeof length === 'string' && /^\d+$/.test(length)) this.bodyLeft = Number(length);
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
    const connection = String(head.headers.connection ?? '').toLowerCase();
    const keep = !head.http10 && !connection.includes('close') && !this.untilClose;
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
