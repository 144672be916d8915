/**
 * The shadow comparison of `oep traffic compare`: recorded pairs (the live answer and the mirror's
 * answer to one request) in, a report out. Pure: no I/O, no clock.
 *
 * Following Twitter's Diffy, when the live deployment has two or more replicas a share of the
 * pairs also carries a second live answer from another live replica (`noise`): a JSON path that
 * differs between two replicas of the same deployment as often as it differs between live and
 * mirror is noise (a timestamp, a random id), not a regression, and is not counted against the
 * mirror.
 */

/** One side of a pair: what a deployment answered to the request. */
export interface PairAnswer {
  status: number;
  latency_ms: number;
  /** The body's whole size in bytes. */
  bytes: number;
  /** The body as UTF-8 text, up to the recording limit. */
  body: string;
  /** The body was longer than the limit: `body` holds its start, `digest` tells whether two agree. */
  truncated?: boolean;
  /** A hash of the whole body (exact agreement of truncated bodies). */
  digest: string;
  /** The copy was never sent (no ready replica, the mirror's concurrency limit, a streamed body). */
  dropped?: boolean;
}

export interface RecordedPair {
  time: string;
  request_id: string;
  live_deployment: string;
  mirror_deployment: string;
  live: PairAnswer;
  mirror: PairAnswer;
  /** A second live answer from another replica of the live deployment (Diffy's noise sample). */
  noise?: PairAnswer;
}

export interface Tolerance {
  /** |a - b| <= absolute + relative * max(|a|, |b|) counts as agreement. */
  relative: number;
  absolute: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { relative: 1e-6, absolute: 0 };

/** A path whose difference rate between live and mirror must exceed the noise rate by this much. */
export const NOISE_MARGIN = 0.01;

export interface Difference {
  /** The JSON path with array indexes as [*], so that differences at every index count together. */
  path: string;
  /** The concrete path, e.g. $.predictions[3]. */
  at: string;
  live: unknown;
  mirror: unknown;
}

export interface PathReport {
  path: string;
  /** Pairs with a difference at this path (beyond the tolerance). */
  count: number;
  rate: number;
  /** The share of noise samples differing at this path (live replica vs live replica). */
  noise_rate: number | null;
  above_noise: boolean;
  examples: Array<{ request_id: string; at: string; live: unknown; mirror: unknown }>;
}

export interface LatencySummary {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface CompareReport {
  endpoint: string;
  since: string | null;
  live_deployments: string[];
  mirror_deployments: string[];
  /** Pairs where both sides answered. */
  pairs: number;
  agreement: {
    /** Same status and byte-identical bodies. */
    exact: number | null;
    /** Same status and bodies equal within the numeric tolerance. */
    within_tolerance: number | null;
    /** Within tolerance, ignoring paths that differ as often between live replicas (the headline rate; --fail-under checks it). */
    above_noise: number | null;
  };
  tolerance: Tolerance;
  differences: PathReport[];
  status_pairs: Array<{ live: number; mirror: number; count: number }>;
  latency_ms: { live: LatencySummary; mirror: LatencySummary; delta_p50: number | null; delta_p95: number | null };
  mirror: { sent: number; answered: number; errors: number; dropped: number };
  noise: { samples: number; paths: Array<{ path: string; rate: number }> };
}

export interface CompareOptions {
  endpoint: string;
  tolerance?: Tolerance;
  /** Only pairs recorded at or after this time (ISO 8601). */
  since?: string;
  examplesPerPath?: number;
}

/** Parses --tolerance REL[,ABS], e.g. 0.01 or 0.01,1e-6; undefined when malformed. */
export function parseTolerance(text: string): Tolerance | undefined {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length < 1 || parts.length > 2 || parts.some((part) => part === '')) return undefined;
  const [relative, absolute = 0] = parts.map(Number);
  if (![relative, absolute].every((value) => Number.isFinite(value) && value! >= 0)) return undefined;
  return { relative: relative!, absolute };
}

/** Parses --since DURATION (30s, 5m, 2h, 1d, or plain seconds) into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
}

export function numbersAgree(a: number, b: number, tolerance: Tolerance): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= tolerance.absolute + tolerance.relative * Math.max(Math.abs(a), Math.abs(b));
}

/** Whether two answers are byte-identical with the same status. */
export function exactlyEqual(a: PairAnswer, b: PairAnswer): boolean {
  return a.status === b.status && a.digest === b.digest && a.bytes === b.bytes;
}

/**
 * The differences between two answers' bodies beyond the tolerance, by JSON path. Bodies that
 * are not JSON (or were truncated) are compared whole, at path `$`.
 */
export function diffBodies(live: PairAnswer, mirror: PairAnswer, tolerance: Tolerance): Difference[] {
  if (live.digest === mirror.digest && live.bytes === mirror.bytes) return [];
  if (live.truncated || mirror.truncated) return [{ path: '$', at: '$', live: `<${live.bytes} bytes>`, mirror: `<${mirror.bytes} bytes>` }];
  const a = parseJson(live.body);
  const b = parseJson(mirror.body);
  if (a === NOT_JSON || b === NOT_JSON) return [{ path: '$', at: '$', live: live.body, mirror: mirror.body }];
  const out: Difference[] = [];
  diffValues(a, b, '$', '$', tolerance, out);
  return out;
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function diffValues(a: unknown, b: unknown, path: string, at: string, tolerance: Tolerance, out: Difference[]): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (!numbersAgree(a, b, tolerance)) out.push({ path, at, live: a, mirror: b });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push({ path: `${path}.length`, at: `${at}.length`, live: a.length, mirror: b.length });
    for (let index = 0; index < Math.min(a.length, b.length); index += 1) diffValues(a[index], b[index], `${path}[*]`, `${at}[${index}]`, tolerance, out);
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const child = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      if (!Object.hasOwn(a, key) || !Object.hasOwn(b, key)) {
        out.push({ path: path + child, at: at + child, live: Object.hasOwn(a, key) ? a[key] : '<missing>', mirror: Object.hasOwn(b, key) ? b[key] : '<missing>' });
      } else {
        diffValues(a[key], b[key], path + child, at + child, tolerance, out);
      }
    }
    return;
  }
  if (a !== b) out.push({ path, at, live: a, mirror: b });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The q-quantile (0..1) of sorted values, nearest rank; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function summarise(values: number[]): LatencySummary {
  const sorted = [...values].sort((x, y) => x - y);
  return { p50: round(quantile(sorted, 0.5)), p95: round(quantile(sorted, 0.95)), p99: round(quantile(sorted, 0.99)) };
}

function round(value: number | null, digits = 2): number | null {
  if (value === null) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function rate(count: number, total: number): number | null {
  return total === 0 ? null : round(count / total, 4);
}

/** The mirror's answer counts as an error when it is a server error or a timeout (the live one is the reference). */
function isError(answer: PairAnswer): boolean {
  return answer.status >= 500 || answer.status === 408;
}

export function comparePairs(recorded: readonly RecordedPair[], options: CompareOptions): CompareReport {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const examplesPerPath = options.examplesPerPath ?? 3;
  const selected = options.since === undefined ? recorded : recorded.filter((pair) => pair.time >= options.since!);
  const answered = selected.filter((pair) => !pair.mirror.dropped);

  // Noise first: which paths differ between two live replicas, and how often.
  const noiseCounts = new Map<string, number>();
  let noiseSamples = 0;
  for (const pair of answered) {
    if (!pair.noise || pair.noise.dropped) continue;
    noiseSamples += 1;
    const paths = new Set(pair.live.status !== pair.noise.status ? ['status'] : diffBodies(pair.live, pair.noise, tolerance).map((d) => d.path));
    for (const path of paths) noiseCounts.set(path, (noiseCounts.get(path) ?? 0) + 1);
  }
  const noiseRate = (path: string): number | null => (noiseSamples === 0 ? null : (noiseCounts.get(path) ?? 0) / noiseSamples);

  const byPath = new Map<string, { count: number; examples: PathReport['examples'] }>();
  const statusPairs = new Map<string, { live: number; mirror: number; count: number }>();
  const pairDiffs: Array<Set<string> | 'status'> = [];
  let exact = 0;
  for (const pair of answered) {
    const key = `${pair.live.status} ${pair.mirror.status}`;
    const entry = statusPairs.get(key) ?? { live: pair.live.status, mirror: pair.mirror.status, count: 0 };
    entry.count += 1;
    statusPairs.set(key, entry);
    if (exactlyEqual(pair.live, pair.mirror)) {
      exact += 1;
      pairDiffs.push(new Set());
      continue;
    }
    if (pair.live.status !== pair.mirror.status) {
      pairDiffs.push('status');
      continue;
    }
    const differences = diffBodies(pair.live, pair.mirror, tolerance);
    const paths = new Set<string>();
    for (const difference of differences) {
      let report = byPath.get(difference.path);
      if (!report) byPath.set(difference.path, (report = { count: 0, examples: [] }));
      if (!paths.has(difference.path)) {
        report.count += 1;
        if (report.examples.length < examplesPerPath) report.examples.push({ request_id: pair.request_id, at: difference.at, live: difference.live, mirror: difference.mirror });
      }
      paths.add(difference.path);
    }
    pairDiffs.push(paths);
  }

  const total = answered.length;
  const differences: PathReport[] = [...byPath.entries()]
    .map(([path, { count, examples }]) => {
      const candidate = count / total;
      const noise = noiseRate(path);
      return {
        path,
        count,
        rate: round(candidate, 4)!,
        noise_rate: noise === null ? null : round(noise, 4),
        above_noise: noise === null ? true : candidate > 2 * noise && candidate - noise > NOISE_MARGIN,
        examples,
      };
    })
    .sort((x, y) => y.count - x.count || x.path.localeCompare(y.path));
  const noisy = new Set(differences.filter((d) => !d.above_noise).map((d) => d.path));
  let withinTolerance = 0;
  let aboveNoise = 0;
  for (const paths of pairDiffs) {
    if (paths === 'status') continue;
    if (paths.size === 0) withinTolerance += 1;
    if ([...paths].every((path) => noisy.has(path))) aboveNoise += 1;
  }

  const live = summarise(answered.map((pair) => pair.live.latency_ms));
  const mirror = summarise(answered.map((pair) => pair.mirror.latency_ms));
  const delta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : round(b - a));
  return {
    endpoint: options.endpoint,
    since: options.since ?? null,
    live_deployments: [...new Set(selected.map((pair) => pair.live_deployment))].sort(),
    mirror_deployments: [...new Set(selected.map((pair) => pair.mirror_deployment))].sort(),
    pairs: total,
    agreement: { exact: rate(exact, total), within_tolerance: rate(withinTolerance, total), above_noise: rate(aboveNoise, total) },
    tolerance,
    differences,
    status_pairs: [...statusPairs.values()].sort((x, y) => y.count - x.count || x.live - y.live || x.mirror - y.mirror),
    latency_ms: { live, mirror, delta_p50: delta(live.p50, mirror.p50), delta_p95: delta(live.p95, mirror.p95) },
    mirror: {
      sent: selected.length,
      answered: total,
      errors: answered.filter((pair) => isError(pair.mirror)).length,
      dropped: selected.length - total,
    },
    noise: {
      samples: noiseSamples,
      paths: [...noiseCounts.entries()].map(([path, count]) => ({ path, rate: round(count / noiseSamples, 4)! })).sort((x, y) => y.rate - x.rate),
    },
  };
}
