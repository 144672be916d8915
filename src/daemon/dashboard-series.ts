import type { RouteRecord } from '../router/router.js';

/** Seconds of history the dashboard keeps per deployment (its charts show the last minutes). */
export const SERIES_SECONDS = 300;

export interface SeriesPoint {
  /** Start of the second, in seconds since the epoch. */
  t: number;
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

interface Second {
  t: number;
  latencies: number[];
  errors: number;
}

/**
 * Per-second request counts, errors and latency percentiles per endpoint and deployment, live
 * and mirrored apart, fed by the same route records as the Prometheus metrics. Bounded: at most
 * SERIES_SECONDS seconds per series, and latencies beyond 1000 per second are sampled.
 */
export class DashboardSeries {
  private readonly series = new Map<string, Second[]>();
  /** Requests and mirrored copies per endpoint and deployment since the daemon started. */
  private readonly totals = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  record(entry: RouteRecord): void {
    if (entry.deployment === null) return;
    const key = seriesKey(entry.endpoint, entry.deployment, entry.mirrored);
    this.totals.set(key, (this.totals.get(key) ?? 0) + 1);
    let seconds = this.series.get(key);
    if (!seconds) this.series.set(key, (seconds = []));
    const t = Math.floor(this.now() / 1000);
    let last = seconds[seconds.length - 1];
    if (!last || last.t !== t) {
      last = { t, latencies: [], errors: 0 };
      seconds.push(last);
      while (seconds.length > 0 && seconds[0]!.t <= t - SERIES_SECONDS) seconds.shift();
    }
    if (last.latencies.length < 1000) last.latencies.push(entry.latency_ms);
    if (entry.status >= 500 || entry.status === 408 || entry.status === 424) last.errors += 1;
  }

  total(endpoint: string, deployment: string, mirrored: boolean): number {
    return this.totals.get(seriesKey(endpoint, deployment, mirrored)) ?? 0;
  }

  /** The last `seconds` seconds, one point per second (zeros where nothing came), oldest first. */
  points(endpoint: string, deployment: string, mirrored: boolean, seconds = 120): SeriesPoint[] {
    const recorded = new Map((this.series.get(seriesKey(endpoint, deployment, mirrored)) ?? []).map((second) => [second.t, second]));
    const end = Math.floor(this.now() / 1000);
    const out: SeriesPoint[] = [];
    for (let t = end - seconds + 1; t <= end; t += 1) {
      const second = recorded.get(t);
      const sorted = second ? [...second.latencies].sort((a, b) => a - b) : [];
      out.push({
        t,
        requests: second?.latencies.length ?? 0,
        errors: second?.errors ?? 0,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        p99: percentile(sorted, 0.99),
      });
    }
    return out;
  }

  forget(endpoint: string): void {
    for (const map of [this.series, this.totals]) for (const key of map.keys()) if (key.startsWith(`${endpoint}\u0000`)) map.delete(key);
  }
}

function seriesKey(endpoint: string, deployment: string, mirrored: boolean): string {
  return `${endpoint}\u0000${deployment}\u0000${mirrored}`;
}

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
