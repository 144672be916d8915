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
 * Indexes of the shared counters. sent/completed/errors count warm-up requests too (they feed
 * the progress line); maxInFlight only requests of the measured window.
 */
export const SHARED = { inFlight: 0, maxInFlight: 1, sent: 2, completed: 3, errors: 4 } as const;
export const SHARED_LENGTH = 5;

/** Messages from the caller to a worker. */
export type ToWorker = { type: 'start'; startNs: bigint } | { type: 'stop' };
