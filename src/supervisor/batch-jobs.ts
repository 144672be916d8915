import { join } from 'node:path';
import { splitMiniBatches, type ScheduleCounts } from '../model/batch-plan.js';
import { ENDED_STATUSES, jobLogFile, jobOutputDir, listJobs, saveJob, type BatchJobRecord, type JobCounts } from '../registry/jobs.js';
import { AppendOnlyFile, appendFileNoFollow } from '../state/atomic-write.js';
import type { WorkerLauncher } from '../runtimes/types.js';
import { runBatchJob, type BatchRunResult } from './batch-runner.js';

/** How often, at most, a running job's record is rewritten with its counts. */
const SAVE_EVERY_MS = 250;
/** The longest delay setTimeout keeps. */
const MAX_TIMER_MS = 2_147_483_647;
const EMPTY_COUNTS: ScheduleCounts = { miniBatches: 0, succeeded: 0, failed: 0, running: 0, waiting: 0, succeededItems: 0, failedItems: 0 };

export interface SubmitOptions {
  /** The input's files, in the order their mini-batches are made. */
  files: readonly string[];
  launcher: WorkerLauncher;
}

/**
 * The daemon's batch jobs: each submitted job runs in the background (src/supervisor/
 * batch-runner.ts) and its record (src/registry/jobs.ts) follows it from Queued to Running to
 * Completed, Failed or Canceled. Jobs do not outlive the daemon: one it was running when it
 * stopped is Failed, with the reason, never left Running (failLeftovers at the next start).
 */
export class BatchJobs {
  private readonly logWrites = new Map<string, Promise<void>>();
  /** The logs of running jobs, open while they run. */
  private readonly openLogs = new Map<string, AppendOnlyFile>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; reason?: string }>();

  constructor(
    private readonly home: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a job whose record createJob() has written (status Queued). */
  submit(record: BatchJobRecord, options: SubmitOptions): void {
    const controller = new AbortController();
    const entry: { controller: AbortController; done: Promise<void>; reason?: string } = { controller, done: Promise.resolve() };
    entry.done = this.run(record, options, controller.signal, () => entry.reason).finally(() => this.running.delete(record.name));
    this.running.set(record.name, entry);
  }

  /** Cancels a running job; false when it is not running here. */
  cancel(name: string, reason = 'canceled by `oep job cancel`'): boolean {
    const entry = this.running.get(name);
    if (!entry) return false;
    entry.reason = reason;
    entry.controller.abort();
    return true;
  }

  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /** The daemon is stopping: every running job ends Failed, its workers killed. */
  async stopAll(): Promise<void> {
    for (const [name] of this.running) this.cancel(name, 'the oep daemon stopped while the job ran');
    await Promise.all([...this.running.values()].map((entry) => entry.done));
  }

  /** At the daemon's start: jobs an earlier daemon left Queued or Running end Failed. */
  async failLeftovers(): Promise<number> {
    let count = 0;
    for (const record of await listJobs(this.home)) {
      if (ENDED_STATUSES.includes(record.status) || this.running.has(record.name)) continue;
      const error = 'the oep daemon ended while the job ran (it does not resume jobs); invoke the endpoint again';
      await saveJob(this.home, { ...record, status: 'Failed', ended_at: this.stamp(), error });
      await this.log(record.name, `Failed: ${error}`);
      count += 1;
    }
    return count;
  }

  private async run(queued: BatchJobRecord, options: SubmitOptions, signal: AbortSignal, reason: () => string | undefined): Promise<void> {
    let record: BatchJobRecord = { ...queued, status: 'Running', started_at: this.stamp() };
    const { settings } = record;
    // Kept open while the job runs: one append per mini-batch, no open and close each time.
    const output = new AppendOnlyFile(join(jobOutputDir(this.home, record.name), settings.output_file_name));
    const jobLog = new AppendOnlyFile(jobLogFile(this.home, record.name));
    this.openLogs.set(record.name, jobLog);
    let result: BatchRunResult = { status: 'Failed', counts: EMPTY_COUNTS, error: "oep's job runner did not start the job" };
    try {
      await saveJob(this.home, record);
      const batches = splitMiniBatches(options.files, settings.mini_batch_size);
      const workers = Math.max(1, settings.instance_count * settings.max_concurrency_per_instance);
      await this.log(record.name, `Running: ${options.files.length} files in ${batches.length} mini-batches of up to ${settings.mini_batch_size}, ${Math.min(workers, Math.max(1, batches.length))} workers, deployment ${record.deployment} of ${record.endpoint}`);
      let lastSave = 0;
      let saving: Promise<void> = Promise.resolve();
      const onProgress = (counts: ScheduleCounts) => {
        record = { ...record, counts: jobCounts(counts) };
        if (this.now() - lastSave < SAVE_EVERY_MS) return;
        lastSave = this.now();
        const snapshot = record;
        saving = saving.then(() => saveJob(this.home, snapshot)).catch(() => undefined);
      };
      result = await runBatchJob({
        batches,
        policy: { maxRetries: settings.max_retries, errorThreshold: settings.error_threshold },
        workers,
        // setTimeout fires at once past 2^31 - 1 ms (24.8 days): a longer timeout is that long.
        timeoutMs: Math.min(settings.timeout * 1000, MAX_TIMER_MS),
        launcher: options.launcher,
        appendRows: settings.output_action === 'append_row' ? (rows) => output.append(rows.map((row) => `${row}\n`).join('')) : undefined,
        log: (line) => void this.log(record.name, line),
        onProgress,
        signal,
      });
      await saving;
    } catch (error) {
      result = { status: 'Failed', counts: result.counts, error: `oep's job runner failed: ${(error as Error).message}` };
    } finally {
      // Whatever happened above, the job ends with a record that says how: never left Running.
      await output.close();
      const canceledBy = reason();
      const status = result.status === 'Canceled' && canceledBy?.startsWith('the oep daemon stopped') ? 'Failed' : result.status;
      const error = result.status === 'Failed' ? result.error : result.status === 'Canceled' ? canceledBy : undefined;
      record = { ...record, status, ended_at: this.stamp(), counts: jobCounts(result.counts), ...(error ? { error } : {}) };
      const c = record.counts;
      // The outcome line before the ended record: `job stream` stops reading once it sees the record ended.
      await this.log(record.name, `${status}: ${c.succeeded} of ${c.mini_batches} mini-batches succeeded, ${c.failed} failed; ${c.succeeded_items} items succeeded, ${c.failed_items} failed${error ? `; ${error}` : ''}`);
      this.openLogs.delete(record.name);
      await jobLog.close();
      await saveJob(this.home, record).catch(() => undefined);
    }
  }

  /** Appends a line to the job's log; lines are written in the order they are given. */
  private log(name: string, line: string): Promise<void> {
    const text = `${this.stamp()} ${line}\n`;
    const open = this.openLogs.get(name);
    const written = (this.logWrites.get(name) ?? Promise.resolve()).then(() => (open ? open.append(text) : appendFileNoFollow(jobLogFile(this.home, name), text)).catch(() => undefined));
    this.logWrites.set(name, written);
    void written.then(() => {
      if (this.logWrites.get(name) === written) this.logWrites.delete(name);
    });
    return written;
  }

  private stamp(): string {
    return new Date(this.now()).toISOString();
  }
}

function jobCounts(counts: ScheduleCounts): JobCounts {
  return {
    mini_batches: counts.miniBatches,
    succeeded: counts.succeeded,
    failed: counts.failed,
    running: counts.running,
    waiting: counts.waiting,
    succeeded_items: counts.succeededItems,
    failed_items: counts.failedItems,
  };
}
