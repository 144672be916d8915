import { Worker } from 'node:worker_threads';
import { OepError } from '../errors.js';
import { mergeStepParts, type LoadStep, type StepPart, type StepProgress, type StepResult } from '../model/load-step.js';
import { PACINGS, SHARED, SHARED_LENGTH, type Pacing, type ToWorker, type WorkerPlan } from './worker-plan.js';

export type { LoadStep, StepProgress, StepResult } from '../model/load-step.js';
export type { Pacing } from './worker-plan.js';

/**
 * The load generator of `oep endpoint benchmark`: runs one step of a sweep against a scoring URL
 * and measures it. The load runs in worker threads (worker.ts), off the CLI's event loop, which
 * only starts them, relays progress from counters they share and adds up their results.
 */

export interface LoadTarget {
  /** http://127.0.0.1:port/score, or https:// */
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  /** PEM of the CA an https target's certificate chains to. */
  ca?: string;
}

export interface LoadStepOptions {
  signal?: AbortSignal;
  onProgress?: (progress: StepProgress) => void;
  /** Worker threads (default DEFAULT_WORKERS; the closed model never uses more than its concurrency). */
  workers?: number;
  /** How long to await the answers to the window's requests after it ends (default DEFAULT_DRAIN_MS). */
  drainMs?: number;
  /** How the open model waits for each due time (default DEFAULT_PACING; the bench compares them). */
  pacing?: Pacing;
}

/**
 * One worker thread. Measured on the 2-core machine this was written on (bench/load-generator.ts,
 * bench/README.md): a second thread costs half as much CPU again per request (60 vs 39 µs through
 * the router), CPU the router and the replica need on the same cores, and did not reach a
 * consistently higher rate (0.93x vs 0.81x wrk's through the router, 0.77x vs 0.82x on a plain
 * Node server). `workers: 2` is there for machines with cores to spare.
 */
export const DEFAULT_WORKERS = 1;
/** Connections the open model may open in all (as many requests can be in flight at once). */
export const MAX_CONNECTIONS = 512;
/** Longer than any request_timeout_ms the router is likely to hold a request for. */
export const DEFAULT_DRAIN_MS = 30_000;
export const PROGRESS_INTERVAL_MS = 250;
/**
 * Sleeping in the kernel for the last 2-3 ms (see Pacing in worker-plan.ts) rather than polling:
 * on the 2-core machine this was measured on (bench/load-generator.ts, bench/README.md), polling
 * took CPU the target needed and raised a sub-millisecond target's own p90 (timed from the send)
 * 1.3-2.5x, for about twice the generator's CPU.
 */
export const DEFAULT_PACING: Pacing = 'wait';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Runs one step; resolves with what it measured, or with what was measured so far when `signal` aborts it. */
export async function runLoadStep(target: LoadTarget, step: LoadStep, options: LoadStepOptions = {}): Promise<StepResult> {
  checkTarget(target);
  checkStep(step);
  checkPacing(options.pacing);
  const { signal } = options;
  if (signal?.aborted) return mergeStepParts(step, [], 0);
  const shared = new SharedArrayBuffer(SHARED_LENGTH * Int32Array.BYTES_PER_ELEMENT);
  const counters = new Int32Array(shared);
  const plans = planWorkers(target, step, options, shared);
  const workers = plans.map((plan) => startWorker(plan));
  const stop = () => workers.forEach((worker) => worker.post({ type: 'stop' }));
  signal?.addEventListener('abort', stop, { once: true });
  let progress: NodeJS.Timeout | undefined;
  try {
    const aborted = signal ? new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })) : new Promise<void>(() => undefined);
    await Promise.race([Promise.all(workers.map((worker) => worker.ready)), aborted, Promise.all(workers.map((worker) => worker.result))]);
    if (!signal?.aborted) {
      // A few ms ahead, so every thread has the message before the first request is due.
      const startNs = process.hrtime.bigint() + 5_000_000n;
      workers.forEach((worker) => worker.post({ type: 'start', startNs }));
      if (options.onProgress) progress = reportProgress(counters, startNs, options.onProgress);
    }
    const parts = await Promise.all(workers.map((worker) => worker.result));
    return mergeStepParts(step, parts, Atomics.load(counters, SHARED.maxInFlight));
  } finally {
    if (progress) clearInterval(progress);
    signal?.removeEventListener('abort', stop);
    await Promise.all(workers.map((worker) => worker.thread.terminate()));
  }
}

function checkTarget(target: LoadTarget): void {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new OepError('OEP_ERR_USAGE', `The load target ${JSON.stringify(target.url)} is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OepError('OEP_ERR_USAGE', `The load target ${target.url} is not http:// or https://.`);
  }
}

function checkStep(step: LoadStep): void {
  const offered = step.mode === 'rate' ? step.rate : step.concurrency;
  if (!(Number.isFinite(offered) && offered > 0)) throw new OepError('OEP_ERR_USAGE', `A load step's ${step.mode} must be a positive number, not ${offered}.`);
  if (step.mode === 'concurrency' && (!Number.isInteger(offered) || offered > MAX_CONNECTIONS)) {
    throw new OepError('OEP_ERR_USAGE', `A load step's concurrency must be a whole number from 1 to ${MAX_CONNECTIONS}, not ${offered}.`);
  }
  if (!(step.durationMs > 0) || !(step.warmupMs >= 0)) {
    throw new OepError('OEP_ERR_USAGE', `A load step needs a positive duration and a warm-up of 0 or more (got ${step.durationMs} ms and ${step.warmupMs} ms).`);
  }
}

function checkPacing(pacing: Pacing | undefined): void {
  if (pacing !== undefined && !PACINGS.includes(pacing)) {
    throw new OepError('OEP_ERR_USAGE', `The load generator's pacing must be one of ${PACINGS.join(', ')}, not ${JSON.stringify(pacing)}.`);
  }
}

/**
 * Each worker's share. Open model: worker k of W sends requests k, k + W, k + 2W, ... of the one
 * schedule t_i = start + i / rate, so together they keep it exactly. Closed model: the loops
 * split as evenly as they go.
 */
function planWorkers(target: LoadTarget, step: LoadStep, options: LoadStepOptions, shared: SharedArrayBuffer): WorkerPlan[] {
  const wanted = Math.max(1, Math.floor(options.workers ?? DEFAULT_WORKERS));
  const count = step.mode === 'concurrency' ? Math.min(wanted, step.concurrency) : wanted;
  const base = {
    url: target.url,
    method: target.method,
    headers: target.headers,
    body: target.body,
    ca: target.ca,
    mode: step.mode,
    warmupMs: step.warmupMs,
    durationMs: step.durationMs,
    drainMs: options.drainMs ?? DEFAULT_DRAIN_MS,
    pacing: options.pacing ?? DEFAULT_PACING,
    shared,
  };
  const plans: WorkerPlan[] = [];
  for (let k = 0; k < count; k++) {
    if (step.mode === 'rate') {
      const gapMs = 1000 / step.rate;
      plans.push({ ...base, intervalMs: gapMs * count, offsetMs: gapMs * k, concurrency: 0, maxConnections: Math.floor(MAX_CONNECTIONS / count) });
    } else {
      const loops = Math.floor(step.concurrency / count) + (k < step.concurrency % count ? 1 : 0);
      plans.push({ ...base, intervalMs: 0, offsetMs: 0, concurrency: loops, maxConnections: loops });
    }
  }
  return plans;
}

interface RunningWorker {
  thread: Worker;
  ready: Promise<void>;
  result: Promise<StepPart>;
  post(message: ToWorker): void;
}

function startWorker(plan: WorkerPlan): RunningWorker {
  const thread = new Worker(WORKER_URL, { workerData: plan });
  const ready = deferred<void>();
  const result = deferred<StepPart>();
  let done = false;
  thread.on('message', (message: { type: 'ready' } | { type: 'result'; part: StepPart }) => {
    if (message.type === 'ready') ready.resolve();
    else {
      done = true;
      result.resolve(message.part);
    }
  });
  const failed = (why: string) => {
    const error = new OepError('OEP_ERR_INTERNAL', `A worker thread of the load generator failed: ${why}`);
    ready.reject(error);
    result.reject(error);
  };
  thread.on('error', (error) => failed(error.message));
  thread.on('exit', (code) => {
    if (!done) failed(`it exited (code ${code}) before it gave its result`);
  });
  return { thread, ready: ready.promise, result: result.promise, post: (message) => thread.postMessage(message) };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

/** A promise settled from outside; its rejection is handled, as `ready` may go unawaited once `result` settles. */
function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Calls onProgress every PROGRESS_INTERVAL_MS from the shared counters. */
function reportProgress(counters: Int32Array, startNs: bigint, onProgress: (progress: StepProgress) => void): NodeJS.Timeout {
  let lastAt = startNs;
  let lastCompleted = 0;
  return setInterval(() => {
    const now = process.hrtime.bigint();
    const completed = Atomics.load(counters, SHARED.completed);
    const seconds = Number(now - lastAt) / 1e9;
    onProgress({
      elapsedMs: Math.max(0, Number(now - startNs) / 1e6),
      sent: Atomics.load(counters, SHARED.sent),
      completed,
      errors: Atomics.load(counters, SHARED.errors),
      currentRps: seconds > 0 ? (completed - lastCompleted) / seconds : 0,
    });
    lastAt = now;
    lastCompleted = completed;
  }, PROGRESS_INTERVAL_MS);
}
