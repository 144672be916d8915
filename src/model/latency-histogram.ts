/**
 * A log-linear latency histogram in the manner of HdrHistogram: values are whole microseconds
 * from 0 to 60 s, kept to 3 significant digits, so any percentile read back is within 0.1% of the
 * value a sorted array of every sample would give, while the memory is a fixed array of counts
 * however many samples come (a load step records hundreds of thousands).
 *
 * Layout (HdrHistogram's, with a unit of 1 µs): bucket 0 holds 0..2047 one by one; bucket k >= 1
 * holds 1024·2^k .. 2048·2^k - 1 in 1024 slots of width 2^k. A slot's width is at most 1/1024 of
 * its values, hence the 0.1%. Two histograms merge by adding their counts slot by slot, which is
 * how the load generator's worker threads are combined and how a report can pool steps.
 */

/** Bits of the half bucket: 1024 slots per bucket above bucket 0 (2 x 10^3 rounded up to a power of 2). */
const HALF_MAGNITUDE = 10;
const HALF_COUNT = 1 << HALF_MAGNITUDE;
const SUB_BUCKET_MASK = 2 * HALF_COUNT - 1;

/** The largest value kept apart: 60 s in microseconds. Larger values count as this. */
export const HISTOGRAM_MAX_MICROS = 60_000_000;

/** Bucket of a value (0 for values below 2048). */
function bucketOf(value: number): number {
  // 32 - clz32(v | mask) is the bit length of v, at least 11 (the mask's); bucket 0 for 11 bits.
  return 32 - Math.clz32(value | SUB_BUCKET_MASK) - (HALF_MAGNITUDE + 1);
}

/** The slot a value is counted in. */
export function slotOf(micros: number): number {
  const value = Math.min(HISTOGRAM_MAX_MICROS, Math.max(0, Math.round(micros)));
  const bucket = bucketOf(value);
  const sub = value >>> bucket;
  return ((bucket + 1) << HALF_MAGNITUDE) + sub - HALF_COUNT;
}

/** The first value of a slot, and the slot's width. */
function slotRange(slot: number): { low: number; width: number } {
  let bucket = (slot >>> HALF_MAGNITUDE) - 1;
  let sub = (slot & (HALF_COUNT - 1)) + HALF_COUNT;
  if (bucket < 0) {
    sub -= HALF_COUNT;
    bucket = 0;
  }
  return { low: sub * 2 ** bucket, width: 2 ** bucket };
}

/**
 * The value a slot stands for: its middle (exact for the 1 µs slots of bucket 0), which halves
 * the worst error of reading back the low end.
 */
export function slotValue(slot: number): number {
  const { low, width } = slotRange(slot);
  return width === 1 ? low : low + (width - 1) / 2;
}

/** Number of slots: enough for HISTOGRAM_MAX_MICROS. */
export const HISTOGRAM_SLOTS = slotOf(HISTOGRAM_MAX_MICROS) + 1;

export class LatencyHistogram {
  /** Counts by slot (slotOf). Float64: exact integers far beyond any step's request count. */
  private readonly counts: Float64Array;
  private total = 0;

  constructor() {
    this.counts = new Float64Array(HISTOGRAM_SLOTS);
  }

  /** A histogram from the counts toArray() gave (of this or another thread). */
  static fromArray(counts: readonly number[]): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.add(counts);
    return histogram;
  }

  get count(): number {
    return this.total;
  }

  record(micros: number): void {
    this.counts[slotOf(micros)]! += 1;
    this.total += 1;
  }

  /** Adds another histogram's counts (merging worker threads' or steps' histograms). */
  merge(other: LatencyHistogram): void {
    this.add(other.toArray());
  }

  /** Adds counts in toArray()'s form. */
  add(counts: readonly number[]): void {
    if (counts.length > HISTOGRAM_SLOTS) throw new Error(`a latency histogram has at most ${HISTOGRAM_SLOTS} slots, not ${counts.length}`);
    for (let slot = 0; slot < counts.length; slot++) {
      const n = counts[slot]!;
      if (n === 0) continue;
      this.counts[slot]! += n;
      this.total += n;
    }
  }

  /**
   * The p-th percentile in microseconds: the value of the sample at rank ceil(p/100 x count) in
   * sorted order (the smallest for p = 0), as its slot stands for it. 0 when empty.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.total));
    let seen = 0;
    for (let slot = 0; slot < this.counts.length; slot++) {
      seen += this.counts[slot]!;
      if (seen >= rank) return slotValue(slot);
    }
    return slotValue(this.counts.length - 1);
  }

  /**
   * The counts as a plain array, without the trailing empty slots: a step whose latencies stay
   * under 200 ms needs about 9,000 numbers instead of 17,408. Mergeable by adding slot by slot.
   */
  toArray(): number[] {
    let end = this.counts.length;
    while (end > 0 && this.counts[end - 1] === 0) end -= 1;
    return Array.from(this.counts.subarray(0, end));
  }
}
