/**
 * Child process of bench/router.ts: hosts one oep Router (src/router/router.ts) with one
 * key-auth endpoint, so the router has an event loop of its own. Its replicas are plain
 * LiveReplica objects pointing at the bench's upstreams, as the supervisor would hand them over.
 *
 * argv[2] is a JSON HostConfig. Talks to the parent over IPC: sends {type:'ready'} once listening;
 * answers {type:'stats'} with the router's per-deployment counts, the replicas' in-flight counts
 * and memory; {type:'record', on} switches recording (telemetry hosts) and answers with the CPU
 * time and request count at that moment; {type:'close'} closes the router and exits. Exits when
 * the parent goes away.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../src/router/router.js';
import type { RouteRecord } from '../src/model/route-record.js';
import type { LiveReplica, RouterOptions } from '../src/router/router.js';
import { AccessLog } from '../src/telemetry/access-log.js';
import { Metrics } from '../src/telemetry/metrics.js';
import { DashboardSeries } from '../src/daemon/dashboard-series.js';
import { splitPem } from '../src/tls/certificates.js';

export interface HostConfig {
  port: number;
  keys: { primary: string; secondary: string };
  traffic: Record<string, number>;
  mirror: Record<string, number>;
  /** Deployment name -> upstream origin (one replica each). */
  upstreams: Record<string, string>;
  /** Record every request as the daemon does: JSON-lines access log, prom-client metrics, dashboard series. */
  telemetry: boolean;
  /** HTTPS: a PEM file with the certificate and its key (an endpoint's file under OEP_HOME/tls/endpoints). */
  tlsFile?: string;
  /** false: every request through Node's http server, not the lean path (RouterOptions.leanPath). */
  leanPath?: boolean;
}

export type HostReply =
  | { type: 'ready' }
  /** After {type:'record', on}: this process's CPU time (all threads, µs) and requests answered so far, read as recording switched. */
  | { type: 'recording'; on: boolean; cpuUs: number; requests: number }
  | {
      type: 'stats';
      router: Record<string, { inflight: number; requests: number; mirrored: number }>;
      replicaInflight: Record<string, number>;
      rssMb: number;
      heapUsedMb: number;
    };

const config = JSON.parse(process.argv[2] ?? '{}') as HostConfig;

const replicas: Record<string, LiveReplica[]> = {};
for (const [deployment, origin] of Object.entries(config.upstreams)) {
  replicas[deployment] = [{ id: `${deployment}-0`, origin, scoringPath: '/score', ready: true }];
}

let record: ((entry: RouteRecord) => void) | undefined;
let logDir: string | undefined;
let accessLog: AccessLog | undefined;
if (config.telemetry) {
  logDir = mkdtempSync(join(tmpdir(), 'oep-bench-router-log-'));
  const log = new AccessLog(() => join(logDir!, 'access.log'));
  const metrics = new Metrics(() => []);
  const series = new DashboardSeries();
  accessLog = log;
  // As the daemon wires it (src/daemon/main.ts): access log, metrics, the dashboard's series.
  record = (entry) => {
    log.write(entry);
    metrics.record(entry);
    series.record(entry);
  };
}

const recordNothing = (): void => undefined;
// Kept by reference: {type:'record', on} switches recording in this same process (the router reads options.record per request).
const options: RouterOptions = { replicas: (_endpoint, deployment) => replicas[deployment] ?? [], record, ...(config.leanPath === false && { leanPath: false }) };
const router = new Router(options);

const deploymentSettings = { requestTimeoutMs: 5000, maxConcurrentPerInstance: 1000, instanceCount: 1 };
await router.upsert({
  name: 'bench',
  port: config.port,
  authMode: 'key',
  keys: config.keys,
  tokenSecret: 'x',
  traffic: config.traffic,
  mirror: config.mirror,
  deployments: Object.fromEntries(Object.keys(config.upstreams).map((name) => [name, { ...deploymentSettings }])),
  ...(config.tlsFile && { tls: splitPem(readFileSync(config.tlsFile, 'utf8'))! }),
});

let closing = false;
async function close(): Promise<void> {
  if (closing) return;
  closing = true;
  await router.close().catch(() => undefined);
  accessLog?.close();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
  process.exit(0);
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    const memory = process.memoryUsage();
    const reply: HostReply = {
      type: 'stats',
      router: router.stats('bench'),
      replicaInflight: Object.fromEntries(Object.entries(replicas).map(([name, list]) => [name, list.reduce((sum, r) => sum + router.inflightOf(r), 0)])),
      rssMb: Math.round(memory.rss / 1e6),
      heapUsedMb: Math.round(memory.heapUsed / 1e6),
    };
    process.send?.(reply);
  } else if (message.type === 'record') {
    // what was recorded so far is written now, so its cost falls in the interval that recorded it
    accessLog?.flush();
    const cpu = process.cpuUsage();
    const requests = Object.values(router.stats('bench')).reduce((sum, deployment) => sum + deployment.requests, 0);
    // off: a callback that does nothing, not none: the router's call site keeps its type (switching
    // between a function and undefined makes V8 drop the router's optimised code at each switch)
    options.record = (message as { on?: boolean }).on ? record : recordNothing;
    process.send?.({ type: 'recording', on: options.record === record, cpuUs: cpu.user + cpu.system, requests } satisfies HostReply);
  } else if (message.type === 'close') {
    void close();
  }
});
process.on('disconnect', () => void close());
// Ctrl-C reaches the whole process group: close (and remove the access log) rather than die.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void close());
process.send?.({ type: 'ready' } satisfies HostReply);
