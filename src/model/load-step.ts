import { LatencyHistogram } from './latency-histogram.js';

/**
 * One step of a load sweep and what it measured, as plain data: the load generator (src/load/)
 * fills it in, the sizing maths (sizing.ts) and the benchmark report read it.
 *
 * The open model ('rate') sends requests on a fixed schedule whatever the answers do; the closed
 * model ('concurrency') keeps N requests going, each sent when the one before it is answered.
 */
export type LoadStep =
  | { mode: 'rate'; rate: number; durationMs: number; warmupMs: number }
  | { mode: 'concurrency'; concurrency: number; durationMs: number; warmupMs: number };

/**
 * Outcomes of the counted requests. `clientErrors`: no usable HTTP answer (connection refused or
 * reset, a response that is not HTTP/1.x, a 1xx or 3xx final answer, no answer by the end of
 * the drain time).
 */
export interface StatusCounts {
  /** 2xx */
  ok: number;
  s408: number;
  s424: number;
  s429: number;
  other4xx: number;
  other5xx: number;
  clientErrors: number;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface StepResult {
  mode: LoadStep['mode'];
  /** The rate (req/s) or the concurrency the step offered. */
  offered: number;
  /**
   * The measured window in ms: from the end of the warm-up to the end of the step, or to the last
   * answer to a counted request when that came later (an overloaded target answers after the
   * schedule ends); shorter when the step was aborted.
   */
  durationMs: number;
  /** Counted requests that left (those intended after the warm-up). */
  sent: number;
  /** Counted requests answered with an HTTP status, whatever it was. */
  completed: number;
  /** 2xx answers per second over durationMs: the rate the target served, which plateaus at its capacity. */
  achievedRps: number;
  /**
   * In ms, of every answered counted request (all statuses), from the time it was due to leave
   * (the open model's schedule; in the closed model the time it left) to its last byte.
   */
  latencyMs: LatencySummary;
  /**
   * The same answers timed from when each request actually left (what wrk, or any closed-loop
   * tool, reports). Apart from latencyMs only by the generator's own lateness (lateSends) and, at
   * the connection cap, by requests that waited for a connection.
   */
  serviceMs: LatencySummary;
  counts: StatusCounts;
  /** The most requests in flight at once (written, not yet answered) during the window. */
  maxInFlight: number;
  /**
   * Open model: counted requests that left more than LATE_SEND_MS after their due time (the
   * generator could not keep the schedule: no free connection, or no CPU). 0 in the closed model.
   */
  lateSends: number;
  /** Latencies in µs as LatencyHistogram.toArray() counts: add them slot by slot to pool steps. */
  histogram: number[];
}

/** What the caller reports while a step runs (every ~250 ms); warm-up requests included. */
export interface StepProgress {
  elapsedMs: number;
  sent: number;
  completed: number;
  /** Answers other than 2xx, and client errors. */
  errors: number;
  /** Answers per second over the last interval. */
  currentRps: number;
}

/** A request that leaves more than this after its due time is late (wrk2 and vegeta warn alike). */
export const LATE_SEND_MS = 5;

/** What one worker thread measured; mergeStepParts adds them up. */
export interface StepPart {
  sent: number;
  completed: number;
  counts: StatusCounts;
  histogram: number[];
  latencySumMicros: number;
  latencyMaxMicros: number;
  /** Times from the actual send, as histogram, latencySumMicros and latencyMaxMicros are from the due time. */
  serviceHistogram: number[];
  serviceSumMicros: number;
  serviceMaxMicros: number;
  lateSends: number;
  /** How much of the step's window this worker ran, in ms (less than durationMs when aborted). */
  windowMs: number;
  /** From the window's start to the last answer to a counted request, in ms; 0 when none. */
  lastAnswerMs: number;
}

export function emptyCounts(): StatusCounts {
  return { ok: 0, s408: 0, s424: 0, s429: 0, other4xx: 0, other5xx: 0, clientErrors: 0 };
}

/** Adds one answer to the counts by its status. */
export function countStatus(counts: StatusCounts, status: number): void {
  if (status >= 200 && status < 300) counts.ok += 1;
  else if (status === 408) counts.s408 += 1;
  else if (status === 424) counts.s424 += 1;
  else if (status === 429) counts.s429 += 1;
  else if (status >= 400 && status < 500) counts.other4xx += 1;
  else if (status >= 500 && status < 600) counts.other5xx += 1;
  // A final 1xx or a 3xx is no answer a scoring client can use.
  else counts.clientErrors += 1;
}

/** Every outcome of the counted requests: answers of any status and client errors. */
export function outcomesOf(counts: StatusCounts): number {
  return counts.ok + counts.s408 + counts.s424 + counts.s429 + counts.other4xx + counts.other5xx + counts.clientErrors;
}

export function offeredOf(step: LoadStep): number {
  return step.mode === 'rate' ? step.rate : step.concurrency;
}

/** One StepResult from the parts of the worker threads that ran the step. */
export function mergeStepParts(step: LoadStep, parts: readonly StepPart[], maxInFlight: number): StepResult {
  const counts = emptyCounts();
  const histogram = new LatencyHistogram();
  const service = new LatencyHistogram();
  let sent = 0;
  let completed = 0;
  let lateSends = 0;
  let durationMs = 0;
  for (const part of parts) {
    sent += part.sent;
    completed += part.completed;
    for (const key of Object.keys(counts) as (keyof StatusCounts)[]) counts[key] += part.counts[key];
    histogram.add(part.histogram);
    service.add(part.serviceHistogram);
    lateSends += part.lateSends;
    durationMs = Math.max(durationMs, part.windowMs, part.lastAnswerMs);
  }
  const sum = (field: 'latencySumMicros' | 'serviceSumMicros') => parts.reduce((total, part) => total + part[field], 0);
  const max = (field: 'latencyMaxMicros' | 'serviceMaxMicros') => parts.reduce((most, part) => Math.max(most, part[field]), 0);
  return {
    mode: step.mode,
    offered: offeredOf(step),
    durationMs,
    sent,
    completed,
    achievedRps: durationMs > 0 ? counts.ok / (durationMs / 1000) : 0,
    latencyMs: summarize(histogram, sum('latencySumMicros'), max('latencyMaxMicros')),
    serviceMs: summarize(service, sum('serviceSumMicros'), max('serviceMaxMicros')),
    counts,
    maxInFlight,
    lateSends,
    histogram: histogram.toArray(),
  };
}

/** Percentiles from the histogram; the max and the mean from the exact figures kept beside it. */
function summarize(histogram: LatencyHistogram, sumMicros: number, maxMicros: number): LatencySummary {
  return {
    p50: histogram.percentile(50) / 1000,
    p90: histogram.percentile(90) / 1000,
    p99: histogram.percentile(99) / 1000,
    max: maxMicros / 1000,
    mean: histogram.count > 0 ? sumMicros / histogram.count / 1000 : 0,
  };
}
