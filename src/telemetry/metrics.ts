import { createServer, type Server } from 'node:http';
import { bearerCredential, constantTimeEqual } from '../model/credentials.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RouteRecord } from '../model/route-record.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180];

/** Requests of one label set of oep_requests_total / oep_mirrored_requests_total. */
interface CountSeries {
  labels: { endpoint: string; deployment: string; status: string };
  mirrored: boolean;
  count: number;
  latency: LatencySeries;
}

/** One label set of oep_request_duration_seconds: counts per bucket (not cumulative), sum, count. */
interface LatencySeries {
  labels: { endpoint: string; deployment: string; mirrored: string };
  buckets: number[];
  sum: number;
  count: number;
}

/** prom-client's own state of a histogram label set (what `observe` updates). */
interface HistogramEntry {
  labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

export interface ReplicaHealth {
  endpoint: string;
  deployment: string;
  replica: string;
  ready: boolean;
  restarts: number;
}

/**
 * The daemon's Prometheus metrics (prom-client): requests by endpoint, deployment and status,
 * latency histograms, mirror counts and replica health, served on 127.0.0.1 to whoever has the
 * daemon's metrics token (in the URL `oep daemon status` prints, or as a bearer token): any local
 * user can reach a loopback port, only the owner can read the token.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'deployment' | 'status'>;
  private readonly mirrored: Counter<'endpoint' | 'deployment' | 'status'>;
  private readonly latency: Histogram<'endpoint' | 'deployment' | 'mirrored'>;
  /**
   * Per request, record() only adds to these plain numbers; prom-client reads them when the
   * metrics are collected (a scrape), so the router's hot path never pays for label hashing.
   */
  private readonly series: CountSeries[] = [];
  /** endpoint -> deployment ('' when none) -> status (negated for mirrored copies) -> its series. */
  private readonly byEndpoint = new Map<string, Map<string, Map<number, CountSeries>>>();
  private readonly latencySeries = new Map<string, LatencySeries>();
  private server?: Server;
  private url?: string;

  constructor(health: () => ReplicaHealth[]) {
    const series = this.series;
    const latencySeries = this.latencySeries;
    const collectCounts = (counter: Counter<'endpoint' | 'deployment' | 'status'>, mirrored: boolean): void => {
      counter.reset();
      for (const entry of series) if (entry.mirrored === mirrored) counter.inc(entry.labels, entry.count);
    };
    this.requests = new Counter({
      name: 'oep_requests_total',
      help: 'Scoring requests answered by the router, by endpoint, deployment and status (mirrored copies excluded).',
      labelNames: ['endpoint', 'deployment', 'status'],
      registers: [this.registry],
      collect() {
        collectCounts(this, false);
      },
    });
    this.mirrored = new Counter({
      name: 'oep_mirrored_requests_total',
      help: 'Mirrored copies sent, by endpoint, mirror deployment and the status the mirror answered (responses are discarded).',
      labelNames: ['endpoint', 'deployment', 'status'],
      registers: [this.registry],
      collect() {
        collectCounts(this, true);
      },
    });
    this.latency = new Histogram({
      name: 'oep_request_duration_seconds',
      help: 'Time from request received to response sent by the router.',
      labelNames: ['endpoint', 'deployment', 'mirrored'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const entry of latencySeries.values()) this.zero(entry.labels);
        // prom-client has no call that sets a histogram's counts: fill the entries zero() made.
        const byLabels = new Map<object, LatencySeries>([...latencySeries.values()].map((entry) => [entry.labels, entry]));
        for (const state of Object.values((this as unknown as { hashMap: Record<string, HistogramEntry> }).hashMap)) {
          const entry = byLabels.get(state.labels);
          if (!entry) continue;
          LATENCY_BUCKETS.forEach((bound, index) => (state.bucketValues[bound] = entry.buckets[index]));
          state.sum = entry.sum;
          state.count = entry.count;
        }
      },
    });
    const ready = new Gauge({
      name: 'oep_replica_ready',
      help: '1 when the replica is in rotation (passes its readiness probe), else 0.',
      labelNames: ['endpoint', 'deployment', 'replica'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const replica of health()) this.set({ endpoint: replica.endpoint, deployment: replica.deployment, replica: replica.replica }, replica.ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'oep_replica_restarts',
      help: 'How many times the supervisor restarted the replica since the daemon started.',
      labelNames: ['endpoint', 'deployment', 'replica'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const replica of health()) this.set({ endpoint: replica.endpoint, deployment: replica.deployment, replica: replica.replica }, replica.restarts);
      },
    });
    void ready;
  }

  /**
   * Per request (the router's hot path): three map lookups on strings and a number the router
   * already holds (no key is built), and a few additions.
   */
  record(entry: RouteRecord): void {
    const deployment = entry.deployment ?? '';
    let byDeployment = this.byEndpoint.get(entry.endpoint);
    if (!byDeployment) this.byEndpoint.set(entry.endpoint, (byDeployment = new Map()));
    let byStatus = byDeployment.get(deployment);
    if (!byStatus) byDeployment.set(deployment, (byStatus = new Map()));
    // live statuses as they are, mirrored ones negated: one map for both
    const statusKey = entry.mirrored ? -entry.status : entry.status;
    let series = byStatus.get(statusKey);
    if (!series) byStatus.set(statusKey, (series = this.addSeries(entry, deployment)));
    series.count += 1;
    const latency = series.latency;
    const seconds = entry.latency_ms / 1000;
    latency.count += 1;
    latency.sum += seconds;
    // the first bucket whose bound is >= the value, as prom-client's observe(); above all: +Inf only
    for (let index = 0; index < LATENCY_BUCKETS.length; index++) {
      if (seconds <= LATENCY_BUCKETS[index]) {
        latency.buckets[index] += 1;
        break;
      }
    }
  }

  private addSeries(entry: RouteRecord, deployment: string): CountSeries {
    const latencyKey = `${entry.endpoint}\u0000${deployment}\u0000${entry.mirrored}`;
    let latency = this.latencySeries.get(latencyKey);
    if (!latency) {
      latency = {
        labels: { endpoint: entry.endpoint, deployment, mirrored: String(entry.mirrored) },
        buckets: LATENCY_BUCKETS.map(() => 0),
        sum: 0,
        count: 0,
      };
      this.latencySeries.set(latencyKey, latency);
    }
    const series: CountSeries = {
      labels: { endpoint: entry.endpoint, deployment, status: String(entry.status) },
      mirrored: entry.mirrored,
      count: 0,
      latency,
    };
    this.series.push(series);
    return series;
  }

  /**
   * Serves /metrics on 127.0.0.1 (port 0: any free port) to requests that carry `token`, as
   * `?token=<token>` or `Authorization: Bearer <token>`; others get 401.
   */
  async listen(port: number, token: string): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      const given = url.searchParams.get('token') ?? bearerCredential(req.headers.authorization);
      if (given === undefined || given === null || !constantTimeEqual(given, token)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('The metrics need the token of the URL `oep daemon status` shows.\n');
        return;
      }
      this.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text))
        .catch((error: Error) => res.writeHead(500).end(error.message));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/metrics?token=${token}`;
    return this.url;
  }

  get metricsUrl(): string | undefined {
    return this.url;
  }

  close(): void {
    this.server?.close();
  }
}
