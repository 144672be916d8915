/**
 * For the batch worker's tests: server/oep_batch.py started as the daemon's job runner starts it
 * (its environment, the code folder as working directory), driven over its protocol (JSON lines on
 * stdin and stdout, docs/batch.md "Worker protocol"), and gone after the test (stopBatchWorkers()).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchJobRecord, JobSettings } from '../../src/registry/jobs.js';
import { PYTHON, REPO_ROOT, type ExitInfo } from './harness.js';

export const BATCH_WORKER = join(REPO_ROOT, 'server', 'oep_batch.py');
export const BATCH_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'batch');

/** Waits for events, not budgets: generous enough for python starting in a container on a loaded machine. */
const EVENT_TIMEOUT_MS = 60_000;

/** Variables of the batch and scoring contracts that must not leak in from the shell running the tests. */
const CONTRACT_ENV = /^(AZUREML_|AML_|MLFLOW_|OEP_BATCH_|PYTHONPATH$|PYTHONUNBUFFERED$)/;

export interface BatchEvent {
  event: string;
  mini_batch?: number | null;
  rows?: string[];
  succeeded?: number;
  error?: string;
}

export interface BatchWorkerOptions {
  /** The scoring script's absolute path (OEP_BATCH_SCRIPT); none for an MLflow model. */
  script?: string;
  /** The working directory: the code folder (default: the script's folder, else the repository). */
  cwd?: string;
  /** The interpreter and its own environment (default: the suite's python3). */
  python?: { command: string; env: Record<string, string> };
  env?: Record<string, string>;
}

const live = new Set<BatchWorker>();

/** A running worker: its events as they come, requests sent, its log (stderr) and exit. */
export class BatchWorker {
  readonly exited: Promise<ExitInfo>;
  private readonly events: BatchEvent[] = [];
  /** How many lines of the protocol stream are parsed into events already. */
  private parsed = 0;
  private raw = '';
  private log = '';
  private waiting?: () => void;

  private constructor(
    readonly child: ChildProcess,
    /** The job's output folder (OEP_BATCH_OUTPUT_DIR), removed by stop(). */
    readonly outputDir: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.take(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.log += chunk;
    });
    this.exited = new Promise((done) => child.once('close', (code, signal) => done({ code, signal })));
    void this.exited.then(() => this.waiting?.());
    live.add(this);
  }

  static start(options: BatchWorkerOptions): BatchWorker {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!CONTRACT_ENV.test(name)) env[name] = value;
    const python = options.python ?? { command: PYTHON, env: {} };
    const cwd = options.cwd ?? (options.script ? join(options.script, '..') : REPO_ROOT);
    // The output folder is made before the process, as the runner makes the job's.
    const outputDir = mkdtempSync(join(tmpdir(), 'oep-batch-out-'));
    const child = spawn(python.command, [BATCH_WORKER], {
      cwd,
      env: {
        ...env,
        ...python.env,
        PYTHONDONTWRITEBYTECODE: '1',
        OEP_BATCH_OUTPUT_DIR: outputDir,
        ...(options.script && { OEP_BATCH_SCRIPT: options.script }),
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new BatchWorker(child, outputDir);
  }

  /** Everything the worker wrote to stderr: the log (the script's prints included). */
  get stderr(): string {
    return this.log;
  }

  /**
   * The log once it holds `pattern`: stderr and the protocol are two pipes, so a line logged
   * before an event may arrive after it. Fails after a minute with what the log holds.
   */
  async stderrMatching(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    while (!pattern.test(this.log)) {
      if (Date.now() > deadline) assert.fail(`the worker's log never matched ${pattern}:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.log;
  }

  /** The protocol stream as received, every byte (to check nothing but events is there). */
  get protocolText(): string {
    return this.raw;
  }

  /** The next event, in order; fails if the worker exits first or says nothing for a minute. */
  async next(): Promise<BatchEvent> {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    let ended = false;
    void this.exited.then(() => (ended = true));
    while (this.events.length === 0) {
      if (ended) assert.fail(`the worker exited before its next event; stdout:\n${this.raw}\nstderr:\n${this.log}`);
      if (Date.now() > deadline) assert.fail(`no event from the worker in ${EVENT_TIMEOUT_MS} ms; stderr:\n${this.log}`);
      await new Promise<void>((done) => {
        this.waiting = done;
        setTimeout(done, 50);
      });
    }
    return this.events.shift()!;
  }

  /** Sends one mini-batch and returns the event that answers it. */
  async score(miniBatch: number, files: string[]): Promise<BatchEvent> {
    this.child.stdin!.write(JSON.stringify({ mini_batch: miniBatch, files }) + '\n');
    return this.next();
  }

  /** Ends the worker's input (it calls shutdown() and exits) and waits for its exit. */
  async finish(): Promise<ExitInfo> {
    this.child.stdin!.end();
    return this.waitForExit();
  }

  /** Waits for the worker to exit by itself (SIGKILL after a minute, which the test then sees). */
  async waitForExit(): Promise<ExitInfo> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EVENT_TIMEOUT_MS);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  stop(): void {
    live.delete(this);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    rmSync(this.outputDir, { recursive: true, force: true });
  }

  private take(chunk: string): void {
    this.raw += chunk;
    // Complete lines only (the last piece is a line still arriving).
    const complete = this.raw.split('\n').slice(0, -1);
    for (const line of complete.slice(this.parsed)) {
      this.parsed += 1;
      this.events.push(parseEvent(line));
    }
    this.waiting?.();
  }
}

/** An event line; anything else becomes an event no test expects, so the test fails showing it. */
function parseEvent(line: string): BatchEvent {
  try {
    return JSON.parse(line) as BatchEvent;
  } catch {
    return { event: 'not a JSON line', error: line };
  }
}

/** Kills every worker a test left and removes its output folder (for afterEach). */
export function stopBatchWorkers(): void {
  for (const worker of [...live]) worker.stop();
}

process.on('exit', () => {
  for (const worker of live) worker.child.kill('SIGKILL');
});

/** Settings of a job the job-runner tests make (test/server/batch-jobs*.test.ts); each test changes what it needs. */
export const JOB_DEFAULTS: JobSettings = {
  mini_batch_size: 2,
  max_retries: 1,
  timeout: 30,
  error_threshold: -1,
  output_action: 'append_row',
  output_file_name: 'predictions.csv',
  instance_count: 1,
  max_concurrency_per_instance: 2,
  logging_level: 'info',
};

/**
 * A temporary home with an input folder of files (name -> line count) and a Queued job's record
 * over it; the caller removes the home. `paths`: the files, in the order of their mini-batches.
 */
export function jobSetUp(prefix: string, name: string, runtime: string, files: Record<string, number>, settings: Partial<JobSettings> = {}) {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const input = join(home, 'input');
  mkdirSync(input);
  for (const [file, lines] of Object.entries(files)) writeFileSync(join(input, file), 'x\n'.repeat(lines));
  const record: BatchJobRecord = {
    name,
    endpoint: 'heart',
    deployment: 'classifier',
    runtime,
    status: 'Queued',
    created_at: new Date().toISOString(),
    input: { type: 'uri_folder', path: input },
    settings: { ...JOB_DEFAULTS, ...settings },
    counts: { mini_batches: 0, succeeded: 0, failed: 0, running: 0, waiting: 0, succeeded_items: 0, failed_items: 0 },
  };
  return { home, input, record, paths: Object.keys(files).sort().map((file) => join(input, file)) };
}
