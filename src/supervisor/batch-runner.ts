import { MiniBatchSchedule, type MiniBatch, type ScheduleCounts, type SchedulePolicy } from '../model/batch-plan.js';
import type { BatchWorker, WorkerEnd, WorkerLauncher, WorkerMessage } from '../runtimes/types.js';

export type { BatchWorker, WorkerEnd, WorkerLauncher, WorkerMessage };

/**
 * Runs a batch job's mini-batches on workers: each worker is a process (or container) running
 * oep's batch worker (server/oep_batch), which calls the scoring script's init() once and run()
 * for each mini-batch it is sent (the protocol: docs/batch.md "Worker protocol"). Which
 * mini-batch goes next, retries and the error threshold are decided by the pure schedule
 * (src/model/batch-plan.ts); this module only starts workers, sends, waits and writes.
 */

export interface BatchRunOptions {
  batches: readonly MiniBatch[];
  policy: SchedulePolicy;
  /** instance_count x max_concurrency_per_instance, at most the number of mini-batches. */
  workers: number;
  /** retry_settings.timeout, for each run() of a mini-batch. */
  timeoutMs: number;
  launcher: WorkerLauncher;
  /** append_row: appends a finished mini-batch's rows to the output file. summary_only: absent. */
  appendRows?: (rows: readonly string[]) => Promise<void>;
  /** A line for the job's own log (what `oep job stream` shows). */
  log: (line: string) => void;
  onProgress?: (counts: ScheduleCounts) => void;
  /** Cancel: workers are killed, the run ends Canceled. */
  signal?: AbortSignal;
}

export type BatchRunResult =
  | { status: 'Completed'; counts: ScheduleCounts }
  | { status: 'Failed'; counts: ScheduleCounts; error: string }
  | { status: 'Canceled'; counts: ScheduleCounts };

/** A worker that could not get through init(): the job fails with its error after this many starts in a row. */
const INIT_STARTS = 3;

export async function runBatchJob(options: BatchRunOptions): Promise<BatchRunResult> {
  const schedule = new MiniBatchSchedule(options.batches, options.policy);
  const slots = Math.max(1, Math.min(options.workers, options.batches.length));
  const run = new JobRun(options, schedule, slots);
  if (options.batches.length > 0) await Promise.all(Array.from({ length: slots }, (_, slot) => run.serve(slot)));
  const counts = schedule.counts();
  if (options.signal?.aborted) return { status: 'Canceled', counts };
  if (run.fatal !== undefined) return { status: 'Failed', counts, error: run.fatal };
  const outcome = schedule.outcome() ?? { status: 'Completed' as const };
  if (outcome.status === 'Failed') return { status: 'Failed', counts, error: outcome.reason };
  return { status: 'Completed', counts };
}

type Answer = { kind: 'message'; message: WorkerMessage } | { kind: 'ended'; end: WorkerEnd } | { kind: 'timeout' } | { kind: 'abort' };

/** One job's run: the workers' loops share the schedule, the output and the reason it stopped. */
class JobRun {
  fatal: string | undefined;
  private readonly live = new Set<BatchWorker>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: BatchRunOptions,
    private readonly schedule: MiniBatchSchedule,
    /** How many workers the job has. */
    private readonly slots: number,
  ) {
    options.signal?.addEventListener('abort', () => this.stopAll(), { once: true });
  }

  /** One worker slot: start a worker, feed it mini-batches, start another when it dies or hangs. */
  async serve(slot: number): Promise<void> {
    while (!this.stopped()) {
      const worker = await this.startReady(slot);
      if (!worker) return;
      const keep = await this.feed(slot, worker.worker, worker.inbox);
      if (keep === 'finished') {
        worker.worker.finish();
        // shutdown() and the worker's exit get the mini-batch timeout; a worker still there then
        // (a shutdown() that blocks, a thread init() started) is ended, so the job can end.
        let timer: NodeJS.Timeout | undefined;
        const exited = await Promise.race([
          worker.worker.ended.then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.timeoutMs))),
        ]);
        clearTimeout(timer);
        if (!exited) {
          this.options.log(`worker ${slot}: still running ${this.options.timeoutMs / 1000} s after its input ended (shutdown()): ended`);
          await worker.worker.kill();
        }
        this.live.delete(worker.worker);
        return;
      }
      this.live.delete(worker.worker);
    }
  }

  /** A worker through init(), or undefined when the job cannot go on (init keeps failing, stopped). */
  private async startReady(slot: number): Promise<{ worker: BatchWorker; inbox: Inbox } | undefined> {
    let lastError = '';
    for (let start = 1; start <= INIT_STARTS && !this.stopped(); start++) {
      let worker: BatchWorker;
      try {
        worker = await this.options.launcher.start(slot);
      } catch (error) {
        this.stop(`worker ${slot} could not start: ${(error as Error).message}`);
        return undefined;
      }
      this.live.add(worker);
      if (this.stopped()) {
        await this.end(worker);
        return undefined;
      }
      const inbox = new Inbox(worker);
      const answer = await inbox.next(undefined, this.options.signal);
      if (answer.kind === 'message' && answer.message.event === 'ready') return { worker, inbox };
      await this.end(worker);
      // Ended by a cancel or a stop of the job, not by its own init(): nothing to report.
      if (answer.kind === 'abort' || this.stopped()) return undefined;
      lastError = answer.kind === 'message' && answer.message.event === 'init_failed' ? answer.message.error : describeEnd(answer);
      this.options.log(`worker ${slot}: init() failed (start ${start} of ${INIT_STARTS}): ${lastLine(lastError)}`);
      if (answer.kind === 'ended' && answer.end.error) break;
    }
    if (!this.stopped()) this.stop(`the scoring script's init() failed on worker ${slot}: ${lastError.trim()}`);
    return undefined;
  }

  /**
   * Sends mini-batches until none is left ('finished') or the worker must be replaced ('replace').
   * While enough mini-batches wait, the next one is already on the worker's stdin when run()
   * returns (the worker answers in order), so no round trip separates two run() calls; the
   * timeout of a queued mini-batch starts when the one before it is answered, when its run()
   * starts. Near the end only one at a time, so that no other worker goes idle.
   */
  private async feed(slot: number, worker: BatchWorker, inbox: Inbox): Promise<'finished' | 'replace'> {
    const sent: { batch: MiniBatch; attempt: number }[] = [];
    const giveBack = () => {
      for (const queued of sent.splice(0)) this.schedule.giveBack(queued.batch.index);
    };
    for (;;) {
      if (this.stopped()) {
        giveBack();
        await this.end(worker);
        return 'replace';
      }
      while (sent.length < this.depth()) {
        const batch = this.schedule.next();
        if (!batch) break;
        sent.push({ batch, attempt: this.schedule.tryOf(batch.index) });
        worker.send(batch);
      }
      const head = sent.shift();
      if (!head) return 'finished';
      const { batch, attempt } = head;
      const answer = await inbox.next(this.options.timeoutMs, this.options.signal);
      if (answer.kind === 'message' && answer.message.event === 'done' && answer.message.mini_batch === batch.index) {
        const { rows, succeeded } = answer.message;
        if (this.options.appendRows && rows.length > 0) await this.append(rows);
        this.schedule.succeed(batch.index, succeeded);
        this.options.log(`mini-batch ${batch.index}: ${succeeded} of ${batch.files.length} items (worker ${slot}, try ${attempt})`);
        this.progressed();
        continue;
      }
      if (answer.kind === 'abort' || this.stopped()) {
        // Canceled, or the job stopped (error_threshold passed, a fatal error) and its workers
        // were ended: what was running is abandoned, not failed (its files are not failed items).
        this.schedule.giveBack(batch.index);
        giveBack();
        await this.end(worker);
        return 'replace';
      }
      const raised = answer.kind === 'message' && answer.message.event === 'failed' && answer.message.mini_batch === batch.index;
      const error = raised ? (answer.message as { error: string }).error : describeEnd(answer, this.options.timeoutMs);
      // Hung, gone or out of step: what was queued behind it never started (no try counted) and
      // goes back behind the retry of this one; a new worker (and a new init()) for what is left.
      if (!raised) giveBack();
      const again = this.schedule.fail(batch.index, error);
      this.options.log(`mini-batch ${batch.index} failed (worker ${slot}, try ${attempt}${again ? ', will be tried again' : ', no tries left'}): ${lastLine(error)}`);
      this.progressed();
      if (!raised) {
        await this.end(worker);
        return 'replace';
      }
    }
  }

  /** Mini-batches on a worker at once: two while at least one per worker waits, else one. */
  private depth(): number {
    return this.schedule.counts().waiting >= this.slots ? 2 : 1;
  }

  private progressed(): void {
    this.options.onProgress?.(this.schedule.counts());
    const outcome = this.schedule.outcome();
    if (outcome?.status === 'Failed') this.stopAll();
  }

  /** Rows of mini-batches are written one after another, never interleaved. */
  private append(rows: readonly string[]): Promise<void> {
    const write = this.writes.then(() => this.options.appendRows!(rows));
    this.writes = write.catch(() => undefined);
    return write.catch((error: Error) => this.stop(`could not write the output file: ${error.message}`));
  }

  private stopped(): boolean {
    return this.fatal !== undefined || this.options.signal?.aborted === true || this.schedule.outcome()?.status === 'Failed';
  }

  private stop(reason: string): void {
    this.fatal ??= reason;
    this.stopAll();
  }

  private stopAll(): void {
    for (const worker of this.live) void worker.kill();
  }

  private async end(worker: BatchWorker): Promise<void> {
    await worker.kill();
    this.live.delete(worker);
  }
}

/** A worker's messages and end, taken one at a time with a deadline. */
class Inbox {
  private readonly queue: Answer[] = [];
  private waiter: ((answer: Answer) => void) | undefined;

  constructor(worker: BatchWorker) {
    worker.onMessage((message) => this.put({ kind: 'message', message }));
    void worker.ended.then((end) => this.put({ kind: 'ended', end }));
  }

  next(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<Answer> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (signal?.aborted) return Promise.resolve({ kind: 'abort' });
    return new Promise<Answer>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
      const onAbort = () => settle({ kind: 'abort' });
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (answer: Answer) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        resolve(answer);
      };
      this.waiter = settle;
    });
  }

  private put(answer: Answer): void {
    if (this.waiter) this.waiter(answer);
    else this.queue.push(answer);
  }
}

function describeEnd(answer: Answer, timeoutMs?: number): string {
  if (answer.kind === 'timeout') return `run() did not return within ${(timeoutMs ?? 0) / 1000} s (retry_settings.timeout)`;
  if (answer.kind === 'ended') {
    if (answer.end.error) return answer.end.error;
    return answer.end.signal ? `the worker was ended by ${answer.end.signal}` : `the worker exited with code ${answer.end.code}`;
  }
  if (answer.kind === 'message') return `unexpected message from the worker: ${JSON.stringify(answer.message)}`;
  return 'canceled';
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
