import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteRecord } from '../../src/model/route-record.js';
import { Metrics } from '../../src/telemetry/metrics.js';

function entry(overrides: Partial<RouteRecord>): RouteRecord {
  return { time: '2026-01-01T00:00:00.000Z', endpoint: 'e', request_id: 'r', deployment: 'blue', mirrored: false, status: 200, latency_ms: 1, ...overrides };
}

describe('Metrics.record', () => {
  it('counts requests and mirrored copies by status, and latencies in cumulative buckets, as scraped', async () => {
    const metrics = new Metrics(() => []);
    metrics.record(entry({ latency_ms: 0.5 }));
    metrics.record(entry({ latency_ms: 1 })); // on a bound: counted in that bucket
    metrics.record(entry({ latency_ms: 7, status: 500 }));
    metrics.record(entry({ latency_ms: 250_000 })); // above every bound: +Inf only
    metrics.record(entry({ deployment: 'green', mirrored: true, latency_ms: 3 }));
    metrics.record(entry({ deployment: null, status: 404, latency_ms: 0.1 }));
    const text = await metrics.registry.metrics();
    const lines = (prefix: string): string[] => text.split('\n').filter((line) => line.startsWith(prefix));
    assert.deepEqual(lines('oep_requests_total{'), [
      'oep_requests_total{endpoint="e",deployment="blue",status="200"} 3',
      'oep_requests_total{endpoint="e",deployment="blue",status="500"} 1',
      'oep_requests_total{endpoint="e",deployment="",status="404"} 1',
    ]);
    assert.deepEqual(lines('oep_mirrored_requests_total{'), ['oep_mirrored_requests_total{endpoint="e",deployment="green",status="200"} 1']);
    const blue = lines('oep_request_duration_seconds').filter((line) => line.includes('deployment="blue"'));
    assert.deepEqual(blue.slice(0, 4), [
      'oep_request_duration_seconds_bucket{le="0.001",endpoint="e",deployment="blue",mirrored="false"} 2',
      'oep_request_duration_seconds_bucket{le="0.0025",endpoint="e",deployment="blue",mirrored="false"} 2',
      'oep_request_duration_seconds_bucket{le="0.005",endpoint="e",deployment="blue",mirrored="false"} 2',
      'oep_request_duration_seconds_bucket{le="0.01",endpoint="e",deployment="blue",mirrored="false"} 3',
    ]);
    assert.deepEqual(blue.slice(-3), [
      'oep_request_duration_seconds_bucket{le="+Inf",endpoint="e",deployment="blue",mirrored="false"} 4',
      'oep_request_duration_seconds_sum{endpoint="e",deployment="blue",mirrored="false"} 250.0085',
      'oep_request_duration_seconds_count{endpoint="e",deployment="blue",mirrored="false"} 4',
    ]);
    // a second scrape gives the same numbers (collecting does not add them again)
    assert.equal(await metrics.registry.metrics(), text);
  });
});
