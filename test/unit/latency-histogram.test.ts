import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HISTOGRAM_MAX_MICROS, HISTOGRAM_SLOTS, LatencyHistogram, slotOf, slotValue } from '../../src/model/latency-histogram.js';

/** The sample at rank ceil(p/100 x n) of the sorted values (the smallest for p = 0): the histogram's definition. */
function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/** A deterministic stream of numbers in [0, 1) (a linear congruential generator), so failures reproduce. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Whole microseconds spread log-uniformly from 1 µs to 60 s, as latencies of very different targets are. */
function latencies(count: number, seed: number): number[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => Math.round(Math.exp(random() * Math.log(HISTOGRAM_MAX_MICROS))));
}

const PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

function assertWithin(actual: number, expected: number, relative: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * expected, `${label}: ${actual} is not within ${relative * 100}% of ${expected}`);
}

describe('LatencyHistogram', () => {
  it('reads back every percentile within 0.1% of a sorted array of the samples', () => {
    for (const seed of [1, 2, 3]) {
      const values = latencies(50_000, seed);
      const histogram = new LatencyHistogram();
      for (const value of values) histogram.record(value);
      const sorted = [...values].sort((a, b) => a - b);
      assert.equal(histogram.count, values.length);
      for (const p of PERCENTILES) assertWithin(histogram.percentile(p), exactPercentile(sorted, p), 0.001, `seed ${seed} p${p}`);
    }
  });

  it('keeps values below 2048 µs exactly, and every slot within 0.1% of its values', () => {
    for (const value of [0, 1, 2, 999, 1024, 2047]) assert.equal(slotValue(slotOf(value)), value);
    for (let value = 2048; value < HISTOGRAM_MAX_MICROS; value = Math.ceil(value * 1.0007) + 1) {
      assertWithin(slotValue(slotOf(value)), value, 0.001, `value ${value}`);
    }
  });

  it('puts values past 60 s in the last slot and rounds fractions of a microsecond', () => {
    assert.equal(slotOf(HISTOGRAM_MAX_MICROS * 3), HISTOGRAM_SLOTS - 1);
    assert.equal(slotOf(-5), 0);
    assert.equal(slotOf(10.4), 10);
    assert.equal(slotOf(10.6), 11);
  });

  it('merges: two halves recorded apart give the histogram of the whole', () => {
    const values = latencies(20_000, 7);
    const whole = new LatencyHistogram();
    const first = new LatencyHistogram();
    const second = new LatencyHistogram();
    values.forEach((value, i) => {
      whole.record(value);
      (i % 2 === 0 ? first : second).record(value);
    });
    first.merge(second);
    assert.deepEqual(first.toArray(), whole.toArray());
    for (const p of PERCENTILES) assert.equal(first.percentile(p), whole.percentile(p), `p${p}`);
  });

  it('travels as a plain array without trailing empty slots, and comes back the same', () => {
    const histogram = new LatencyHistogram();
    for (const value of [5, 5, 1500, 250_000]) histogram.record(value);
    const counts = histogram.toArray();
    assert.equal(counts.length, slotOf(250_000) + 1);
    assert.equal(counts.reduce((sum, n) => sum + n, 0), 4);
    const back = LatencyHistogram.fromArray(JSON.parse(JSON.stringify(counts)) as number[]);
    assert.equal(back.count, 4);
    assert.equal(back.percentile(50), 5);
    assert.equal(back.percentile(75), 1500);
    assertWithin(back.percentile(100), 250_000, 0.001, 'max');
    assert.deepEqual(new LatencyHistogram().toArray(), []);
  });

  it('answers 0 when empty and refuses an array longer than its slots', () => {
    assert.equal(new LatencyHistogram().percentile(99), 0);
    assert.throws(() => LatencyHistogram.fromArray(new Array<number>(HISTOGRAM_SLOTS + 1).fill(0)), /at most/);
  });
});
