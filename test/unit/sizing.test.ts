import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { emptyCounts, type StatusCounts } from '../../src/model/load-step.js';
import { azureCapacity, checkSlo, errorRate, findKnee, firstThrottledStep, parseSlo, parseSweep, recommendInstances, type SloSubject } from '../../src/model/sizing.js';

/** A usage error whose message names the flag and the text, with a hint. */
function assertUsage(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof OepError);
    assert.equal(error.code, 'OEP_ERR_USAGE');
    assert.equal(error.exitCode, 2);
    assert.match(error.message, message);
    assert.ok(error.hint);
    return true;
  });
}

describe('parseSweep', () => {
  it('A:B:S is arithmetic from A up to B', () => {
    assert.deepEqual(parseSweep('5:40:5'), [5, 10, 15, 20, 25, 30, 35, 40]);
    assert.deepEqual(parseSweep('5:42:5'), [5, 10, 15, 20, 25, 30, 35, 40]);
    assert.deepEqual(parseSweep('0.5:2:0.5'), [0.5, 1, 1.5, 2]);
    assert.deepEqual(parseSweep('0.1:0.3:0.1'), [0.1, 0.2, 0.3]);
    assert.deepEqual(parseSweep(' 7:7:1 '), [7]);
  });

  it('A:B doubles from A while below B, then B', () => {
    assert.deepEqual(parseSweep('1:16', { flag: '--concurrency', integers: true }), [1, 2, 4, 8, 16]);
    assert.deepEqual(parseSweep('3:20', { integers: true }), [3, 6, 12, 20]);
    assert.deepEqual(parseSweep('4:4'), [4]);
  });

  it('N is one step', () => {
    assert.deepEqual(parseSweep('12'), [12]);
    assert.deepEqual(parseSweep('2.5'), [2.5]);
  });

  it('refuses bad text with the flag, the text and why', () => {
    assertUsage(() => parseSweep(''), /^--rate "": it is not N, A:B or A:B:S\.$/);
    assertUsage(() => parseSweep('5:'), /it is not N, A:B or A:B:S/);
    assertUsage(() => parseSweep('1:2:3:4'), /it is not N, A:B or A:B:S/);
    assertUsage(() => parseSweep('five'), /"five" is not a positive number/);
    assertUsage(() => parseSweep('-5:10'), /"-5" is not a positive number/);
    assertUsage(() => parseSweep('0:10:5'), /"0" is not above 0/);
    assertUsage(() => parseSweep('1e3'), /"1e3" is not a positive number/);
    assertUsage(() => parseSweep('40:5:5'), /it ends \(5\) below where it starts \(40\)/);
    assertUsage(() => parseSweep('1:16:0.5', { flag: '--concurrency', integers: true }), /^--concurrency "1:16:0\.5": "0\.5" is not a whole number\.$/);
    assertUsage(() => parseSweep('1:1000:1'), /it makes 101 steps; at most 100 are allowed/);
  });
});

interface Step {
  offered: number;
  completed: number;
  latencyMs: { p99: number };
  counts: { s429: number };
}

const step = (offered: number, p99: number, s429 = 0, completed = 100): Step => ({ offered, completed, latencyMs: { p99 }, counts: { s429 } });

describe('findKnee and firstThrottledStep', () => {
  it('the knee is the last step, going up, whose p99 stays within factor x the lowest step p99 and has no 429', () => {
    const steps = [step(5, 100), step(10, 110), step(15, 150), step(20, 190), step(25, 450, 0), step(30, 480, 12)];
    assert.equal(findKnee(steps)?.offered, 20);
    assert.equal(findKnee(steps, 1.5)?.offered, 15);
    assert.equal(firstThrottledStep(steps)?.offered, 30);
  });

  it('orders the steps by offered load whatever order they come in', () => {
    const steps = [step(20, 190), step(5, 100), step(30, 480, 12), step(10, 110)];
    assert.equal(findKnee(steps)?.offered, 20);
    assert.equal(firstThrottledStep(steps)?.offered, 30);
  });

  it('a 429 ends the knee even while p99 is low (429s are fast)', () => {
    assert.equal(findKnee([step(5, 100), step(10, 105), step(15, 40, 3), step(20, 110)])?.offered, 10);
  });

  it('stops at the first step past the bend: a lucky step above it is not the knee', () => {
    assert.equal(findKnee([step(5, 100), step(10, 250), step(15, 120)])?.offered, 5);
  });

  it('a step with no answer at all ends the knee', () => {
    assert.equal(findKnee([step(5, 100), step(10, 0, 0, 0)])?.offered, 5);
  });

  it('is undefined with no steps, or when the lowest step already got a 429', () => {
    assert.equal(findKnee([]), undefined);
    assert.equal(findKnee([step(5, 100, 1), step(10, 100)]), undefined);
    assert.equal(firstThrottledStep([step(5, 100), step(10, 100)]), undefined);
  });
});

describe("Azure's sizing rules", () => {
  it('429 above 2 x max_concurrent_requests_per_instance x instance_count in flight', () => {
    assert.equal(azureCapacity(1, 2), 4);
    assert.equal(azureCapacity(8, 3), 48);
  });

  it('instance_count = ceil(target_rps x latency / utilization / mcr)', () => {
    // The acceptance case: 30 req/s at ~0.1 s, mcr 1, utilization 0.7 -> ceil(4.29) = 5.
    assert.equal(recommendInstances({ targetRps: 30, latencySeconds: 0.1, mcr: 1 }), 5);
    assert.equal(recommendInstances({ targetRps: 30, latencySeconds: 0.12, utilization: 0.5, mcr: 2 }), 4);
    assert.equal(recommendInstances({ targetRps: 100, latencySeconds: 0.05, utilization: 1, mcr: 5 }), 1);
    assert.equal(recommendInstances({ targetRps: 101, latencySeconds: 0.05, utilization: 1, mcr: 5 }), 2);
  });

  it('an exact multiple gives that count despite binary fractions (7 x 0.1 / 0.7 = 1)', () => {
    assert.equal(7 * 0.1 / 0.7, 1.0000000000000002);
    assert.equal(recommendInstances({ targetRps: 7, latencySeconds: 0.1, utilization: 0.7, mcr: 1 }), 1);
    assert.equal(recommendInstances({ targetRps: 21, latencySeconds: 0.1, utilization: 0.7, mcr: 1 }), 3);
  });

  it('is at least one instance', () => {
    assert.equal(recommendInstances({ targetRps: 10, latencySeconds: 0, mcr: 1 }), 1);
  });

  it('refuses inputs the formula has no answer for', () => {
    assert.throws(() => recommendInstances({ targetRps: 10, latencySeconds: 0.1, utilization: 0, mcr: 1 }), /utilization must be above 0 and at most 1, not 0/);
    assert.throws(() => recommendInstances({ targetRps: 10, latencySeconds: 0.1, utilization: 70, mcr: 1 }), /not 70/);
    assert.throws(() => recommendInstances({ targetRps: 0, latencySeconds: 0.1, mcr: 1 }), /target rate must be above 0/);
    assert.throws(() => recommendInstances({ targetRps: 10, latencySeconds: 0.1, mcr: 0 }), /max_concurrent_requests_per_instance must be a whole number/);
    assert.throws(() => recommendInstances({ targetRps: 10, latencySeconds: NaN, mcr: 1 }), /latency must be 0 s or more/);
  });
});

describe('parseSlo', () => {
  it('reads latencies (ms by default, or s), the error rate in % and the achieved rate', () => {
    assert.deepEqual(parseSlo('p99<200ms,errors<1%'), [
      { metric: 'p99', comparison: '<', threshold: 200, text: 'p99<200ms' },
      { metric: 'errors', comparison: '<', threshold: 0.01, text: 'errors<1%' },
    ]);
    assert.deepEqual(
      parseSlo(' p50 <= 1.5s , max<900, mean<50ms, p90<=80ms, rps>=18.5 ').map((c) => [c.metric, c.comparison, c.threshold]),
      [['p50', '<=', 1500], ['max', '<', 900], ['mean', '<', 50], ['p90', '<=', 80], ['rps', '>=', 18.5]],
    );
    assert.equal(parseSlo('P99<10MS')[0]!.metric, 'p99');
  });

  it('refuses what it cannot check, naming the check', () => {
    const cases: [string, RegExp][] = [
      ['', /it names no check/],
      ['p99<200ms,,errors<1%', /an empty check/],
      ['p99', /"p99" is not METRIC<VALUE/],
      ['p99=200ms', /is not METRIC<VALUE/],
      ['p95<200ms', /"p95" is not a metric \(p50, p90, p99, max, mean, errors, rps\)/],
      ['p99<5%', /a latency takes ms or s, not %/],
      ['errors<1', /give the error rate in percent/],
      ['errors>1%', /bounded from above/],
      ['rps<20', /bounded from below/],
      ['rps>20ms', /a rate takes no unit/],
      ['p99<-1ms', /is not METRIC<VALUE/],
    ];
    for (const [text, message] of cases) assertUsage(() => parseSlo(text), message);
    assertUsage(() => parseSlo('p99', '--fail-on'), /^--fail-on "p99": /);
  });
});

describe('checkSlo', () => {
  const subject = (offered: number, p99: number, counts: Partial<StatusCounts>, achievedRps = 10): SloSubject => ({
    offered,
    achievedRps,
    latencyMs: { p50: p99 / 2, p90: p99 * 0.9, p99, max: p99 * 2, mean: p99 / 2 },
    counts: { ...emptyCounts(), ...counts },
  });

  it('lists each breach with the measured value and the step', () => {
    const checks = parseSlo('p99<200ms,errors<1%,rps>=9');
    const steps = [subject(5, 120, { ok: 500 }), subject(10, 180, { ok: 990, s429: 10 }), subject(20, 450, { ok: 1500, s429: 400, clientErrors: 100 }, 8)];
    const breaches = checkSlo(steps, checks);
    assert.deepEqual(
      breaches.map((b) => [b.offered, b.check.text, Number(b.actual.toFixed(4))]),
      [[10, 'errors<1%', 0.01], [20, 'p99<200ms', 450], [20, 'errors<1%', 0.25], [20, 'rps>=9', 8]],
    );
  });

  it('checks one summary, and holds at the bound with <= and >=', () => {
    const summary = { achievedRps: 20, latencyMs: { p50: 1, p90: 2, p99: 200, max: 300, mean: 1 }, counts: { ...emptyCounts(), ok: 99, other5xx: 1 } };
    assert.deepEqual(checkSlo(summary, parseSlo('p99<=200ms,errors<=1%,rps>=20')), []);
    assert.deepEqual(checkSlo(summary, parseSlo('p99<200ms')).map((b) => [b.actual, b.offered]), [[200, undefined]]);
  });

  it('the error rate counts every non-2xx answer and client errors over all outcomes', () => {
    assert.equal(errorRate(emptyCounts()), 0);
    assert.equal(errorRate({ ok: 6, s408: 1, s424: 1, s429: 1, other4xx: 0, other5xx: 0, clientErrors: 1 }), 0.4);
  });
});
