import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { APPEND_NOFOLLOW } from '../model/file-flags.js';
import type { RouteRecord } from '../model/route-record.js';

const FLUSH_AFTER_MS = 20;
/** Lines are encoded into a buffer this large; a full buffer is written at once. */
const BATCH_BYTES = 64 * 1024;

interface Sink {
  /** The log, opened for appending (O_APPEND: rotation empties it in place, see log-rotation.ts). */
  fd: number;
  /** Lines not written yet, encoded: bytes 0 .. used. */
  batch: Buffer;
  used: number;
}

/**
 * Appends one JSON line per routed request to the endpoint's access log. Never logs credentials.
 * Lines are batched: encoded straight into a buffer (encodeAccessLine), so a request makes no
 * string and no garbage, and written every 20 ms or 64 KiB with one blocking write() on the event
 * loop, as nginx writes its buffered access log: a hand-off to libuv's threads for each batch
 * cost the router more CPU per request than the write itself (bench/README.md, "Telemetry").
 */
export class AccessLog {
  private readonly sinks = new Map<string, Sink>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly fileFor: (endpoint: string) => string) {}

  write(entry: RouteRecord): void {
    const sink = this.sinks.get(entry.endpoint) ?? this.open(entry.endpoint);
    if (!sink) return;
    const bound = accessLineBound(entry);
    if (sink.used + bound > BATCH_BYTES) this.flushSink(entry.endpoint, sink);
    const end = bound <= BATCH_BYTES ? encodeAccessLine(entry, sink.batch, sink.used) : -1;
    if (end >= 0) sink.used = end;
    else {
      // a record the encoder does not take: after the lines before it, as its own write
      this.flushSink(entry.endpoint, sink);
      this.writeAll(entry.endpoint, sink, Buffer.from(accessLine(entry)));
    }
    this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [endpoint, sink] of this.sinks) this.flushSink(endpoint, sink);
  }

  close(endpoint?: string): void {
    this.flush();
    for (const [name, sink] of this.sinks) {
      if (endpoint === undefined || endpoint === name) this.drop(name, sink);
    }
  }

  private open(endpoint: string): Sink | undefined {
    try {
      const file = this.fileFor(endpoint);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const sink = { fd: openSync(file, APPEND_NOFOLLOW, 0o600), batch: Buffer.allocUnsafe(BATCH_BYTES), used: 0 };
      this.sinks.set(endpoint, sink);
      return sink;
    } catch {
      // the log cannot be opened (its folder removed with the endpoint, a full disk): the request still goes through
      return undefined;
    }
  }

  private flushSink(endpoint: string, sink: Sink): void {
    if (sink.used === 0) return;
    const bytes = sink.batch.subarray(0, sink.used);
    sink.used = 0;
    this.writeAll(endpoint, sink, bytes);
  }

  private writeAll(endpoint: string, sink: Sink, bytes: Uint8Array): void {
    try {
      for (let written = 0; written < bytes.length; ) written += writeSync(sink.fd, bytes, written, bytes.length - written);
    } catch {
      // the next record opens the log again
      this.drop(endpoint, sink);
    }
  }

  private drop(endpoint: string, sink: Sink): void {
    this.sinks.delete(endpoint);
    try {
      closeSync(sink.fd);
    } catch {
      // already closed
    }
  }
}

/** The access log's line for a record: its JSON and a newline. */
export function accessLine(entry: RouteRecord): string {
  return `${JSON.stringify(entry)}\n`;
}

/** Room encodeAccessLine needs beyond the record's strings: the keys, quotes and both numbers. */
const LINE_OVERHEAD_BYTES = 160;

/** The most bytes encodeAccessLine can write for the record (its strings are one byte a character when it succeeds). */
export function accessLineBound(entry: RouteRecord): number {
  return LINE_OVERHEAD_BYTES + entry.time.length + entry.endpoint.length + entry.request_id.length + (entry.deployment?.length ?? 0);
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0));
const TIME = ascii('{"time":"');
const ENDPOINT = ascii('","endpoint":"');
const REQUEST_ID = ascii('","request_id":"');
const DEPLOYMENT = ascii('","deployment":');
const NULL = ascii('null');
const MIRRORED = ascii(',"mirrored":');
const TRUE = ascii('true');
const FALSE = ascii('false');
const STATUS = ascii(',"status":');
const LATENCY = ascii(',"latency_ms":');
const END = ascii('}\n');
const QUOTE = 0x22;

/**
 * Writes accessLine(entry)'s bytes into `into` at `at` and returns where they end, without making
 * a string: the router's hot path (on the 2-core VM of bench/README.md, JSON.stringify, joining
 * the lines and encoding them cost ~0.9 µs a request, this ~0.4 and no garbage). Only for what the
 * router records: strings of printable ASCII without `"` or `\`, and numbers that are whole or in
 * hundredths; for anything else it returns -1 (use accessLine). The caller leaves
 * accessLineBound(entry) bytes of room. test/unit/telemetry-record.test.ts holds the two equal.
 */
export function encodeAccessLine(entry: RouteRecord, into: Uint8Array, at: number): number {
  // each key's bytes end with the quote that opens its string value; the next key's close it
  let end = putPlain(into, putBytes(into, at, TIME), entry.time);
  if (end >= 0) end = putPlain(into, putBytes(into, end, ENDPOINT), entry.endpoint);
  if (end >= 0) end = putPlain(into, putBytes(into, end, REQUEST_ID), entry.request_id);
  if (end < 0) return -1;
  end = putBytes(into, end, DEPLOYMENT);
  if (entry.deployment === null) end = putBytes(into, end, NULL);
  else {
    into[end] = QUOTE;
    end = putPlain(into, end + 1, entry.deployment);
    if (end < 0) return -1;
    into[end++] = QUOTE;
  }
  end = putBytes(into, putBytes(into, end, MIRRORED), entry.mirrored ? TRUE : FALSE);
  end = putHundredths(into, end, STATUS, entry.status);
  if (end >= 0) end = putHundredths(into, end, LATENCY, entry.latency_ms);
  return end < 0 ? -1 : putBytes(into, end, END);
}

function putBytes(into: Uint8Array, at: number, bytes: Uint8Array): number {
  // a loop: faster than Uint8Array.set for a few bytes
  for (let index = 0; index < bytes.length; index++) into[at + index] = bytes[index]!;
  return at + bytes.length;
}

/** The string's characters as bytes, or -1 if JSON would escape one of them or it is not printable ASCII. */
function putPlain(into: Uint8Array, at: number, text: string): number {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code > 0x7e || code === QUOTE || code === 0x5c) return -1;
    into[at + index] = code;
  }
  return at + text.length;
}

/** `key`, then a non-negative number that is whole or in hundredths (a status, a rounded latency) as JSON writes it; else -1. */
function putHundredths(into: Uint8Array, at: number, key: Uint8Array, value: number): number {
  const hundredths = Math.round(value * 100);
  if (!(hundredths / 100 === value && hundredths >= 0 && hundredths < 1e12)) return -1;
  const fraction = hundredths % 100;
  let end = putWhole(into, putBytes(into, at, key), Math.floor(hundredths / 100));
  if (fraction === 0) return end;
  into[end++] = 0x2e; // .
  into[end++] = 0x30 + Math.floor(fraction / 10);
  if (fraction % 10 !== 0) into[end++] = 0x30 + (fraction % 10);
  return end;
}

function putWhole(into: Uint8Array, at: number, whole: number): number {
  let digits = 1;
  for (let rest = whole; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
  let rest = whole;
  for (let index = at + digits - 1; index >= at; index--) {
    into[index] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + digits;
}
