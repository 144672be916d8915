/**
 * What the daemon records per routed request, each written for the router's hot path: the access
 * log line (encoded into its batch by hand, not made by JSON.stringify), the dashboard's per-second series (nested maps, a
 * reservoir of latencies) and the metrics' label sets (test/unit/metrics.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DashboardSeries } from '../../src/daemon/dashboard-series.js';
import type { RouteRecord } from '../../src/model/route-record.js';
import { AccessLog, accessLine, accessLineBound, encodeAccessLine } from '../../src/telemetry/access-log.js';
import { until } from './router-support.js';

function entry(overrides: Partial<RouteRecord> = {}): RouteRecord {
  return {
    time: '2026-12-01T20:00:00.123Z',
    endpoint: 'my-endpoint',
    request_id: '4f1c2f8e-3b7a-4d0e-9a53-0c6f3f0e1b2a',
    deployment: 'blue',
    mirrored: false,
    status: 200,
    latency_ms: 1.25,
    ...overrides,
  };
}

/** A small seeded generator, so a failure names a case that can be run again. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('encodeAccessLine', () => {
  const encoded = (record: RouteRecord): string | undefined => {
    const into = Buffer.alloc(accessLineBound(record) + 8, 0xff);
    const end = encodeAccessLine(record, into, 4);
    if (end < 0) return undefined;
    assert.ok(end <= 4 + accessLineBound(record), 'stays within the room it asks for');
    return into.subarray(4, end).toString('utf8');
  };

  it("writes accessLine's bytes (JSON.stringify and a newline) for what the router records", () => {
    const random = generator(15);
    const cases: RouteRecord[] = [entry(), entry({ deployment: null, mirrored: true, status: 499 }), entry({ latency_ms: 0 }), entry({ latency_ms: -0 })];
    // what the router makes: Math.round(ms * 100) / 100 over a wide range, any status
    for (let i = 0; i < 20_000; i++) {
      const ms = random() ** 4 * 10 ** Math.floor(random() * 8);
      cases.push(entry({ latency_ms: Math.round(ms * 100) / 100, status: Math.floor(random() * 600), endpoint: `ep-${i % 97}`, deployment: i % 3 ? 'blue' : 'green-2' }));
    }
    for (const record of cases) assert.equal(encoded(record), accessLine(record), JSON.stringify(record));
    assert.equal(accessLine(entry()), `${JSON.stringify(entry())}\n`);
  });

  it('declines (-1) what it would get wrong: strings JSON escapes or that are not ASCII, other numbers', () => {
    const odd = ['a"b', 'back\\slash', 'tab\there', 'line\nbreak', '\u0000', '\u007f', 'é', '😀', '\ud800'];
    for (const text of odd) {
      for (const record of [entry({ endpoint: text }), entry({ deployment: text }), entry({ request_id: text }), entry({ time: text })]) {
        assert.equal(encoded(record), undefined, JSON.stringify(record));
      }
    }
    for (const value of [0.001, 1e-7, 123.456, -3.5, 1e21, NaN, Infinity, -Infinity]) {
      assert.equal(encoded(entry({ latency_ms: value })), undefined, String(value));
      assert.equal(encoded(entry({ status: value })), undefined, String(value));
    }
  });

  it('AccessLog appends one line per record in order, odd records included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oep-access-log-'));
    try {
      const file = join(dir, 'ep', 'access.log');
      const log = new AccessLog(() => file);
      const records = [entry(), entry({ deployment: 'gr"een', latency_ms: 0.5 }), entry({ mirrored: true, status: 503 }), entry({ request_id: 'é', latency_ms: 1 / 3 })];
      // and enough plain ones to fill several 64 KiB batches
      for (let i = 0; i < 2000; i++) records.push(entry({ latency_ms: i / 100, request_id: `id-${i}` }));
      for (const record of records) log.write(record);
      log.close();
      const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
      await until('every line is in the access log', () => lines().length >= records.length);
      assert.deepEqual(lines().map((line) => JSON.parse(line) as RouteRecord), records);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DashboardSeries', () => {
  it('counts every request and error of a busy second, and keeps a bounded sample of its latencies', () => {
    let now = 1_700_000_000_000;
    const series = new DashboardSeries(() => now, generator(7));
    // 5,000 requests in one second with latencies 1..5000 ms; every 10th a 500
    for (let i = 1; i <= 5000; i++) series.record(entry({ latency_ms: i, status: i % 10 === 0 ? 500 : 200 }));
    series.record(entry({ deployment: 'green', latency_ms: 3 }));
    series.record(entry({ deployment: 'blue', mirrored: true, latency_ms: 4 }));
    series.record(entry({ deployment: null, status: 404 })); // no deployment: not a series
    const [point] = series.points('my-endpoint', 'blue', false, 1);
    assert.equal(point!.requests, 5000);
    assert.equal(point!.errors, 500);
    // a uniform sample of 1..5000: its median near 2500 (a kept-first sample would say ~500)
    assert.ok(Math.abs(point!.p50! - 2500) < 250, `p50 ${point!.p50}`);
    assert.ok(point!.p99! > 4700, `p99 ${point!.p99}`);
    assert.equal(series.total('my-endpoint', 'blue', false), 5000);
    assert.equal(series.total('my-endpoint', 'green', false), 1);
    assert.equal(series.total('my-endpoint', 'blue', true), 1);
    assert.deepEqual(
      series.points('my-endpoint', 'blue', true, 1).map((p) => [p.requests, p.p50]),
      [[1, 4]],
    );

    // the next second starts afresh; seconds with nothing are zeros
    now += 2000;
    series.record(entry({ latency_ms: 7 }));
    assert.deepEqual(
      series.points('my-endpoint', 'blue', false, 3).map((p) => [p.requests, p.errors, p.p50]),
      [[5000, 500, point!.p50], [0, 0, null], [1, 0, 7]],
    );

    series.forget('my-endpoint');
    assert.equal(series.total('my-endpoint', 'blue', false), 0);
    assert.deepEqual(series.points('my-endpoint', 'blue', false, 1).map((p) => p.requests), [0]);
  });

  it('keeps at most the last SERIES_SECONDS seconds', async () => {
    const { SERIES_SECONDS } = await import('../../src/daemon/dashboard-series.js');
    let now = 1_700_000_000_000;
    const series = new DashboardSeries(() => now);
    series.record(entry());
    now += SERIES_SECONDS * 1000;
    series.record(entry());
    const points = series.points('my-endpoint', 'blue', false, SERIES_SECONDS + 1);
    assert.deepEqual(points.filter((p) => p.requests > 0).length, 1);
    assert.equal(series.total('my-endpoint', 'blue', false), 2);
  });
});
