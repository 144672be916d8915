import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BenchmarkReport } from '../model/benchmark-report.js';
import { constantTimeEqual } from '../model/credentials.js';
import type { CompareReport } from '../model/compare.js';
import { PACKAGE_ROOT } from '../state/paths.js';
import type { OepState } from '../state/types.js';
import type { ReplicaHealth } from '../telemetry/metrics.js';
import type { DashboardSeries, SeriesPoint } from './dashboard-series.js';

/** The dashboard's page and scripts: one folder, served as they are (no build step). */
export const WEB_DIR = join(PACKAGE_ROOT, 'web');

/** How often an open page gets a new snapshot over server-sent events. */
const PUSH_EVERY_MS = 1000;
/** The compare summary is recomputed at most this often (it parses every recorded pair). */
const COMPARE_EVERY_MS = 5000;

export interface DashboardOptions {
  state: () => OepState;
  series: DashboardSeries;
  health: () => ReplicaHealth[];
  compare: (endpoint: string) => CompareReport;
  /** The endpoint's newest kept `oep endpoint benchmark` report (src/registry/benchmarks.ts), if any. */
  latestBenchmark: (endpoint: string) => Promise<BenchmarkReport | undefined>;
  /** Fixed for tests; by default a fresh random token per daemon. */
  token?: string;
}

export interface DeploymentSnapshot {
  name: string;
  traffic: number;
  mirror: number;
  requests_total: number;
  mirrored_total: number;
  replicas: Array<{ replica: string; ready: boolean; restarts: number }>;
  live: SeriesPoint[];
  mirrored: SeriesPoint[];
}

export interface EndpointSnapshot {
  endpoint: string;
  time: string;
  deployments: DeploymentSnapshot[];
  compare: Pick<CompareReport, 'pairs' | 'agreement' | 'latency_ms' | 'mirror' | 'status_pairs'> & { differences: Array<{ path: string; count: number; rate: number; above_noise: boolean }> } | null;
}

/**
 * The local dashboard: pages, a JSON snapshot and a server-sent event stream per endpoint, on
 * 127.0.0.1, for whoever holds the daemon's dashboard token (in the URL `oep dashboard` prints).
 * Static assets (the page's script and the charting library, served from node_modules as
 * published) carry no data and need no token, so the page can load them by plain URLs.
 */
export class Dashboard {
  readonly token: string;
  private server?: Server;
  private base?: string;
  private readonly streams = new Set<ServerResponse>();
  private timer?: NodeJS.Timeout;
  private readonly compared = new Map<string, { at: number; summary: EndpointSnapshot['compare'] }>();
  private readonly assets: Record<string, { file: string; type: string }>;

  constructor(private readonly options: DashboardOptions) {
    this.token = options.token ?? randomBytes(24).toString('base64url');
    const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
    this.assets = {
      '/assets/dashboard.js': { file: join(WEB_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
      '/assets/dashboard.css': { file: join(WEB_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
      '/assets/uPlot.iife.min.js': { file: join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
      '/assets/uPlot.min.css': { file: join(uplot, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
    };
  }

  async listen(port = 0): Promise<void> {
    this.server = createServer(
      (req, res) =>
        void this.handle(req, res).catch((error: unknown) => {
          if (res.headersSent) return;
          if (error instanceof BadRequest) badRequest(res, error.message);
          else res.writeHead(500).end();
        }),
    );
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    this.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  }

  /** The URL of the index, or of one endpoint's page, with the token. */
  url(endpoint?: string): string | undefined {
    if (!this.base) return undefined;
    return `${this.base}/${endpoint === undefined ? '' : `endpoints/${encodeURIComponent(endpoint)}`}?token=${this.token}`;
  }

  close(): void {
    clearInterval(this.timer);
    for (const stream of this.streams) stream.end();
    this.server?.close();
    this.server?.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      return badRequest(res, 'The URL cannot be read.');
    }
    const asset = this.assets[url.pathname];
    if (asset) {
      const text = await readFile(asset.file);
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' }).end(text);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const given = url.searchParams.get('token');
    if (given === null || !constantTimeEqual(given, this.token)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' }).end('The dashboard needs the token of the URL `oep dashboard` prints.\n');
      return;
    }
    const state = this.options.state();
    const endpointOf = (prefix: string, suffix = ''): string | undefined => {
      if (!url.pathname.startsWith(prefix) || !url.pathname.endsWith(suffix)) return undefined;
      let name: string;
      try {
        name = decodeURIComponent(url.pathname.slice(prefix.length, url.pathname.length - suffix.length));
      } catch {
        // A bad percent-escape (%E0%A4%A, %zz): not a name, and not the server's fault.
        throw new BadRequest(`The endpoint name in ${url.pathname} has a bad percent-escape.`);
      }
      return Object.hasOwn(state.endpoints, name) ? name : undefined;
    };
    if (url.pathname === '/' || url.pathname.startsWith('/endpoints/')) {
      if (url.pathname !== '/' && endpointOf('/endpoints/') === undefined) return notFound(res);
      const page = await readFile(join(WEB_DIR, 'index.html'));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
      return;
    }
    if (url.pathname === '/api/endpoints') {
      return json(res, Object.keys(state.endpoints).sort());
    }
    const benchmarkOf = endpointOf('/api/endpoints/', '/benchmark');
    if (benchmarkOf !== undefined) return this.benchmark(benchmarkOf, res);
    const snapshotOf = endpointOf('/api/endpoints/');
    if (snapshotOf !== undefined) return json(res, this.snapshot(snapshotOf));
    const streamOf = endpointOf('/events/');
    if (streamOf !== undefined) return this.stream(streamOf, res);
    notFound(res);
  }

  /**
   * The endpoint's latest benchmark report as `oep endpoint benchmark -o json` printed it; 404 with
   * a JSON body saying how to make one when there is none, so the page can show that.
   */
  private async benchmark(endpoint: string, res: ServerResponse): Promise<void> {
    const report = await this.options.latestBenchmark(endpoint);
    if (report) return json(res, report);
    res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(
      JSON.stringify({
        error: `No benchmark of endpoint ${endpoint} yet.`,
        hint: `oep endpoint benchmark -n ${endpoint} --request-file <file> --rate 5:40:5`,
      }),
    );
  }

  private stream(endpoint: string, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const push = (): void => {
      if (!Object.hasOwn(this.options.state().endpoints, endpoint)) {
        res.end();
        return;
      }
      res.write(`data: ${JSON.stringify(this.snapshot(endpoint))}\n\n`);
    };
    (res as ServerResponse & { push?: () => void }).push = push;
    this.streams.add(res);
    res.once('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    });
    push();
    this.timer ??= setInterval(() => {
      for (const stream of this.streams) (stream as ServerResponse & { push?: () => void }).push?.();
    }, PUSH_EVERY_MS);
  }

  snapshot(endpoint: string): EndpointSnapshot {
    const record = this.options.state().endpoints[endpoint];
    const health = this.options.health().filter((replica) => replica.endpoint === endpoint);
    const names = Object.keys(record?.deployments ?? {}).sort();
    const series = this.options.series;
    return {
      endpoint,
      time: new Date().toISOString(),
      deployments: names.map((name) => ({
        name,
        traffic: record?.spec.traffic?.[name] ?? 0,
        mirror: record?.spec.mirror_traffic?.[name] ?? 0,
        requests_total: series.total(endpoint, name, false),
        mirrored_total: series.total(endpoint, name, true),
        replicas: health.filter((replica) => replica.deployment === name).map(({ replica, ready, restarts }) => ({ replica, ready, restarts })),
        live: series.points(endpoint, name, false),
        mirrored: series.points(endpoint, name, true),
      })),
      compare: this.compareSummary(endpoint),
    };
  }

  private compareSummary(endpoint: string): EndpointSnapshot['compare'] {
    const cached = this.compared.get(endpoint);
    if (cached && Date.now() - cached.at < COMPARE_EVERY_MS) return cached.summary;
    const report = this.options.compare(endpoint);
    const summary: EndpointSnapshot['compare'] =
      report.mirror.sent === 0
        ? null
        : {
            pairs: report.pairs,
            agreement: report.agreement,
            latency_ms: report.latency_ms,
            mirror: report.mirror,
            status_pairs: report.status_pairs,
            differences: report.differences.slice(0, 5).map(({ path, count, rate, above_noise }) => ({ path, count, rate, above_noise })),
          };
    this.compared.set(endpoint, { at: Date.now(), summary });
    return summary;
  }
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found.\n');
}

/** A request the dashboard cannot read (a bad percent-escape in its path): 400, never a 500. */
class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

function badRequest(res: ServerResponse, message: string): void {
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}
