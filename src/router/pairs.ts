import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { appendFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PairAnswer, RecordedPair } from '../model/compare.js';
import { APPEND_NOFOLLOW } from '../model/file-flags.js';
import type { BodySummary } from './answer.js';

/** Bodies are kept up to this many bytes per side; longer ones keep their start and a digest. */
export const PAIR_BODY_BYTES = 16 * 1024;
/** At most this many pairs per endpoint per second are recorded; more are counted as sampled out. */
export const PAIRS_PER_SECOND = 50;
/** With two or more ready live replicas, one recorded pair in this many also asks a second live replica (Diffy's noise). */
export const NOISE_EVERY = 4;

export interface PairRecorderOptions {
  /** Pairs kept per endpoint, in memory (a ring) and on disk (two files of at most this many lines). */
  ringSize: number;
  /** Where each endpoint's pairs are kept (`<dir>/<endpoint>.jsonl` and `.jsonl.1`); none: memory only. */
  dir?: string;
  bodyBytes?: number;
  perSecond?: number;
  noiseEvery?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export interface PairStats {
  ring_size: number;
  stored: number;
  /** Mirrored requests not recorded because the volume was above PAIRS_PER_SECOND. */
  sampled_out: number;
}

interface EndpointPairs {
  ring: RecordedPair[];
  /** Where the next pair goes once the ring is full. */
  next: number;
  sampledOut: number;
  tokens: number;
  refilled: number;
  counter: number;
  pendingLines: string[];
  linesInFile: number;
  writing?: Promise<void>;
}

/**
 * One mirrored request's pair while its answers come in. The router hands it each side as it
 * ends; the pair is recorded once every side it waits for is in. A ticket whose live side never
 * ends (the client left) is simply dropped with the request's closures: nothing waits on it.
 */
export class PairTicket {
  private liveAnswer?: PairAnswer;
  private mirrorAnswer?: PairAnswer;
  private noiseAnswer?: PairAnswer;
  private done = false;

  constructor(
    private readonly commit: (pair: RecordedPair) => void,
    private readonly base: { request_id: string; live_deployment: string; mirror_deployment: string; time: string },
    private readonly bodyBytes: number,
    /** Whether the router should send a second copy to another live replica. */
    readonly wantsNoise: boolean,
  ) {}

  /** How much of a streamed answer's start is worth keeping for this pair (see BodyTap). */
  get keepBytes(): number {
    return this.bodyBytes;
  }

  /** `body`: the whole answer, or for a streamed one what was kept of it (start, length, digest). */
  live(status: number, latencyMs: number, body: Buffer | string | BodySummary | undefined): void {
    this.liveAnswer = answerOf(status, latencyMs, body, this.bodyBytes);
    this.complete();
  }

  mirror(status: number, latencyMs: number, body: Buffer | BodySummary | undefined, dropped = false): void {
    this.mirrorAnswer = { ...answerOf(status, latencyMs, body, this.bodyBytes), ...(dropped && { dropped: true }) };
    this.complete();
  }

  noise(status: number, latencyMs: number, body: Buffer | BodySummary | undefined, dropped = false): void {
    this.noiseAnswer = { ...answerOf(status, latencyMs, body, this.bodyBytes), ...(dropped && { dropped: true }) };
    this.complete();
  }

  private complete(): void {
    if (this.done || !this.liveAnswer || !this.mirrorAnswer || (this.wantsNoise && !this.noiseAnswer)) return;
    this.done = true;
    this.commit({ ...this.base, live: this.liveAnswer, mirror: this.mirrorAnswer, ...(this.noiseAnswer && { noise: this.noiseAnswer }) });
  }
}

function answerOf(status: number, latencyMs: number, body: Buffer | string | BodySummary | undefined, limit: number): PairAnswer {
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    // A streamed answer: only its start was kept, with its length and the digest of all of it.
    const truncated = body.bytes > limit;
    return {
      status,
      latency_ms: Math.round(latencyMs * 100) / 100,
      bytes: body.bytes,
      body: body.start.subarray(0, limit).toString('utf8'),
      ...(truncated && { truncated: true }),
      digest: body.digest ?? '',
    };
  }
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const truncated = bytes.length > limit;
  return {
    status,
    latency_ms: Math.round(latencyMs * 100) / 100,
    bytes: bytes.length,
    body: (truncated ? bytes.subarray(0, limit) : bytes).toString('utf8'),
    ...(truncated && { truncated: true }),
    digest: createHash('sha1').update(bytes).digest('base64'),
  };
}

/**
 * The pairs of mirrored requests, per endpoint: a ring of `ringSize` in memory and the same on
 * disk (appended in batches, rotated to `.1` every `ringSize` lines, so at most 2 x ringSize
 * lines), read back when the daemon starts. Only mirrored requests ever reach it: an endpoint
 * without a mirror pays nothing.
 */
export class PairRecorder {
  private readonly endpoints = new Map<string, EndpointPairs>();
  private readonly bodyBytes: number;
  private readonly perSecond: number;
  private readonly noiseEvery: number;
  private readonly now: () => number;
  private flushTimer?: NodeJS.Timeout;

  constructor(private readonly options: PairRecorderOptions) {
    this.bodyBytes = options.bodyBytes ?? PAIR_BODY_BYTES;
    this.perSecond = options.perSecond ?? PAIRS_PER_SECOND;
    this.noiseEvery = options.noiseEvery ?? NOISE_EVERY;
    this.now = options.now ?? Date.now;
    if (options.dir) mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  }

  get ringSize(): number {
    return this.options.ringSize;
  }

  /**
   * A ticket for a mirrored request, or undefined when the volume is above the sampling rate.
   * `liveReplicas`: ready replicas of the live deployment (two or more allow a noise sample).
   */
  begin(endpoint: string, requestId: string, liveDeployment: string, mirrorDeployment: string, liveReplicas: number): PairTicket | undefined {
    const entry = this.entry(endpoint);
    const now = this.now();
    entry.tokens = Math.min(this.perSecond, entry.tokens + ((now - entry.refilled) / 1000) * this.perSecond);
    entry.refilled = now;
    if (entry.tokens < 1) {
      entry.sampledOut += 1;
      return undefined;
    }
    entry.tokens -= 1;
    entry.counter += 1;
    const wantsNoise = liveReplicas >= 2 && entry.counter % this.noiseEvery === 0;
    return new PairTicket(
      (pair) => this.store(endpoint, pair),
      { time: new Date(now).toISOString(), request_id: requestId, live_deployment: liveDeployment, mirror_deployment: mirrorDeployment },
      this.bodyBytes,
      wantsNoise,
    );
  }

  /** The endpoint's recorded pairs, oldest first. */
  pairs(endpoint: string): RecordedPair[] {
    const entry = this.endpoints.get(endpoint) ?? this.load(endpoint);
    if (!entry) return [];
    return [...entry.ring.slice(entry.next), ...entry.ring.slice(0, entry.next)];
  }

  stats(endpoint: string): PairStats {
    const entry = this.endpoints.get(endpoint);
    return { ring_size: this.options.ringSize, stored: entry?.ring.length ?? 0, sampled_out: entry?.sampledOut ?? 0 };
  }

  /** Forgets an endpoint's pairs (the endpoint was deleted). */
  async forget(endpoint: string): Promise<void> {
    const entry = this.endpoints.get(endpoint);
    this.endpoints.delete(endpoint);
    await entry?.writing;
    if (this.options.dir) await Promise.all([this.file(endpoint), `${this.file(endpoint)}.1`].map((file) => rm(file, { force: true })));
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flush();
    await Promise.all([...this.endpoints.values()].map((entry) => entry.writing));
  }

  private file(endpoint: string): string {
    return join(this.options.dir!, `${encodeURIComponent(endpoint)}.jsonl`);
  }

  private entry(endpoint: string): EndpointPairs {
    return this.endpoints.get(endpoint) ?? this.load(endpoint) ?? this.create(endpoint, []);
  }

  private create(endpoint: string, ring: RecordedPair[]): EndpointPairs {
    const entry: EndpointPairs = { ring, next: 0, sampledOut: 0, tokens: this.perSecond, refilled: this.now(), counter: 0, pendingLines: [], linesInFile: 0 };
    this.endpoints.set(endpoint, entry);
    return entry;
  }

  /** What an earlier daemon recorded: the last ringSize pairs of the two files. */
  private load(endpoint: string): EndpointPairs | undefined {
    if (!this.options.dir) return undefined;
    const lines: string[] = [];
    let current = 0;
    for (const file of [`${this.file(endpoint)}.1`, this.file(endpoint)]) {
      try {
        const text = readFileSync(file, 'utf8').split('\n').filter(Boolean);
        lines.push(...text);
        current = text.length;
      } catch {
        current = 0;
      }
    }
    if (lines.length === 0) return undefined;
    const ring: RecordedPair[] = [];
    for (const line of lines.slice(-this.options.ringSize)) {
      try {
        ring.push(JSON.parse(line) as RecordedPair);
      } catch {
        // a line cut short by a crash
      }
    }
    const entry = this.create(endpoint, ring);
    entry.linesInFile = current;
    entry.next = ring.length % this.options.ringSize;
    return entry;
  }

  private store(endpoint: string, pair: RecordedPair): void {
    const entry = this.entry(endpoint);
    if (entry.ring.length < this.options.ringSize) {
      entry.ring.push(pair);
      entry.next = entry.ring.length % this.options.ringSize;
    } else {
      entry.ring[entry.next] = pair;
      entry.next = (entry.next + 1) % this.options.ringSize;
    }
    if (!this.options.dir) return;
    entry.pendingLines.push(`${JSON.stringify(pair)}\n`);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 200);
  }

  private flush(): void {
    for (const [endpoint, entry] of this.endpoints) {
      if (entry.pendingLines.length === 0) continue;
      const lines = entry.pendingLines;
      entry.pendingLines = [];
      const file = this.file(endpoint);
      entry.writing = (entry.writing ?? Promise.resolve())
        .then(async () => {
          // Rotate before the file would pass ringSize lines: the two files hold at most 2 x ringSize.
          let start = 0;
          while (start < lines.length) {
            const room = this.options.ringSize - entry.linesInFile;
            if (room <= 0) {
              await rename(file, `${file}.1`);
              entry.linesInFile = 0;
              continue;
            }
            const chunk = lines.slice(start, start + room);
            await appendFile(file, chunk.join(''), { mode: 0o600, flag: APPEND_NOFOLLOW });
            entry.linesInFile += chunk.length;
            start += chunk.length;
          }
        })
        .catch((error: Error) => this.options.log?.(`could not record pairs of endpoint ${endpoint}: ${error.message}`));
    }
  }
}
