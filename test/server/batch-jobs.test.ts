/**
 * The daemon's job runner with real workers: BatchJobs (src/supervisor/batch-jobs.ts) driving
 * server/oep_batch.py processes through the process runtime's launcher, on files a test writes.
 * What a user sees of a job: its record, its output file, its log.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createJob, jobLogDir, jobLogFile, jobOutputDir, readJob, type BatchJobRecord, type JobSettings } from '../../src/registry/jobs.js';
import { processWorkerLauncher } from '../../src/runtimes/process/batch-worker.js';
import { BatchJobs } from '../../src/supervisor/batch-jobs.js';
import { BATCH_FIXTURES, BATCH_WORKER, jobSetUp } from './batch-support.js';
import { PYTHON } from './harness.js';

const homes: string[] = [];
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** A home, input files (name -> line count) and a job record for the list-driver fixture. */
function setUp(files: Record<string, number>, settings: Partial<JobSettings> = {}) {
  const made = jobSetUp('oep-batch-jobs-', `batchjob-${homes.length + 1}`, 'process', files, settings);
  homes.push(made.home);
  return made;
}

function launcherFor(home: string, record: BatchJobRecord, fixture = 'list-driver', extraEnv: Record<string, string> = {}) {
  const code = join(BATCH_FIXTURES, fixture);
  return processWorkerLauncher({
    python: PYTHON,
    args: [BATCH_WORKER],
    cwd: code,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? home,
      OEP_BATCH_SCRIPT: join(code, 'batch_driver.py'),
      OEP_BATCH_OUTPUT_DIR: jobOutputDir(home, record.name),
      OEP_BATCH_LOGGING_LEVEL: record.settings.logging_level,
      ...extraEnv,
    },
    logFile: (slot) => join(jobLogDir(home, record.name), `worker-${slot}.log`),
  });
}

async function ended(home: string, name: string, jobs: BatchJobs): Promise<BatchJobRecord> {
  while (jobs.isRunning(name)) await new Promise((resolve) => setTimeout(resolve, 20));
  return (await readJob(home, name))!;
}

describe('batch jobs with real workers (process runtime)', () => {
  it('runs every mini-batch and writes one row per file to the output file', async () => {
    const { home, record, paths } = setUp({ 'a.csv': 1, 'b.csv': 2, 'c.csv': 3, 'd.csv': 4, 'e.csv': 5 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, record) });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Completed', readFileSync(jobLogFile(home, record.name), 'utf8'));
    assert.deepEqual(done.counts, { mini_batches: 3, succeeded: 3, failed: 0, running: 0, waiting: 0, succeeded_items: 5, failed_items: 0 });
    const rows = readFileSync(join(jobOutputDir(home, record.name), 'predictions.csv'), 'utf8').trim().split('\n').sort();
    assert.equal(rows.length, 5);
    assert.match(rows[0]!, /a\.csv/);
    assert.ok(done.started_at && done.ended_at);
    // shutdown() ran on each worker once the input was done.
    assert.equal(readFileSync(join(jobOutputDir(home, record.name), 'shutdown.txt'), 'utf8'), 'shutdown called\n');
    const workerLog = readFileSync(join(jobLogDir(home, record.name), 'worker-0.log'), 'utf8');
    assert.match(workerLog, /init: logging_level=INFO/);
    assert.match(readFileSync(jobLogFile(home, record.name), 'utf8'), /Completed: 3 of 3 mini-batches succeeded, 0 failed; 5 items succeeded, 0 failed/);
  });

  it('a mini-batch that fails every try fails its files; past error_threshold the job fails', async () => {
    const { home, record, paths } = setUp({ 'a.csv': 1, 'bad1.csv': 1, 'c.csv': 1, 'd.csv': 1 }, { error_threshold: 1, max_retries: 1, max_concurrency_per_instance: 1 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, record) });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Failed');
    assert.match(done.error ?? '', /2 failed items, more than error_threshold 1 \(mini-batch 0 failed after 2 tries: ValueError: cannot score bad1.csv\)/);
    const log = readFileSync(jobLogFile(home, record.name), 'utf8');
    assert.match(log, /mini-batch 0 failed \(worker 0, try 1, will be tried again\): ValueError: cannot score bad1.csv/);
    assert.match(log, /mini-batch 0 failed \(worker 0, try 2, no tries left\)/);
  });

  it('the same failure under error_threshold -1: the job completes with the failed items counted', async () => {
    const { home, record, paths } = setUp({ 'a.csv': 1, 'bad1.csv': 1, 'c.csv': 1, 'skip.csv': 1 }, { max_retries: 0, max_concurrency_per_instance: 1 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, record) });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Completed');
    // a.csv + bad1.csv fail together; c.csv is scored, skip.csv gets no result.
    assert.equal(done.counts.failed_items, 3);
    assert.equal(done.counts.succeeded_items, 1);
  });

  it('init() failing: the job fails with the script error, no output rows', async () => {
    const { home, record, paths } = setUp({ 'a.csv': 1 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, record, 'init-fails') });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Failed');
    assert.match(done.error ?? '', /init\(\) failed on worker 0/);
  });

  it('a cancel ends the workers and the job is Canceled', async () => {
    const { home, record, paths } = setUp({ 'a.csv': 1, 'b.csv': 1 }, { mini_batch_size: 1, max_concurrency_per_instance: 1 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    const code = join(home, 'slow');
    mkdirSync(code);
    writeFileSync(join(code, 'batch_driver.py'), 'import time\n\ndef init():\n    pass\n\ndef run(mini_batch):\n    time.sleep(600)\n    return mini_batch\n');
    const launcher = processWorkerLauncher({
      python: PYTHON,
      args: [BATCH_WORKER],
      cwd: code,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OEP_BATCH_SCRIPT: join(code, 'batch_driver.py'), OEP_BATCH_OUTPUT_DIR: jobOutputDir(home, record.name) },
      logFile: (slot) => join(jobLogDir(home, record.name), `worker-${slot}.log`),
    });
    jobs.submit(record, { files: paths, launcher });
    while ((await readJob(home, record.name))?.status !== 'Running') await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(jobs.cancel(record.name), true);
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Canceled');
    assert.match(done.error ?? '', /canceled by `oep job cancel`/);
  });

  it('an interpreter that does not exist fails the job saying so (the daemon goes on)', async () => {
    const { home, record, paths } = setUp({ 'a.csv': 1 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    const code = join(BATCH_FIXTURES, 'list-driver');
    const launcher = processWorkerLauncher({
      python: join(home, 'no-such-python3'),
      args: [BATCH_WORKER],
      cwd: code,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OEP_BATCH_SCRIPT: join(code, 'batch_driver.py'), OEP_BATCH_OUTPUT_DIR: jobOutputDir(home, record.name) },
      logFile: (slot) => join(jobLogDir(home, record.name), `worker-${slot}.log`),
    });
    jobs.submit(record, { files: paths, launcher });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Failed');
    assert.match(done.error ?? '', /the Python interpreter ".*no-such-python3" was not found/);
  });

  it('a job an earlier daemon left Running is Failed at the next start, never left Running', async () => {
    const { home, record } = setUp({ 'a.csv': 1 });
    await createJob(home, { ...record, status: 'Running' });
    assert.equal(await new BatchJobs(home).failLeftovers(), 1);
    const left = await readJob(home, record.name);
    assert.equal(left?.status, 'Failed');
    assert.match(left?.error ?? '', /daemon ended while the job ran/);
  });
});
