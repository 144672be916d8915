import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitMiniBatches, type MiniBatch } from '../../src/model/batch-plan.js';
import { runBatchJob, type BatchWorker, type WorkerEnd, type WorkerLauncher, type WorkerMessage } from '../../src/supervisor/batch-runner.js';

/** What a fake worker does with a mini-batch. */
type Behaviour = { kind: 'rows'; rows?: string[]; succeeded?: number } | { kind: 'raise'; error: string } | { kind: 'hang' } | { kind: 'die' };

interface FakeOptions {
  /** A worker that does not exit when its input ends (a shutdown() that blocks). */
  stubborn?: boolean;
  /** Per start of a worker (1-based, over all slots): whether init() succeeds. */
  init?: (start: number) => 'ready' | 'init_failed' | 'no-interpreter';
  run: (batch: MiniBatch, seen: number) => Behaviour;
}

/** Workers in the test's own process, driven by `run`; records what happened. */
function fakeLauncher(options: FakeOptions): WorkerLauncher & { starts: number; killed: number; finished: number; sent: number; live: () => number } {
  const seen = new Map<number, number>();
  const live = new Set<object>();
  const launcher = {
    starts: 0,
    killed: 0,
    finished: 0,
    sent: 0,
    live: () => live.size,
    async start(): Promise<BatchWorker> {
      launcher.starts += 1;
      const initial = options.init?.(launcher.starts) ?? 'ready';
      let listener: (message: WorkerMessage) => void = () => undefined;
      let endWith: (end: WorkerEnd) => void = () => undefined;
      const ended = new Promise<WorkerEnd>((resolve) => (endWith = resolve));
      const token = {};
      live.add(token);
      const end = (value: WorkerEnd) => {
        live.delete(token);
        endWith(value);
      };
      const say = (message: WorkerMessage) => setImmediate(() => listener(message));
      if (initial === 'no-interpreter') setImmediate(() => end({ code: null, signal: null, error: 'the Python interpreter "nope" was not found' }));
      else if (initial === 'init_failed') {
        say({ event: 'init_failed', error: 'Traceback (most recent call last):\nFileNotFoundError: model.pkl' });
        setImmediate(() => setImmediate(() => end({ code: 3, signal: null })));
      } else say({ event: 'ready' });
      // Like a real worker: one mini-batch at a time, in the order sent; a hung run() holds up the rest.
      const queue: MiniBatch[] = [];
      let busy = false;
      const pump = (): void => {
        if (busy || queue.length === 0 || !live.has(token)) return;
        const batch = queue.shift()!;
        const count = (seen.get(batch.index) ?? 0) + 1;
        seen.set(batch.index, count);
        const behaviour = options.run(batch, count);
        if (behaviour.kind === 'hang') {
          busy = true;
          return;
        }
        if (behaviour.kind === 'die') {
          busy = true;
          setImmediate(() => end({ code: 1, signal: null }));
          return;
        }
        busy = true;
        setImmediate(() => {
          if (!live.has(token)) return;
          if (behaviour.kind === 'rows') {
            const rows = behaviour.rows ?? batch.files.map((file) => `${file},1`);
            listener({ event: 'done', mini_batch: batch.index, rows, succeeded: behaviour.succeeded ?? batch.files.length });
          } else listener({ event: 'failed', mini_batch: batch.index, error: behaviour.error });
          busy = false;
          pump();
        });
      };
      return {
        send(batch) {
          launcher.sent += 1;
          queue.push(batch);
          pump();
        },
        onMessage(fn) {
          listener = fn;
        },
        ended,
        finish() {
          launcher.finished += 1;
          if (!options.stubborn) setImmediate(() => end({ code: 0, signal: null }));
        },
        async kill() {
          if (live.has(token)) launcher.killed += 1;
          end({ code: null, signal: 'SIGKILL' });
        },
      };
    },
  };
  return launcher;
}

const files = (count: number) => Array.from({ length: count }, (_, i) => `/in/${String(i).padStart(2, '0')}.csv`);

function job(launcher: WorkerLauncher, extra: Partial<Parameters<typeof runBatchJob>[0]> & { count?: number; size?: number } = {}) {
  const rows: string[] = [];
  const log: string[] = [];
  const { count = 10, size = 3, ...rest } = extra;
  const result = runBatchJob({
    batches: splitMiniBatches(files(count), size),
    policy: { maxRetries: 3, errorThreshold: -1 },
    workers: 2,
    timeoutMs: 200,
    launcher,
    appendRows: async (batchRows) => {
      rows.push(...batchRows);
    },
    log: (line) => log.push(line),
    ...rest,
  });
  return { result, rows, log };
}

describe('runBatchJob', () => {
  it('runs every mini-batch once on its workers and appends every row', async () => {
    const launcher = fakeLauncher({ run: () => ({ kind: 'rows' }) });
    const { result, rows } = job(launcher);
    const outcome = await result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(outcome.counts.succeededItems, 10);
    assert.equal(outcome.counts.succeeded, 4);
    assert.deepEqual([...rows].sort(), files(10).map((file) => `${file},1`));
    assert.equal(launcher.starts, 2);
    assert.equal(launcher.finished, 2, 'each worker was told there is no more (shutdown())');
    assert.equal(launcher.live(), 0);
  });

  it('keeps the next mini-batch queued on a worker while enough wait, and each mini-batch still runs once', async () => {
    const order: number[] = [];
    const launcher = fakeLauncher({
      run: (batch) => {
        order.push(batch.index);
        return { kind: 'rows' };
      },
    });
    const outcome = await job(launcher, { count: 12, size: 1, workers: 1 }).result;
    assert.equal(outcome.status, 'Completed');
    assert.deepEqual(order, [...Array(12).keys()]);
    assert.equal(launcher.sent, 12);
  });

  it('a mini-batch queued behind one that hangs is given back untried and runs on the new worker', async () => {
    const tries = new Map<number, number>();
    const launcher = fakeLauncher({
      run: (batch, seen) => {
        tries.set(batch.index, seen);
        return batch.index === 0 && seen === 1 ? { kind: 'hang' } : { kind: 'rows' };
      },
    });
    const { result, log } = job(launcher, { count: 4, size: 1, workers: 1, timeoutMs: 50 });
    const outcome = await result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(outcome.counts.succeededItems, 4);
    assert.equal(tries.get(1), 1, 'mini-batch 1 ran once: it was queued, never started, on the hung worker');
    assert.ok(log.some((line) => /^mini-batch 1: 1 of 1 items \(worker 0, try 1\)$/.test(line)), log.join('\n'));
  });

  it('a worker that does not exit after its input ends is ended after the timeout, and the job completes', async () => {
    const launcher = fakeLauncher({ stubborn: true, run: () => ({ kind: 'rows' }) });
    const { result, log } = job(launcher, { count: 2, size: 1, workers: 1, timeoutMs: 50 });
    const outcome = await result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(launcher.killed, 1);
    assert.ok(log.some((line) => /^worker 0: still running 0.05 s after its input ended \(shutdown\(\)\): ended$/.test(line)), log.join('\n'));
  });

  it('never starts more workers than mini-batches', async () => {
    const launcher = fakeLauncher({ run: () => ({ kind: 'rows' }) });
    assert.equal((await job(launcher, { count: 2, size: 5, workers: 4 }).result).status, 'Completed');
    assert.equal(launcher.starts, 1);
  });

  it('tries a mini-batch whose run() raised again on the same worker', async () => {
    const launcher = fakeLauncher({ run: (batch, seen) => (batch.index === 1 && seen < 3 ? { kind: 'raise', error: 'Traceback\nValueError: flaky' } : { kind: 'rows' }) });
    const { result, log, rows } = job(launcher, { workers: 1 });
    const outcome = await result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(outcome.counts.failedItems, 0);
    assert.equal(rows.length, 10);
    assert.equal(launcher.starts, 1, 'a raised error keeps the worker');
    assert.equal(log.filter((line) => /mini-batch 1 failed .*will be tried again\): ValueError: flaky/.test(line)).length, 2);
  });

  it('a run() past the timeout: the worker is killed, a new one runs the retry', async () => {
    const launcher = fakeLauncher({ run: (batch, seen) => (batch.index === 0 && seen === 1 ? { kind: 'hang' } : { kind: 'rows' }) });
    const { result, log } = job(launcher, { workers: 1, timeoutMs: 50 });
    const outcome = await result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(launcher.starts, 2);
    assert.equal(launcher.killed, 1);
    assert.ok(log.some((line) => /mini-batch 0 failed \(worker 0, try 1, will be tried again\): run\(\) did not return within 0.05 s/.test(line)), log.join('\n'));
  });

  it('a worker that dies mid-batch is replaced and the mini-batch tried again', async () => {
    const launcher = fakeLauncher({ run: (batch, seen) => (batch.index === 2 && seen === 1 ? { kind: 'die' } : { kind: 'rows' }) });
    const outcome = await job(launcher, { workers: 1 }).result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(outcome.counts.succeededItems, 10);
    assert.equal(launcher.starts, 2);
  });

  it('a mini-batch failing every try: its files fail; under error_threshold the job completes', async () => {
    const launcher = fakeLauncher({ run: (batch) => (batch.index === 1 ? { kind: 'raise', error: 'RuntimeError: corrupt file' } : { kind: 'rows' }) });
    const { result, rows } = job(launcher, { policy: { maxRetries: 2, errorThreshold: 3 } });
    const outcome = await result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(outcome.counts.failedItems, 3);
    assert.equal(outcome.counts.failed, 1);
    assert.equal(rows.length, 7);
  });

  it('past error_threshold the job fails and every worker is ended', async () => {
    const launcher = fakeLauncher({ run: (batch) => (batch.index === 0 ? { kind: 'raise', error: 'RuntimeError: corrupt file' } : { kind: 'hang' }) });
    const outcome = await job(launcher, { policy: { maxRetries: 0, errorThreshold: 2 }, timeoutMs: 10_000 }).result;
    assert.equal(outcome.status, 'Failed');
    assert.match((outcome as { error: string }).error, /3 failed items, more than error_threshold 2/);
    assert.equal(outcome.counts.failedItems, 3, 'what the other worker was running is abandoned, not failed');
    assert.equal(launcher.live(), 0, 'the hanging worker was killed, not waited for');
  });

  it('init() failing on every start fails the job with the script error', async () => {
    const launcher = fakeLauncher({ init: () => 'init_failed', run: () => ({ kind: 'rows' }) });
    const { result, log } = job(launcher, { workers: 1 });
    const outcome = await result;
    assert.equal(outcome.status, 'Failed');
    assert.match((outcome as { error: string }).error, /init\(\) failed on worker 0: Traceback[\s\S]*FileNotFoundError: model.pkl/);
    assert.equal(launcher.starts, 3);
    assert.equal(log.filter((line) => /init\(\) failed \(start \d of 3\)/.test(line)).length, 3);
  });

  it('an interpreter that cannot start fails the job at once, naming it', async () => {
    const launcher = fakeLauncher({ init: () => 'no-interpreter', run: () => ({ kind: 'rows' }) });
    const outcome = await job(launcher, { workers: 1 }).result;
    assert.equal(outcome.status, 'Failed');
    assert.match((outcome as { error: string }).error, /interpreter "nope" was not found/);
    assert.equal(launcher.starts, 1);
  });

  it('a cancel ends the workers and the run is Canceled', async () => {
    const controller = new AbortController();
    const launcher = fakeLauncher({ run: (batch) => (batch.index === 0 ? { kind: 'rows' } : { kind: 'hang' }) });
    const run = job(launcher, { timeoutMs: 60_000, signal: controller.signal, onProgress: () => setImmediate(() => controller.abort()) });
    const outcome = await run.result;
    assert.equal(outcome.status, 'Canceled');
    assert.equal(launcher.live(), 0);
  });

  it('summary_only: nothing is appended', async () => {
    const launcher = fakeLauncher({ run: () => ({ kind: 'rows' }) });
    const outcome = await job(launcher, { appendRows: undefined }).result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(outcome.counts.succeededItems, 10);
  });

  it('no input files: completes at once without starting a worker', async () => {
    const launcher = fakeLauncher({ run: () => ({ kind: 'rows' }) });
    const outcome = await job(launcher, { count: 0 }).result;
    assert.equal(outcome.status, 'Completed');
    assert.equal(launcher.starts, 0);
  });
});
