import { createServer, type Server } from 'node:http';
import { bearerCredential, constantTimeEqual } from '../router/auth.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RouteRecord } from '../router/router.js';

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
  private readonly series = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<string> }>();
  private server?: Server;
  private url?: string;

  constructor(health: () => ReplicaHealth[]) {
    this.requests = new Counter({
      name: 'oep_requests_total',
      help: 'Scoring requests answered by the router, by endpoint, deployment and status (mirrored copies excluded).',
      labelNames: ['endpoint', 'deployment', 'status'],
      registers: [this.registry],
    });
    this.mirrored = new Counter({
      name: 'oep_mirrored_requests_total',
      help: 'Mirrored copies sent, by endpoint, mirror deployment and the status the mirror answered (responses are discarded).',
      labelNames: ['endpoint', 'deployment', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'oep_request_duration_seconds',
      help: 'Time from request received to response sent by the router.',
      labelNames: ['endpoint', 'deployment', 'mirrored'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180],
      registers: [this.registry],
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

  /** Per request: label children are looked up once per label set and cached (the hot path). */
  record(entry: RouteRecord): void {
    const key = `${entry.endpoint}\u0000${entry.deployment ?? ''}\u0000${entry.status}\u0000${entry.mirrored}`;
    let series = this.series.get(key);
    if (!series) {
      const deployment = entry.deployment ?? '';
      series = {
        count: (entry.mirrored ? this.mirrored : this.requests).labels(entry.endpoint, deployment, String(entry.status)),
        latency: this.latency.labels(entry.endpoint, deployment, String(entry.mirrored)),
      };
      this.series.set(key, series);
    }
    series.count.inc();
    series.latency.observe(entry.latency_ms / 1000);
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
