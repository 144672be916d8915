import type { RouteRecord } from '../model/route-record.js';

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
  requests: number;
  /** At most LATENCIES_PER_SECOND of the second's latencies, a uniform sample beyond that. */
  latencies: number[];
  errors: number;
}

/** One series: an endpoint's deployment, live or mirrored. */
interface Track {
  total: number;
  seconds: Second[];
}

/** Latencies kept per second and series (enough for a p99; a busy second keeps a uniform sample). */
const LATENCIES_PER_SECOND = 1000;

/**
 * Per-second request counts, errors and latency percentiles per endpoint and deployment, live
 * and mirrored apart, fed by the same route records as the Prometheus metrics. Bounded: at most
 * SERIES_SECONDS seconds per series, and at most 1000 latencies per second (a uniform sample
 * of a busier second; its request and error counts stay exact).
 */
export class DashboardSeries {
  /** endpoint -> deployment -> [live, mirrored]. Looked up by the router's own strings: no key is built per request. */
  private readonly tracks = new Map<string, Map<string, [Track, Track]>>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  record(entry: RouteRecord): void {
    if (entry.deployment === null) return;
    let byDeployment = this.tracks.get(entry.endpoint);
    if (!byDeployment) this.tracks.set(entry.endpoint, (byDeployment = new Map()));
    let pair = byDeployment.get(entry.deployment);
    if (!pair) byDeployment.set(entry.deployment, (pair = [newTrack(), newTrack()]));
    const track = pair[entry.mirrored ? 1 : 0];
    track.total += 1;
    const seconds = track.seconds;
    const t = Math.floor(this.now() / 1000);
    let last = seconds[seconds.length - 1];
    if (!last || last.t !== t) {
      last = { t, requests: 0, latencies: [], errors: 0 };
      seconds.push(last);
      while (seconds.length > 0 && seconds[0]!.t <= t - SERIES_SECONDS) seconds.shift();
    }
    last.requests += 1;
    if (last.latencies.length < LATENCIES_PER_SECOND) last.latencies.push(entry.latency_ms);
    else {
      // reservoir sampling: every latency of the second equally likely to be kept
      const slot = Math.floor(this.random() * last.requests);
      if (slot < LATENCIES_PER_SECOND) last.latencies[slot] = entry.latency_ms;
    }
    if (entry.status >= 500 || entry.status === 408 || entry.status === 424) last.errors += 1;
  }

  total(endpoint: string, deployment: string, mirrored: boolean): number {
    return this.track(endpoint, deployment, mirrored)?.total ?? 0;
  }

  /** The last `seconds` seconds, one point per second (zeros where nothing came), oldest first. */
  points(endpoint: string, deployment: string, mirrored: boolean, seconds = 120): SeriesPoint[] {
    const recorded = new Map((this.track(endpoint, deployment, mirrored)?.seconds ?? []).map((second) => [second.t, second]));
    const end = Math.floor(this.now() / 1000);
    const out: SeriesPoint[] = [];
    for (let t = end - seconds + 1; t <= end; t += 1) {
      const second = recorded.get(t);
      const sorted = second ? [...second.latencies].sort((a, b) => a - b) : [];
      out.push({
        t,
        requests: second?.requests ?? 0,
        errors: second?.errors ?? 0,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        p99: percentile(sorted, 0.99),
      });
    }
    return out;
  }

  forget(endpoint: string): void {
    this.tracks.delete(endpoint);
  }

  private track(endpoint: string, deployment: string, mirrored: boolean): Track | undefined {
    return this.tracks.get(endpoint)?.get(deployment)?.[mirrored ? 1 : 0];
  }
}

function newTrack(): Track {
  return { total: 0, seconds: [] };
}

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
