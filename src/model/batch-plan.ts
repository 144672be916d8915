/**
 * A batch job's mini-batches and what becomes of each: the pure part of the job runner
 * (src/supervisor/batch-runner.ts), which only starts workers, sends what this plan hands out and
 * reports back what the workers answered.
 *
 * Azure's rules (docs/batch.md): the input files are cut into mini-batches of `mini_batch_size`
 * files; a mini-batch whose run() raises, or does not answer within `retry_settings.timeout`
 * seconds, is tried again up to `retry_settings.max_retries` times; when it has failed every try,
 * its files count as failed items. `error_threshold` is the number of failed items the job
 * tolerates (-1: any number); one more and the job fails, with the mini-batches still running or
 * waiting abandoned.
 */

export interface MiniBatch {
  /** 0-based, in the order of the input files. */
  readonly index: number;
  readonly files: readonly string[];
}

export interface SchedulePolicy {
  /** Tries after the first (retry_settings.max_retries). */
  readonly maxRetries: number;
  /** Failed items the job tolerates; -1 for any number (error_threshold). */
  readonly errorThreshold: number;
}

/** What the job has come to, once nothing runs or waits, or the threshold is passed. */
export type ScheduleOutcome = { status: 'Completed' } | { status: 'Failed'; reason: string };

export interface ScheduleCounts {
  readonly miniBatches: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly running: number;
  readonly waiting: number;
  readonly succeededItems: number;
  readonly failedItems: number;
}

/** Cuts the input files into mini-batches of `size` files, in order; the last may be shorter. */
export function splitMiniBatches(files: readonly string[], size: number): MiniBatch[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`mini_batch_size must be a whole number >= 1, not ${size}`);
  const batches: MiniBatch[] = [];
  for (let start = 0; start < files.length; start += size) batches.push({ index: batches.length, files: files.slice(start, start + size) });
  return batches;
}

/**
 * The state of a job's mini-batches. Each is waiting, running (with its try number) or ended
 * (succeeded or failed for good). A retried mini-batch goes to the front of the queue, so that a
 * failure is known before the rest of the input has run.
 */
export class MiniBatchSchedule {
  private readonly waiting: number[];
  private readonly running = new Map<number, number>();
  private readonly tries = new Map<number, number>();
  private readonly errors = new Map<number, string>();
  private succeededBatches = 0;
  private failedBatches = 0;
  private succeededItems = 0;
  private failedItems = 0;
  private thresholdPassed: string | undefined;

  constructor(
    private readonly batches: readonly MiniBatch[],
    private readonly policy: SchedulePolicy,
  ) {
    this.waiting = batches.map((batch) => batch.index);
  }

  /** The next mini-batch for a free worker, or undefined when none waits (or the job has failed). */
  next(): MiniBatch | undefined {
    if (this.thresholdPassed !== undefined) return undefined;
    const index = this.waiting.shift();
    if (index === undefined) return undefined;
    this.running.set(index, (this.tries.get(index) ?? 0) + 1);
    this.tries.set(index, this.running.get(index)!);
    return this.batches[index];
  }

  /**
   * run() answered for a mini-batch. `succeededItems`: the items its answer counts (Azure: the
   * rows returned, at most the files given); the rest of its files count as failed items.
   */
  succeed(index: number, succeededItems: number): void {
    this.endRun(index);
    const size = this.batches[index].files.length;
    const counted = Math.max(0, Math.min(size, succeededItems));
    this.succeededBatches += 1;
    this.succeededItems += counted;
    this.addFailedItems(size - counted, `mini-batch ${index} returned ${counted} results for ${size} files`);
  }

  /**
   * A try of a mini-batch failed (run() raised, timed out, or its worker died). Returns whether
   * it will be tried again; when not, its files are failed items.
   */
  fail(index: number, error: string): boolean {
    const tries = this.endRun(index);
    this.errors.set(index, error);
    if (tries <= this.policy.maxRetries && this.thresholdPassed === undefined) {
      this.waiting.unshift(index);
      return true;
    }
    this.failedBatches += 1;
    this.addFailedItems(this.batches[index].files.length, `mini-batch ${index} failed after ${tries} ${tries === 1 ? 'try' : 'tries'}: ${firstLine(error)}`);
    return false;
  }

  /**
   * A mini-batch handed out but never started (queued on a worker that was then replaced): back
   * to the front of the queue, its try not counted.
   */
  giveBack(index: number): void {
    const tries = this.endRun(index);
    if (tries <= 1) this.tries.delete(index);
    else this.tries.set(index, tries - 1);
    if (this.thresholdPassed === undefined) this.waiting.unshift(index);
  }

  /** The try number of a running mini-batch (1 for the first). */
  tryOf(index: number): number {
    return this.running.get(index) ?? this.tries.get(index) ?? 0;
  }

  /** The last error of a mini-batch, if any try of it failed. */
  lastError(index: number): string | undefined {
    return this.errors.get(index);
  }

  counts(): ScheduleCounts {
    return {
      miniBatches: this.batches.length,
      succeeded: this.succeededBatches,
      failed: this.failedBatches,
      running: this.running.size,
      waiting: this.thresholdPassed === undefined ? this.waiting.length : 0,
      succeededItems: this.succeededItems,
      failedItems: this.failedItems,
    };
  }

  /**
   * The job's end, once it has one: Failed as soon as the failed items pass the threshold (what
   * still runs is abandoned), otherwise Completed when nothing runs or waits.
   */
  outcome(): ScheduleOutcome | undefined {
    if (this.thresholdPassed !== undefined) return { status: 'Failed', reason: this.thresholdPassed };
    if (this.running.size > 0 || this.waiting.length > 0) return undefined;
    return { status: 'Completed' };
  }

  private endRun(index: number): number {
    const tries = this.running.get(index);
    if (tries === undefined) throw new Error(`mini-batch ${index} is not running`);
    this.running.delete(index);
    return tries;
  }

  private addFailedItems(count: number, why: string): void {
    if (count === 0) return;
    this.failedItems += count;
    const threshold = this.policy.errorThreshold;
    if (threshold >= 0 && this.failedItems > threshold && this.thresholdPassed === undefined) {
      this.thresholdPassed = `${this.failedItems} failed ${this.failedItems === 1 ? 'item' : 'items'}, more than error_threshold ${threshold} (${why})`;
    }
  }
}

function firstLine(text: string): string {
  const lines = text.trim().split('\n');
  // A Python traceback's last line says what was raised.
  return lines[lines.length - 1] ?? '';
}
