import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { payloadEvent, rolledPath, type PayloadLogging } from '../model/data-collection.js';
import { JsonLinesFiles } from './json-lines.js';

export interface PayloadRecorderOptions {
  random?: () => number;
  now?: () => Date;
  log?: (line: string) => void;
}

/**
 * Azure's payload logging (the `request` and `response` collections of `data_collector`): the
 * router writes what came in and what went out for each sampled request, with the request's
 * x-request-id as the correlation id, which the scoring script's Collector uses too. Only
 * deployments with a data collector ever reach this module.
 */
/** What a request event records of the request (an IncomingMessage has it too). */
export interface RequestSummary {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly url?: string;
  readonly method?: string;
}

export class PayloadRecorder {
  private readonly files: JsonLinesFiles;
  private readonly random: () => number;
  private readonly now: () => Date;
  /** Azure names each file after the instance that wrote it; here, this machine and the daemon. */
  private readonly instance = `router-${hostname()}-${process.pid}`;

  constructor(options: PayloadRecorderOptions = {}) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
    const reported = new Set<string>();
    this.files = new JsonLinesFiles((file, error) => {
      // One line per file that cannot be written, not one per request.
      if (reported.has(file)) return;
      reported.add(file);
      options.log?.(`data collection: cannot write ${file}: ${error.message}`);
    });
  }

  /** Whether this request is in the sample (`sampling_rate`). */
  sample(logging: PayloadLogging): boolean {
    return logging.samplingRate >= 1 || this.random() < logging.samplingRate;
  }

  /**
   * `body` is the whole body, or for a body too large to hold its first bytes, with `totalBytes`
   * the whole length: the event's `contentrange` then says which part it holds.
   */
  request(logging: PayloadLogging, req: RequestSummary, body: Buffer, requestId: string, totalBytes = body.length): void {
    if (!logging.request) return;
    const headers: Record<string, string> = {};
    for (const name of logging.captureHeaders) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const time = this.now();
    const event = payloadEvent({
      type: 'request',
      id: randomUUID(),
      source: logging.source,
      time,
      body,
      contentType: headerValue(req.headers['content-type']),
      requestId,
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      headers,
    });
    if (totalBytes > body.length) event.contentrange = `bytes 0-${body.length - 1}/${totalBytes}`;
    this.write(logging, 'request', time, event);
  }

  /**
   * `body` is the whole answer, or for an answer too large to hold (it streamed to the client) its
   * first bytes, with `totalBytes` the whole length: the event's `contentrange` then says which
   * part it holds, as for a large request.
   */
  response(logging: PayloadLogging, body: Buffer, contentType: string | undefined, requestId: string, totalBytes = body.length): void {
    if (!logging.response) return;
    const time = this.now();
    const event = payloadEvent({ type: 'response', id: randomUUID(), source: logging.source, time, body, contentType, requestId });
    if (totalBytes > body.length) event.contentrange = `bytes 0-${body.length - 1}/${totalBytes}`;
    this.write(logging, 'response', time, event);
  }

  close(): Promise<void> {
    return this.files.close();
  }

  private write(logging: PayloadLogging, collection: string, time: Date, event: Record<string, unknown>): void {
    this.files.write(join(logging.dir, collection, rolledPath(logging.rollingRate, time), `${this.instance}.jsonl`), event);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
