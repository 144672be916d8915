import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBenchmarkReport, type MeasuredDeployment, type ReportInput } from '../../src/model/benchmark-report.js';
import type { StepResult } from '../../src/model/load-step.js';
import { parseSlo } from '../../src/model/sizing.js';

/** A rate step: `ok` answers served, `s429` throttled, with the p99 given (other percentiles below it). */
function step(offered: number, p99: number, s429 = 0): StepResult {
  return {
    mode: 'rate',
    offered,
    durationMs: 4000,
    sent: offered * 4,
    completed: offered * 4,
    achievedRps: Math.min(offered, 20),
    latencyMs: { p50: p99 * 0.8, p90: p99 * 0.9, p99, max: p99 * 1.1, mean: p99 * 0.8 },
    serviceMs: { p50: p99 * 0.8, p90: p99 * 0.9, p99, max: p99 * 1.1, mean: p99 * 0.8 },
    counts: { ok: offered * 4 - s429, s408: 0, s424: 0, s429, other4xx: 0, other5xx: 0, clientErrors: 0 },
    maxInFlight: 2,
    lateSends: 0,
    histogram: [],
  };
}

const SLOW: MeasuredDeployment = { name: 'slow', traffic: 100, instance_count: 2, max_concurrent_requests_per_instance: 1, request_timeout_ms: 5000, worker_count: 1 };

function input(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    id: 'bench-20261207T120000Z',
    endpoint: 'bench',
    deployment: null,
    startedAt: new Date('2026-12-07T12:00:00Z'),
    finishedAt: new Date('2026-12-07T12:01:00Z'),
    mode: 'rate',
    durationMs: 4000,
    warmupMs: 1000,
    requestFile: 'request.json',
    interrupted: false,
    deployments: [SLOW],
    steps: [step(5, 110), step(10, 112), step(15, 150), step(20, 260), step(25, 900, 40)],
    kneeFactor: 2,
    targetUtilization: 0.7,
    ...overrides,
  };
}

describe('the benchmark report', () => {
  it('finds the knee, the first 429 against Azure\'s limit, and applies the formula to the knee\'s p99', () => {
    const report = buildBenchmarkReport(input({ targetRps: 30 }));
    assert.deepEqual(report.knee, { offered: 15, achieved_rps: 15, p99_ms: 150 });
    assert.equal(report.in_flight_limit, 4);
    assert.deepEqual(report.throttling, { offered: 25, s429: 40, max_in_flight: 2, in_flight_limit: 4 });
    // ceil(30 x 0.150 / 0.7 / 1) = ceil(6.43) = 7
    assert.equal(report.recommendation?.instance_count, 7);
    assert.equal(report.recommendation?.latency_s, 0.15);
    assert.deepEqual(report.warnings, []);
    assert.equal(report.steps.every((kept) => !('histogram' in kept)), true, 'the histogram is not kept');
  });

  it('has no recommendation without --target-rps, and no knee when the lowest step already throttles', () => {
    assert.equal(buildBenchmarkReport(input()).recommendation, null);
    const throttled = buildBenchmarkReport(input({ steps: [step(30, 400, 10), step(40, 500, 30)], targetRps: 10 }));
    assert.equal(throttled.knee, null);
    // Without a knee, the formula takes the lowest step's p99.
    assert.equal(throttled.recommendation?.latency_s, 0.4);
  });

  it('warns: concurrency without matching workers, a timeout below the p99, shared traffic, late sends, an interruption', () => {
    const report = buildBenchmarkReport(
      input({
        deployments: [
          { ...SLOW, name: 'blue', traffic: 70, max_concurrent_requests_per_instance: 4, worker_count: null, request_timeout_ms: 100 },
          { ...SLOW, name: 'green', traffic: 30, max_concurrent_requests_per_instance: 2, worker_count: 2 },
        ],
        steps: [step(5, 110), { ...step(10, 112), lateSends: 3 }],
        interrupted: true,
      }),
    );
    assert.equal(report.in_flight_limit, 2 * 4 * 2, 'the limit is the one of the deployment with most traffic');
    assert.deepEqual(
      report.warnings.map((warning) => warning.replace(/: .*/s, '')),
      ["The endpoint's traffic is shared (blue=70 green=30); the limit and the recommendation are for blue. Size one deployment with --deployment-name.".replace(/: .*/s, ''), 'blue', 'blue', 'The load generator sent 3 request(s) late (this machine was short of CPU)', 'Interrupted'],
    );
    assert.match(report.warnings[1]!, /WORKER_COUNT is not set \(1 worker\).*WORKER_COUNT: "4"/);
    assert.match(report.warnings[2]!, /request_timeout_ms is 100 but the measured p99 is 112 ms/);
  });

  it('says each SLO breach with the step and the measured value', () => {
    const report = buildBenchmarkReport(input({ slo: { text: 'p99<200ms,errors<1%', checks: parseSlo('p99<200ms,errors<1%') } }));
    assert.deepEqual(report.slo?.breaches, ['p99<200ms broken at step 20: 260.0 ms', 'p99<200ms broken at step 25: 900.0 ms', 'errors<1% broken at step 25: 40.00%']);
  });
});
