import { STATUS_CODES } from 'node:http';

/**
 * The small part of HTTP/1.1 (RFC 9112) that the router's lean path speaks itself: request heads
 * from clients, and response heads and bodies from replicas. Whatever falls outside it (chunked
 * or announced-but-unsent request bodies, `Expect`, HTTP/1.0, upgrades, repeated or malformed
 * header lines) is left to Node's http server, which the front hands the connection to.
 */

export type HeaderMap = Record<string, string | string[]>;

export interface RequestHead {
  method: string;
  url: string;
  /** Lower-case names, each once (a head that repeats a name is not taken). */
  headers: Record<string, string>;
  /** Bytes of the head, the blank line included. */
  size: number;
}

/** Node's default limit on a request head (`--max-http-header-size`); past it Node answers 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Controls other than horizontal tab are not allowed in a field value.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const TARGET = /^\/[\x21-\x7e]*$/;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * Parses the request head at the start of `buffer`. Undefined: the head is not complete yet.
 * Null: a head the lean path does not take (see the file comment); Node's parser decides.
 */
export function parseRequestHead(buffer: Buffer): RequestHead | null | undefined {
  const end = buffer.indexOf(CRLF_CRLF);
  // A line ended by a bare LF never makes a CRLF CRLF: Node's parser answers it 400 at once,
  // where waiting for the end of the head would hold the connection until the head timeout.
  if (end < 0) return hasBareLineFeed(buffer) ? null : undefined;
  const text = buffer.toString('latin1', 0, end);
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = text.length;
  const requestLine = text.slice(0, lineEnd);
  const firstSpace = requestLine.indexOf(' ');
  const lastSpace = requestLine.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace || requestLine.slice(lastSpace + 1) !== 'HTTP/1.1') return null;
  const method = requestLine.slice(0, firstSpace);
  const url = requestLine.slice(firstSpace + 1, lastSpace);
  if (!TOKEN.test(method) || !TARGET.test(url)) return null;
  // A plain object (objects without a prototype are several times slower to fill and copy);
  // names such as `constructor` are checked as own properties.
  const headers: Record<string, string> = {};
  let start = lineEnd + 2;
  while (start < text.length) {
    let next = text.indexOf('\r\n', start);
    if (next < 0) next = text.length;
    const colon = text.indexOf(':', start);
    if (colon <= start || colon >= next) return null;
    const name = text.slice(start, colon);
    if (!TOKEN.test(name)) return null;
    const raw = text.slice(colon + 1, next);
    if (BAD_VALUE.test(raw)) return null;
    const value = trimWhitespace(raw);
    const key = name.toLowerCase();
    if (key === '__proto__' || Object.hasOwn(headers, key)) return null;
    headers[key] = value;
    start = next + 2;
  }
  return { method, url, headers, size: end + 4 };
}

/** Whether a LF in `buffer` is not preceded by a CR (HTTP/1.1 lines end with CRLF). */
export function hasBareLineFeed(buffer: Buffer): boolean {
  for (let at = buffer.indexOf(LF); at >= 0; at = buffer.indexOf(LF, at + 1)) {
    if (at === 0 || buffer[at - 1] !== CR) return true;
  }
  return false;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * A header line longer than this (CRLF included), or more fields than MAX_HEADER_FIELDS, is
 * refused by oep's scoring server with 431, as gunicorn (azmlinfsrv) does by default
 * (limit_request_field_size 8190, limit_request_fields 100): server/oep_server/protocol.py.
 */
export const REPLICA_MAX_HEADER_LINE_BYTES = 8190;
export const REPLICA_MAX_HEADER_FIELDS = 100;

/**
 * Why the replica would refuse a request with these header lines (the lines the router sends it:
 * its own, then the client's it forwards), or undefined. The router answers 431 itself, on the
 * head, instead of forwarding a request whose answer would be a 424 carrying the replica's 431.
 */
export function replicaRefusesHeaders(lines: Iterable<[name: string, value: string]>): string | undefined {
  let fields = 0;
  for (const [name, value] of lines) {
    fields += 1;
    // Bytes as sent: header text is latin1, one byte per character.
    const bytes = name.length + 2 + value.length + 2;
    if (bytes > REPLICA_MAX_HEADER_LINE_BYTES) {
      return `the header ${name} is ${bytes} bytes long; the scoring server takes header lines of up to ${REPLICA_MAX_HEADER_LINE_BYTES} bytes`;
    }
  }
  if (fields > REPLICA_MAX_HEADER_FIELDS) return `the request has ${fields} header fields; the scoring server takes up to ${REPLICA_MAX_HEADER_FIELDS}`;
  return undefined;
}

export interface ResponseHead {
  status: number;
  /** An HTTP/1.0 answer: its connection is not kept. */
  http10: boolean;
  headers: HeaderMap;
  size: number;
}

/** Parses a replica's response head; undefined: not complete yet. Throws on a head that is not HTTP/1.x. */
export function parseResponseHead(buffer: Buffer): ResponseHead | undefined {
  const end = buffer.indexOf(CRLF_CRLF);
  if (end < 0) {
    if (buffer.length > MAX_HEAD_BYTES * 4) throw new Error('the response head is too large');
    return undefined;
  }
  const text = buffer.toString('latin1', 0, end);
  if (!text.startsWith('HTTP/1.')) throw new Error('the response is not HTTP/1.x');
  const status = Number(text.slice(9, 12));
  if (!Number.isInteger(status) || status < 100) throw new Error('the response has no valid status');
  const headers: HeaderMap = {};
  let start = text.indexOf('\r\n');
  start = start < 0 ? text.length : start + 2;
  while (start < text.length) {
    let next = text.indexOf('\r\n', start);
    if (next < 0) next = text.length;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < next) {
      const name = text.slice(start, colon).toLowerCase();
      const raw = text.slice(colon + 1, next);
      // A bare CR or LF in a value would let a replica inject header lines: not HTTP.
      if (BAD_VALUE.test(raw) || !TOKEN.test(name)) throw new Error(`the header line ${JSON.stringify(text.slice(start, Math.min(next, start + 60)))} is not valid`);
      const value = trimWhitespace(raw);
      const existing = Object.hasOwn(headers, name) ? headers[name] : undefined;
      if (existing === undefined) setHeader(headers, name, value);
      else if (Array.isArray(existing)) existing.push(value);
      else headers[name] = [existing, value];
    }
    start = next + 2;
  }
  return { status, http10: text.startsWith('HTTP/1.0'), headers, size: end + 4 };
}

/**
 * Sets a header in a plain object, as an own property whatever its name (`__proto__` would
 * otherwise replace the object's prototype).
 */
export function setHeader<T>(headers: Record<string, T>, name: string, value: NoInfer<T>): void {
  if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  else headers[name] = value;
}

/** A field value without the spaces and tabs around it (only those: RFC 9110's OWS). */
function trimWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start += 1;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end -= 1;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** Whether a response to `method` with `status` carries no body whatever its headers say. */
export function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Decodes a chunked body fed in pieces. `push` returns true once the last chunk and the trailers
 * have been read; `extra` is then whatever came after them.
 */
export class ChunkedDecoder {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  extra?: Buffer;
  private pending: Buffer | undefined;
  /** Bytes of data still to come in the current chunk, then its CRLF. */
  private remaining = 0;
  private state: 'size' | 'data' | 'data-end' | 'trailers' = 'size';

  push(input: Buffer): boolean {
    let buffer = this.pending ? Buffer.concat([this.pending, input]) : input;
    this.pending = undefined;
    for (;;) {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, buffer.length);
        if (take > 0) {
          this.chunks.push(buffer.subarray(0, take));
          this.bytes += take;
          this.remaining -= take;
          buffer = buffer.subarray(take);
        }
        if (this.remaining > 0) return false;
        this.state = 'data-end';
      }
      const lineEnd = buffer.indexOf('\r\n');
      if (lineEnd < 0) {
        if (buffer.length > 4096) throw new Error('a chunk line is too long');
        this.pending = buffer.length > 0 ? buffer : undefined;
        return false;
      }
      const line = buffer.toString('latin1', 0, lineEnd);
      buffer = buffer.subarray(lineEnd + 2);
      if (this.state === 'data-end') {
        if (line !== '') throw new Error('a chunk does not end with CRLF');
        this.state = 'size';
      } else if (this.state === 'size') {
        const digits = trimWhitespace(line.split(';', 1)[0]!);
        if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) throw new Error('a chunk size is not valid');
        const size = parseInt(digits, 16);
        if (size === 0) this.state = 'trailers';
        else {
          this.remaining = size;
          this.state = 'data';
        }
      } else if (line === '') {
        this.extra = buffer.length > 0 ? buffer : undefined;
        return true;
      }
    }
  }
}

let dateSecond = -1;
let dateText = '';

/** The `Date` header's value, made once a second as Node's http server does. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * A whole response as Node's http server writes `res.writeHead(status, headers); res.end(body)`
 * with a content-length: the status line, the headers in the given order, `Date`, `Connection`
 * (and `Keep-Alive`), a blank line, the body; in one buffer, for one write.
 */
export function serializeResponse(status: number, reason: string | undefined, headers: Record<string, string | string[] | number>, body: Buffer, keepAliveSeconds: number | undefined): Buffer {
  let head = `HTTP/1.1 ${status} ${reason ?? STATUS_CODES[status] ?? 'unknown'}\r\n${headerLines(headers)}`;
  // A date the replica sent stands, as Node's server keeps a `date` header that is set.
  if (headers.date === undefined) head += `Date: ${httpDate()}\r\n`;
  head += keepAliveSeconds === undefined ? 'Connection: close\r\n\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n\r\n`;
  return withBody(head, body);
}

/** A request to a replica: the request line, `host`, the headers, a content-length when there is a body. */
export function serializeRequest(method: string, path: string, host: string, headers: HeaderMap, body: Buffer | undefined): Buffer {
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n${headerLines(headers)}`;
  head += body === undefined ? '\r\n' : `content-length: ${body.length}\r\n\r\n`;
  return withBody(head, body);
}

/** One `name: value` line per header and per item of a list. */
function headerLines(headers: Record<string, string | string[] | number>): string {
  let lines = '';
  for (const name in headers) {
    const value = headers[name]!;
    if (Array.isArray(value)) for (const item of value) lines += `${name}: ${item}\r\n`;
    else lines += `${name}: ${value}\r\n`;
  }
  return lines;
}

function withBody(head: string, body: Buffer | undefined): Buffer {
  // Header text is latin1 (Node's parser reads header bytes as latin1, and writes them back so).
  const headBytes = head.length;
  const out = Buffer.allocUnsafe(headBytes + (body?.length ?? 0));
  out.write(head, 0, 'latin1');
  if (body && body.length > 0) body.copy(out, headBytes);
  return out;
}
