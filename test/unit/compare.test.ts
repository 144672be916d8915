import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { comparePairs, parseDuration, parseTolerance, type PairAnswer, type RecordedPair } from '../../src/model/compare.js';

const answer = (value: unknown, status = 200, latency = 5): PairAnswer => {
  const body = JSON.stringify(value);
  return { status, latency_ms: latency, bytes: Buffer.byteLength(body), body, digest: createHash('sha1').update(body).digest('base64') };
};
const pair = (i: number, live: PairAnswer, mirror: PairAnswer, noise?: PairAnswer): RecordedPair => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  request_id: `r${i}`,
  live_deployment: 'blue',
  mirror_deployment: 'green',
  live,
  mirror,
  ...(noise && { noise }),
});

describe('comparePairs', () => {
  it('counts differing paths with [*] for array indexes, status pairs, errors and drops', () => {
    const pairs = [
      pair(0, answer({ p: [1, 2] }), answer({ p: [1, 3] })),
      pair(1, answer({ p: [1, 2] }), answer({ p: [1, 2] })),
      pair(2, answer({ p: [1, 2] }), answer({ message: 'boom' }, 500)),
      pair(3, answer({ p: [1, 2] }), { ...answer(''), status: 429, dropped: true }),
    ];
    const report = comparePairs(pairs, { endpoint: 'e' });
    assert.equal(report.pairs, 3);
    assert.deepEqual(report.agreement, { exact: 0.3333, within_tolerance: 0.3333, above_noise: 0.3333 });
    assert.deepEqual(report.differences.map((d) => [d.path, d.count, d.examples[0]!.at]), [['$.p[*]', 1, '$.p[1]']]);
    assert.deepEqual(report.status_pairs, [{ live: 200, mirror: 200, count: 2 }, { live: 200, mirror: 500, count: 1 }]);
    assert.deepEqual(report.mirror, { sent: 4, answered: 3, errors: 1, dropped: 1 });
  });

  it('applies the numeric tolerance (relative and absolute)', () => {
    const pairs = [pair(0, answer({ y: 100 }), answer({ y: 100.5 })), pair(1, answer({ y: 0 }), answer({ y: 0.001 }))];
    assert.equal(comparePairs(pairs, { endpoint: 'e', tolerance: { relative: 0.01, absolute: 0 } }).agreement.within_tolerance, 0.5);
    assert.equal(comparePairs(pairs, { endpoint: 'e', tolerance: { relative: 0.01, absolute: 0.01 } }).agreement.within_tolerance, 1);
  });

  it('reports a path as noise when live replicas differ there as often (Diffy)', () => {
    const pairs = Array.from({ length: 8 }, (_, i) => pair(i, answer({ id: `a${i}`, y: 1 }), answer({ id: `b${i}`, y: i < 4 ? 2 : 1 }), answer({ id: `c${i}`, y: 1 })));
    const report = comparePairs(pairs, { endpoint: 'e' });
    assert.deepEqual(report.differences.map((d) => [d.path, d.rate, d.noise_rate, d.above_noise]), [['$.id', 1, 1, false], ['$.y', 0.5, 0, true]]);
    assert.equal(report.agreement.above_noise, 0.5);
    assert.equal(report.agreement.exact, 0);
  });

  it('keeps pairs since a time, and summarises latency per side', () => {
    const pairs = [0, 1, 2, 3].map((i) => pair(i, answer(1, 200, 10 + i), answer(1, 200, 30 + i)));
    const report = comparePairs(pairs, { endpoint: 'e', since: pairs[2]!.time });
    assert.equal(report.pairs, 2);
    assert.deepEqual(report.latency_ms.live, { p50: 12, p95: 13, p99: 13 });
    assert.equal(report.latency_ms.delta_p50, 20);
  });
});

describe('flag parsing', () => {
  it('reads --tolerance REL[,ABS] and --since durations', () => {
    assert.deepEqual(parseTolerance('0.01'), { relative: 0.01, absolute: 0 });
    assert.deepEqual(parseTolerance('0.01,1e-6'), { relative: 0.01, absolute: 1e-6 });
    assert.equal(parseTolerance('x'), undefined);
    assert.equal(parseTolerance('-1'), undefined);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('soon'), undefined);
  });
});
