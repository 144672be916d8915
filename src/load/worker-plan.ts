/**
 * What the caller hands each worker thread of a load step (as workerData), and the counters the
 * threads share with it: a plain structure, so the worker's module needs nothing else.
 */
export interface WorkerPlan {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** The request body (a Buffer arrives in a worker as a Uint8Array). */
  body: Uint8Array;
  ca?: string;
  mode: 'rate' | 'concurrency';
  /** Open model: this worker's requests are due at offsetMs + j x intervalMs from the step's start. */
  intervalMs: number;
  offsetMs: number;
  /** Open model: how the thread waits for a due time (see Pacing). */
  pacing: Pacing;
  /** Closed model: this worker's loops. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** How long after the window the answers to counted requests are awaited. */
  drainMs: number;
  /** This worker's share of the connection cap. */
  maxConnections: number;
  /** Int32Array over a SharedArrayBuffer, indexed by SHARED. */
  shared: SharedArrayBuffer;
}

/**
 * How the open model waits for the next due time, where a thread's requests are at least 4 ms
 * apart (MIN_PRECISE_GAP_MS in step-runner.ts; closer together, a timer alone paces them).
 * Node's timers count whole milliseconds of a clock read once per loop turn, so a timer may fire
 * up to 1 ms before or after the time asked for, and a request may never leave early.
 * - `poll`: a timer to 1.5 ms before the due time, then setImmediate until it (up to about
 *   2.5 ms of busy CPU per request, which the target may need on a small machine).
 * - `wait`: a timer to 2-3 ms before the due time, then Atomics.wait until it: the thread sleeps
 *   in the kernel, which wakes it to within tens of µs and costs no CPU. With requests of the
 *   thread in flight it sleeps in 0.2 ms slices and reads what arrived between them, so an answer
 *   is timed at most a slice late.
 * - `timer`: timers only; one that fires early is set again (sends up to about 1-2 ms late).
 */
export type Pacing = 'poll' | 'wait' | 'timer';
export const PACINGS: readonly Pacing[] = ['poll', 'wait', 'timer'];

/**
 * Indexes of the shared counters. sent/completed/errors count warm-up requests too (they feed
 * the progress line); maxInFlight only requests of the measured window.
 */
export const SHARED = { inFlight: 0, maxInFlight: 1, sent: 2, completed: 3, errors: 4 } as const;
export const SHARED_LENGTH = 5;

/** Messages from the caller to a worker. */
export type ToWorker = { type: 'start'; startNs: bigint } | { type: 'stop' };
