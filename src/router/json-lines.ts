import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { APPEND_NOFOLLOW } from '../model/file-flags.js';

const FLUSH_AFTER_MS = 20;
const FLUSH_AT_BYTES = 64 * 1024;
/** A file nothing was written to for this long is closed (rolled paths leave old files behind). */
const CLOSE_IDLE_AFTER_MS = 30_000;

interface Sink {
  stream: WriteStream;
  pending: string[];
  bytes: number;
  lastWrite: number;
}

/**
 * Appends JSON lines to many files (e.g. the data collector's rolled `.jsonl` files), batched as
 * the access log is: flushed every 20 ms or 64 KiB, so a request pays for a string push only.
 */
export class JsonLinesFiles {
  private readonly sinks = new Map<string, Sink>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly onError: (file: string, error: Error) => void = () => undefined) {}

  write(file: string, value: unknown): void {
    let sink = this.sinks.get(file);
    if (!sink) {
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      } catch (error) {
        this.onError(file, error as Error);
        return;
      }
      // Never through a link (O_NOFOLLOW); flags as a number, which fs.open takes.
      const stream = createWriteStream(file, { flags: APPEND_NOFOLLOW as unknown as string, mode: 0o600 });
      stream.on('error', (error) => {
        this.sinks.delete(file);
        this.onError(file, error);
      });
      sink = { stream, pending: [], bytes: 0, lastWrite: 0 };
      this.sinks.set(file, sink);
    }
    const line = `${JSON.stringify(value)}\n`;
    sink.pending.push(line);
    sink.bytes += line.length;
    sink.lastWrite = Date.now();
    if (sink.bytes >= FLUSH_AT_BYTES) this.flushSink(sink);
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const idleSince = Date.now() - CLOSE_IDLE_AFTER_MS;
    for (const [file, sink] of this.sinks) {
      this.flushSink(sink);
      if (sink.lastWrite < idleSince) {
        sink.stream.end();
        this.sinks.delete(file);
      }
    }
  }

  /** Flushes everything and closes every file; resolves once the data is written. */
  async close(): Promise<void> {
    this.flush();
    const ends = [...this.sinks.values()].map((sink) => new Promise<void>((resolve) => sink.stream.end(() => resolve())));
    this.sinks.clear();
    await Promise.all(ends);
  }

  private flushSink(sink: Sink): void {
    if (sink.pending.length === 0) return;
    sink.stream.write(sink.pending.join(''));
    sink.pending = [];
    sink.bytes = 0;
  }
}
