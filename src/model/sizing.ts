import { OepError } from '../errors.js';
import { outcomesOf, type LatencySummary, type StatusCounts } from './load-step.js';

/**
 * The sizing maths of `oep endpoint benchmark`, pure: which steps a sweep runs, where the knee
 * of a sweep is, Azure's admission limit and instance-count formula, and SLO checks for CI.
 */

/** More steps than this is a typo (e.g. `1:1000:1`), not a plan. */
export const MAX_SWEEP_STEPS = 100;

export interface SweepOptions {
  /** The flag the text came from, for messages (default `--rate`). */
  flag?: string;
  /** Whole numbers only (a concurrency). */
  integers?: boolean;
}

/**
 * The steps of a sweep:
 * - `N`: one step;
 * - `A:B:S`: arithmetic, A, A+S, A+2S, ... up to B (B itself only when a step lands on it):
 *   `5:40:5` -> 5, 10, ..., 40;
 * - `A:B`: doubling from A while below B, then B: `1:16` -> 1, 2, 4, 8, 16; `3:20` -> 3, 6, 12, 20.
 * Rates may be decimals (`0.5:2:0.5`); with `integers` (a concurrency) every number must be whole.
 */
export function parseSweep(text: string, options: SweepOptions = {}): number[] {
  const flag = options.flag ?? '--rate';
  const parts = text.trim().split(':');
  if (parts.length > 3 || parts.some((part) => part.trim() === '')) throw badSweep(flag, text, 'it is not N, A:B or A:B:S');
  const numbers = parts.map((part) => parseSweepNumber(part.trim(), flag, text, options.integers === true));
  const [from, to, by] = numbers as [number, number | undefined, number | undefined];
  if (to === undefined) return [from];
  if (to < from) throw badSweep(flag, text, `it ends (${to}) below where it starts (${from})`);
  const steps = by === undefined ? doublingSteps(from, to) : arithmeticSteps(from, to, by);
  if (steps.length > MAX_SWEEP_STEPS) throw badSweep(flag, text, `it makes ${steps.length} steps; at most ${MAX_SWEEP_STEPS} are allowed`);
  return steps;
}

function parseSweepNumber(part: string, flag: string, text: string, integers: boolean): number {
  if (!/^\d+(\.\d+)?$/.test(part)) throw badSweep(flag, text, `"${part}" is not a positive number`);
  const value = Number(part);
  if (value <= 0) throw badSweep(flag, text, `"${part}" is not above 0`);
  if (integers && !Number.isInteger(value)) throw badSweep(flag, text, `"${part}" is not a whole number`);
  return value;
}

function doublingSteps(from: number, to: number): number[] {
  const steps: number[] = [];
  for (let value = from; value < to && steps.length <= MAX_SWEEP_STEPS; value *= 2) steps.push(value);
  steps.push(to);
  return steps;
}

function arithmeticSteps(from: number, to: number, by: number): number[] {
  const steps: number[] = [];
  // From the index, not by adding up, so decimals do not drift (0.1 + 0.2 ...); 12 significant
  // digits drop the binary noise of the product.
  for (let i = 0; steps.length <= MAX_SWEEP_STEPS; i++) {
    const value = Number((from + i * by).toPrecision(12));
    if (value > to) break;
    steps.push(value);
  }
  return steps;
}

function badSweep(flag: string, text: string, why: string): OepError {
  return new OepError('OEP_ERR_USAGE', `${flag} ${JSON.stringify(text)}: ${why}.`, {
    hint: `Give one number, A:B (doubling from A up to B, e.g. 1:16 -> 1,2,4,8,16) or A:B:S (from A to B in steps of S, e.g. 5:40:5).`,
  });
}

/** What the sweep maths reads of a step (a StepResult has it). */
export interface SweepStep {
  offered: number;
  latencyMs: Pick<LatencySummary, 'p99'>;
  counts: Pick<StatusCounts, 's429'>;
  completed: number;
}

function byOffered<T extends SweepStep>(steps: readonly T[]): T[] {
  return [...steps].sort((a, b) => a.offered - b.offered);
}

/**
 * The knee of a sweep: going up from the lowest offered load, the last step before the first one
 * whose p99 exceeds `factor` x the lowest step's p99, has any 429, or got no answer at all.
 * Undefined when even the lowest step fails that. Going up in order (rather than taking the
 * highest step that passes anywhere) keeps a lucky step past the bend from being called the knee.
 */
export function findKnee<T extends SweepStep>(steps: readonly T[], factor = 2): T | undefined {
  const sorted = byOffered(steps);
  const baseline = sorted[0];
  if (baseline === undefined) return undefined;
  const limit = factor * baseline.latencyMs.p99;
  let knee: T | undefined;
  for (const step of sorted) {
    if (step.completed === 0 || step.counts.s429 > 0 || step.latencyMs.p99 > limit) break;
    knee = step;
  }
  return knee;
}

/** The lowest offered step that got a 429, or undefined. */
export function firstThrottledStep<T extends SweepStep>(steps: readonly T[]): T | undefined {
  return byOffered(steps).find((step) => step.counts.s429 > 0);
}

/**
 * Requests a deployment holds in flight before Azure answers 429 ("Too many pending requests":
 * 2 x max_concurrent_requests_per_instance x instance_count; docs/contract.md, Sizing).
 */
export function azureCapacity(maxConcurrentPerInstance: number, instances: number): number {
  return 2 * maxConcurrentPerInstance * instances;
}

export interface RecommendInput {
  targetRps: number;
  /** The request latency to size for, in seconds (e.g. a measured p99). */
  latencySeconds: number;
  /** The share of capacity to run at (default 0.7), in (0, 1]. */
  utilization?: number;
  /** max_concurrent_requests_per_instance */
  mcr: number;
}

/**
 * Azure's instance count for a target load, exactly as Microsoft's "Troubleshooting online
 * endpoints deployment and scoring" page computes it (section "How to calculate instance count",
 * https://learn.microsoft.com/azure/machine-learning/how-to-troubleshoot-online-endpoints):
 *   concurrent_requests = target_rps * request_latency / target_utilization
 *   instance_count = ceil(concurrent_requests / max_concurrent_requests_per_instance)
 * and at least 1 (a deployment has one instance or more).
 */
export function recommendInstances(input: RecommendInput): number {
  const utilization = input.utilization ?? 0.7;
  if (!(utilization > 0 && utilization <= 1)) throw new OepError('OEP_ERR_USAGE', `The target utilization must be above 0 and at most 1, not ${utilization}.`);
  if (!(input.targetRps > 0)) throw new OepError('OEP_ERR_USAGE', `The target rate must be above 0 requests per second, not ${input.targetRps}.`);
  if (!(input.mcr >= 1 && Number.isInteger(input.mcr))) throw new OepError('OEP_ERR_USAGE', `max_concurrent_requests_per_instance must be a whole number of 1 or more, not ${input.mcr}.`);
  if (!(input.latencySeconds >= 0)) throw new OepError('OEP_ERR_USAGE', `The request latency must be 0 s or more, not ${input.latencySeconds}.`);
  const concurrent = (input.targetRps * input.latencySeconds) / utilization;
  // 12 significant digits first: 7 x 0.1 / 0.7 is 1.0000000000000002 in binary, and must give 1.
  return Math.max(1, Math.ceil(Number((concurrent / input.mcr).toPrecision(12))));
}

// ---------------------------------------------------------------------------------------------
// SLOs: `--slo 'p99<200ms,errors<1%'`

export type SloMetric = 'p50' | 'p90' | 'p99' | 'max' | 'mean' | 'errors' | 'rps';
export type SloComparison = '<' | '<=' | '>' | '>=';

export interface SloCheck {
  metric: SloMetric;
  comparison: SloComparison;
  /** Latencies in ms, errors as a fraction (1% -> 0.01), rps in requests per second. */
  threshold: number;
  /** The check as written, for messages. */
  text: string;
}

const LATENCY_METRICS = new Set<SloMetric>(['p50', 'p90', 'p99', 'max', 'mean']);
const SLO_FORMS = 'p50|p90|p99|max|mean <|<=|>|>= N ms|s, errors <|<= N%, rps >|>= N';

/**
 * Parses a comma-separated list of checks: latencies (`p99<200ms`, `max<=1.5s`; a bare number is
 * ms), the error rate (`errors<1%`: answers other than 2xx and client errors, over every
 * outcome) and the achieved rate (`rps>=20`).
 */
export function parseSlo(text: string, flag = '--slo'): SloCheck[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.every((item) => item === '')) throw badSlo(flag, text, 'it names no check');
  return items.map((item) => {
    if (item === '') throw badSlo(flag, text, 'it has an empty check (two commas in a row?)');
    return parseSloCheck(item, flag, text);
  });
}

function parseSloCheck(item: string, flag: string, text: string): SloCheck {
  const match = /^([a-z0-9]+)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?$/i.exec(item);
  if (!match) throw badSlo(flag, text, `"${item}" is not METRIC<VALUE`);
  const [, name, comparison, digits, unit] = match as unknown as [string, string, SloComparison, string, string | undefined];
  const metric = name.toLowerCase() as SloMetric;
  const value = Number(digits);
  if (LATENCY_METRICS.has(metric)) {
    if (unit === '%') throw badSlo(flag, text, `"${item}": a latency takes ms or s, not %`);
    return { metric, comparison, threshold: unit?.toLowerCase() === 's' ? value * 1000 : value, text: item };
  }
  if (metric === 'errors') {
    if (unit !== '%') throw badSlo(flag, text, `"${item}": give the error rate in percent, e.g. errors<1%`);
    if (comparison !== '<' && comparison !== '<=') throw badSlo(flag, text, `"${item}": an error rate is bounded from above (< or <=)`);
    return { metric, comparison, threshold: value / 100, text: item };
  }
  if (metric === 'rps') {
    if (unit !== undefined) throw badSlo(flag, text, `"${item}": a rate takes no unit (requests per second), e.g. rps>=20`);
    if (comparison !== '>' && comparison !== '>=') throw badSlo(flag, text, `"${item}": a rate is bounded from below (> or >=)`);
    return { metric, comparison, threshold: value, text: item };
  }
  throw badSlo(flag, text, `"${name}" is not a metric (p50, p90, p99, max, mean, errors, rps)`);
}

function badSlo(flag: string, text: string, why: string): OepError {
  return new OepError('OEP_ERR_USAGE', `${flag} ${JSON.stringify(text)}: ${why}.`, { hint: `Give checks separated by commas: ${SLO_FORMS}, e.g. --slo 'p99<200ms,errors<1%'.` });
}

/** What an SLO is checked against: a step (a StepResult has it) or a summary of several. */
export interface SloSubject {
  offered?: number;
  achievedRps: number;
  latencyMs: LatencySummary;
  counts: StatusCounts;
}

export interface SloBreach {
  check: SloCheck;
  /** The measured value, in the check's unit (ms, a fraction, req/s). */
  actual: number;
  /** The offered load of the step that breached it, when the subject has one. */
  offered?: number;
}

/** The share of outcomes that were not 2xx (client errors included); 0 when there was none. */
export function errorRate(counts: StatusCounts): number {
  const outcomes = outcomesOf(counts);
  return outcomes === 0 ? 0 : (outcomes - counts.ok) / outcomes;
}

/** Every check that a subject (or any of several, e.g. each step of a sweep) breaks, in order. */
export function checkSlo(subjects: SloSubject | readonly SloSubject[], checks: readonly SloCheck[]): SloBreach[] {
  const list: readonly SloSubject[] = Array.isArray(subjects) ? subjects : [subjects as SloSubject];
  const breaches: SloBreach[] = [];
  for (const subject of list) {
    for (const check of checks) {
      const actual = measuredValue(subject, check.metric);
      if (!holds(actual, check.comparison, check.threshold)) breaches.push({ check, actual, ...(subject.offered === undefined ? {} : { offered: subject.offered }) });
    }
  }
  return breaches;
}

function measuredValue(subject: SloSubject, metric: SloMetric): number {
  if (metric === 'errors') return errorRate(subject.counts);
  if (metric === 'rps') return subject.achievedRps;
  return subject.latencyMs[metric];
}

function holds(actual: number, comparison: SloComparison, threshold: number): boolean {
  if (comparison === '<') return actual < threshold;
  if (comparison === '<=') return actual <= threshold;
  if (comparison === '>') return actual > threshold;
  return actual >= threshold;
}
