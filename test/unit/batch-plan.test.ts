import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MiniBatchSchedule, splitMiniBatches } from '../../src/model/batch-plan.js';

const files = (count: number) => Array.from({ length: count }, (_, i) => `/in/${i}.csv`);

describe('splitMiniBatches', () => {
  it('cuts the files in order, the last mini-batch shorter', () => {
    assert.deepEqual(splitMiniBatches(files(5), 2), [
      { index: 0, files: ['/in/0.csv', '/in/1.csv'] },
      { index: 1, files: ['/in/2.csv', '/in/3.csv'] },
      { index: 2, files: ['/in/4.csv'] },
    ]);
    assert.deepEqual(splitMiniBatches([], 10), []);
    assert.equal(splitMiniBatches(files(10), 10).length, 1);
  });

  it('refuses a size below 1', () => {
    assert.throws(() => splitMiniBatches(files(3), 0), RangeError);
    assert.throws(() => splitMiniBatches(files(3), 1.5), RangeError);
  });
});

describe('MiniBatchSchedule', () => {
  it('hands out every mini-batch once and completes when all answered', () => {
    const schedule = new MiniBatchSchedule(splitMiniBatches(files(5), 2), { maxRetries: 3, errorThreshold: -1 });
    assert.equal(schedule.next()?.index, 0);
    assert.equal(schedule.next()?.index, 1);
    assert.equal(schedule.outcome(), undefined);
    schedule.succeed(1, 2);
    assert.equal(schedule.next()?.index, 2);
    assert.equal(schedule.next(), undefined);
    schedule.succeed(0, 2);
    schedule.succeed(2, 1);
    assert.deepEqual(schedule.outcome(), { status: 'Completed' });
    assert.deepEqual(schedule.counts(), { miniBatches: 3, succeeded: 3, failed: 0, running: 0, waiting: 0, succeededItems: 5, failedItems: 0 });
  });

  it('tries a failed mini-batch again first, up to max_retries, then counts its files failed', () => {
    const schedule = new MiniBatchSchedule(splitMiniBatches(files(4), 2), { maxRetries: 1, errorThreshold: -1 });
    const first = schedule.next()!;
    assert.equal(schedule.tryOf(first.index), 1);
    assert.equal(schedule.fail(first.index, 'Traceback ...\nValueError: bad'), true);
    const again = schedule.next()!;
    assert.equal(again.index, 0, 'the retry goes before mini-batch 1');
    assert.equal(schedule.tryOf(0), 2);
    assert.equal(schedule.fail(0, 'ValueError: bad'), false);
    assert.equal(schedule.lastError(0), 'ValueError: bad');
    schedule.succeed(schedule.next()!.index, 2);
    assert.deepEqual(schedule.outcome(), { status: 'Completed' }, 'error_threshold -1 tolerates any number');
    assert.equal(schedule.counts().failedItems, 2);
    assert.equal(schedule.counts().failed, 1);
  });

  it('fails the job when the failed items pass error_threshold, and hands out nothing more', () => {
    const schedule = new MiniBatchSchedule(splitMiniBatches(files(6), 2), { maxRetries: 0, errorThreshold: 1 });
    const a = schedule.next()!;
    const b = schedule.next()!;
    assert.equal(schedule.fail(a.index, 'RuntimeError: boom'), false);
    const outcome = schedule.outcome();
    assert.equal(outcome?.status, 'Failed');
    assert.match((outcome as { reason: string }).reason, /2 failed items, more than error_threshold 1 \(mini-batch 0 failed after 1 try: RuntimeError: boom\)/);
    assert.equal(schedule.next(), undefined);
    assert.equal(schedule.counts().waiting, 0);
    // What was running when the threshold passed may still answer; it changes nothing of the end.
    schedule.succeed(b.index, 2);
    assert.equal(schedule.outcome()?.status, 'Failed');
  });

  it('an error_threshold equal to the failed items is not passed', () => {
    const schedule = new MiniBatchSchedule(splitMiniBatches(files(4), 2), { maxRetries: 0, errorThreshold: 2 });
    schedule.fail(schedule.next()!.index, 'x');
    schedule.succeed(schedule.next()!.index, 2);
    assert.deepEqual(schedule.outcome(), { status: 'Completed' });
  });

  it('counts the files a run() left without a result as failed items', () => {
    const schedule = new MiniBatchSchedule(splitMiniBatches(files(3), 3), { maxRetries: 0, errorThreshold: 0 });
    schedule.succeed(schedule.next()!.index, 2);
    assert.equal(schedule.counts().succeededItems, 2);
    assert.equal(schedule.counts().failedItems, 1);
    assert.match((schedule.outcome() as { reason: string }).reason, /returned 2 results for 3 files/);
  });

  it('refuses an answer for a mini-batch that is not running', () => {
    const schedule = new MiniBatchSchedule(splitMiniBatches(files(2), 1), { maxRetries: 0, errorThreshold: -1 });
    assert.throws(() => schedule.succeed(0, 1), /not running/);
  });
});
