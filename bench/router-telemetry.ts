/**
 * The router's telemetry on its hot path, alone (issue 15, point 3): CPU time per routed request
 * of what the daemon's `record` callback does for it, the JSON-lines access log
 * (`AccessLog.write`), the Prometheus metrics (`Metrics.record`) and the dashboard's series
 * (`DashboardSeries.record`), without any HTTP around it.
 *
 *   npm run build && node dist/bench/router-telemetry.js
 *
 * 5 rounds of 200,000 records (90/10 over two deployments, a 1% of 500s, latencies 0.1-3 ms, as the
 * router bench produces), after one warm-up round; median CPU time (user + system, this process)
 * per record. The access log writes to a temporary folder, removed at the end. BENCH_RECORDS
 * changes the count per round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { RouteRecord } from '../src/model/route-record.js';
import { AccessLog } from '../src/telemetry/access-log.js';
import { Metrics } from '../src/telemetry/metrics.js';
import { DashboardSeries } from '../src/daemon/dashboard-series.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const ROUNDS = 5;

function entries(count: number): RouteRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    time: new Date().toISOString(),
    endpoint: 'bench',
    request_id: randomUUID(),
    deployment: i % 10 === 0 ? 'green' : 'blue',
    mirrored: false,
    status: i % 100 === 0 ? 500 : 200,
    latency_ms: Math.round((0.1 + (i % 29) / 10) * 100) / 100,
  }));
}

async function cpuPerRecord(label: string, sink: (entry: RouteRecord) => void): Promise<number> {
  const sample = entries(RECORDS);
  const results: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const before = process.cpuUsage();
    for (const entry of sample) sink(entry);
    // let batched log writes reach the file within the measured time
    await new Promise((done) => setTimeout(done, 30));
    const used = process.cpuUsage(before);
    if (round > 0) results.push(((used.user + used.system) / RECORDS) * 1);
  }
  results.sort((a, b) => a - b);
  const median = results[Math.floor(results.length / 2)];
  console.log(`${label.padEnd(28)} ${median.toFixed(2)} us CPU per record (median of ${ROUNDS} x ${RECORDS})`);
  return median;
}

const dir = mkdtempSync(join(tmpdir(), 'oep-bench-telemetry-'));
try {
  const metrics = new Metrics(() => []);
  const log = new AccessLog(() => join(dir, 'access.log'));
  await cpuPerRecord('nothing (loop only)', () => undefined);
  await cpuPerRecord('metrics', (entry) => metrics.record(entry));
  await cpuPerRecord('access log', (entry) => log.write(entry));
  const series = new DashboardSeries();
  await cpuPerRecord('series', (entry) => series.record(entry));
  await cpuPerRecord('all three (as the daemon)', (entry) => {
    log.write(entry);
    metrics.record(entry);
    series.record(entry);
  });
  const text = await metrics.registry.metrics();
  if (!/oep_requests_total\{endpoint="bench",deployment="blue",status="200"\} \d+/.test(text)) throw new Error('metrics lost their counts');
  log.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
