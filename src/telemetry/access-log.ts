import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { RouteRecord } from '../router/router.js';

const FLUSH_AFTER_MS = 20;
const FLUSH_AT_BYTES = 64 * 1024;

interface Sink {
  stream: WriteStream;
  pending: string[];
  bytes: number;
}

/**
 * Appends one JSON line per routed request to the endpoint's access log. Never logs credentials.
 * Lines are batched (flushed every 20 ms or 64 KiB) so logging costs little per request.
 */
export class AccessLog {
  private readonly sinks = new Map<string, Sink>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly fileFor: (endpoint: string) => string) {}

  write(entry: RouteRecord): void {
    let sink = this.sinks.get(entry.endpoint);
    if (!sink) {
      const file = this.fileFor(entry.endpoint);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
      stream.on('error', () => this.sinks.delete(entry.endpoint));
      sink = { stream, pending: [], bytes: 0 };
      this.sinks.set(entry.endpoint, sink);
    }
    const line = `${JSON.stringify(entry)}\n`;
    sink.pending.push(line);
    sink.bytes += line.length;
    if (sink.bytes >= FLUSH_AT_BYTES) this.flushSink(sink);
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const sink of this.sinks.values()) this.flushSink(sink);
  }

  close(endpoint?: string): void {
    this.flush();
    for (const [name, sink] of this.sinks) {
      if (endpoint === undefined || endpoint === name) {
        sink.stream.end();
        this.sinks.delete(name);
      }
    }
  }

  private flushSink(sink: Sink): void {
    if (sink.pending.length === 0) return;
    sink.stream.write(sink.pending.join(''));
    sink.pending = [];
    sink.bytes = 0;
  }
}
