import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { RouteRecord } from '../router/router.js';

/** Appends one JSON line per routed request to the endpoint's access log. Never logs credentials. */
export class AccessLog {
  private readonly streams = new Map<string, WriteStream>();

  constructor(private readonly fileFor: (endpoint: string) => string) {}

  write(entry: RouteRecord): void {
    let stream = this.streams.get(entry.endpoint);
    if (!stream) {
      const file = this.fileFor(entry.endpoint);
      mkdirSync(dirname(file), { recursive: true });
      stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
      stream.on('error', () => this.streams.delete(entry.endpoint));
      this.streams.set(entry.endpoint, stream);
    }
    stream.write(`${JSON.stringify(entry)}\n`);
  }

  close(endpoint?: string): void {
    for (const [name, stream] of this.streams) {
      if (endpoint === undefined || endpoint === name) {
        stream.end();
        this.streams.delete(name);
      }
    }
  }
}
