/**
 * Batch jobs (issue 29 point 4): what oep's job runner costs per mini-batch, and the throughput
 * of 1, 2, 4 workers, each against the same scoring script's init() and run() in a plain Python
 * loop in one process, over the same files, in the same run (bench/README.md "Batch jobs").
 *
 * oep's side is the daemon's own path without the CLI and the socket: the job's record
 * (createJob), the process runtime's launch (batchProcessLaunch) and BatchJobs.submit with
 * processWorkerLauncher, i.e. server/oep_batch.py workers fed over their protocol.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchDeploymentSpec } from '../src/spec/batch-types.js';
import { createJob, jobDir, jobLogDir, jobLogFile, jobOutputDir, readJob, type BatchJobRecord } from '../src/registry/jobs.js';
import { BATCH_WORKER, batchProcessLaunch } from '../src/runtimes/process/batch-launch.js';
import { processWorkerLauncher } from '../src/runtimes/process/batch-worker.js';
import type { WorkerLauncher } from '../src/runtimes/types.js';
import { BatchJobs } from '../src/supervisor/batch-jobs.js';
import { CLK_TCK, Cleanups, HAVE_PROC, median, procStatFields, REPO_ROOT } from './harness.js';

const FILES = positive('BENCH_FILES', 2000);
const ROUNDS = positive('BENCH_ROUNDS', 3);
/** (a): mini_batch_size values, 1 worker. */
const SIZES = list('BENCH_SIZES', '1,10');
/** (b): worker counts, and the mini_batch_size they use. */
const WORKERS = list('BENCH_WORKERS', '1,2,4');
const CPU_BATCH = positive('BENCH_CPU_BATCH', 10);
/** (b): how many times run() goes over each file's columns (about 0.05 ms each here; 60 makes ~3 ms a file). */
const PASSES = positive('BENCH_PASSES', 60);
const PYTHON = process.env.BENCH_PYTHON ?? 'python3';
/** No job may run longer than this: the bench fails rather than waiting for ever. */
const JOB_LIMIT_MS = 300_000;

const FIXTURES = join(REPO_ROOT, 'bench', 'fixtures', 'batch');
const PLAIN_LOOP = join(FIXTURES, 'plain_loop.py');

/** A scoring script of the bench and the variables its init() reads. */
interface Script {
  code: string;
  env: Record<string, string>;
}

const ECHO: Script = { code: join(FIXTURES, 'echo'), env: {} };
const CPU: Script = { code: join(FIXTURES, 'cpu'), env: { BENCH_PASSES: String(PASSES) } };

/** One oep job, timed. */
interface OepRun {
  /** createJob to Completed (record, launch, worker start, init(), every mini-batch, shutdown()). */
  jobMs: number;
  /** The first worker's start (spawn) to its ready (Python, oep_batch, the script's init()). */
  startMs: number;
  /** The first worker's ready to the last mini-batch's answer: the runner's own mini-batch time. */
  runnerMs: number;
  miniBatches: number;
  /** CPU time of the whole job: this process (the runner) and its workers, user + system. */
  cpuMs: number;
  rows: string[];
}

/** server/oep_batch.py alone, every request on its stdin at once (no round trips). */
interface WorkerAloneRun {
  /** Its first line (ready) to its exit: every mini-batch answered, then shutdown(). */
  requestsMs: number;
}

/** (a)'s runs of one mini_batch_size. */
interface OverheadRuns {
  oep: OepRun[];
  plain: PlainRun[];
  alone: WorkerAloneRun[];
}

/** The plain loop's run, timed. */
interface PlainRun {
  /** Spawn to exit: the interpreter's start, the import, init(), the loop. */
  processMs: number;
  /** The loop alone (every run() and its rows written), as the loop times it. */
  loopMs: number;
  /** CPU time of the loop's process, user + system. */
  cpuMs: number;
  rows: string[];
}

const cleanups = new Cleanups();
const root = mkdtempSync(join(tmpdir(), 'oep-bench-batch-'));
cleanups.add(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, 'home');
const model = join(root, 'model');
mkdirSync(home, { mode: 0o700 });
mkdirSync(model);
const inputs = writeInputs(join(root, 'input'), FILES);
const listing = join(root, 'files.txt');
writeFileSync(listing, inputs.join('\n'));
const jobs = new BatchJobs(home);
let jobCount = 0;

console.log(`batch: ${FILES} CSV files, ${ROUNDS} rounds, python ${PYTHON}; load average at start ${loadText()}`);
const overhead = await measureOverhead();
const throughput = await measureThroughput();
printOverhead(overhead);
printThroughput(throughput);
console.log(`load average at end ${loadText()}`);

/** (a): the echo script, one worker, each mini_batch_size; oep and the loop alternate first. */
async function measureOverhead(): Promise<Map<number, OverheadRuns>> {
  const results = new Map(SIZES.map((size) => [size, { oep: [] as OepRun[], plain: [] as PlainRun[], alone: [] as WorkerAloneRun[] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      const pair = await runPair(ECHO, size, 1, round);
      results.get(size)!.oep.push(pair.oep);
      results.get(size)!.plain.push(pair.plain);
      results.get(size)!.alone.push(await runWorkerAlone(ECHO, size));
    }
  }
  return results;
}

/** (b): the CPU script with each worker count; the plain loop once per round. */
async function measureThroughput(): Promise<{ oep: Map<number, OepRun[]>; plain: PlainRun[] }> {
  const oep = new Map(WORKERS.map((workers) => [workers, [] as OepRun[]]));
  const plain: PlainRun[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = rotate(WORKERS, round);
    plain.push(runPlain(CPU, CPU_BATCH));
    for (const workers of order) oep.get(workers)!.push(await runOep(CPU, CPU_BATCH, workers));
  }
  return { oep, plain };
}

/** oep and the plain loop over the same files; who goes first alternates by round (their rows are compared when printed). */
async function runPair(script: Script, size: number, workers: number, round: number): Promise<{ oep: OepRun; plain: PlainRun }> {
  let plain: PlainRun | undefined;
  if (round % 2 === 1) plain = runPlain(script, size);
  const oep = await runOep(script, size, workers);
  plain ??= runPlain(script, size);
  return { oep, plain };
}

/** One job on BatchJobs, as the daemon's invoke starts it; fails unless every file succeeded. */
async function runOep(script: Script, size: number, workers: number): Promise<OepRun> {
  const name = `bench-${++jobCount}`;
  const record = jobRecord(name, size, workers);
  const marks: Marks = {};
  const cpuBefore = cpuWithChildrenMs();
  const started = performance.now();
  await createJob(home, record);
  const launch = await batchProcessLaunch({
    spec: deploymentSpec(script, size, workers),
    python: PYTHON,
    jobDir: jobDir(home, name),
    outputDir: jobOutputDir(home, name),
    logDir: jobLogDir(home, name),
  });
  jobs.submit(record, { files: inputs, launcher: timedLauncher(processWorkerLauncher(launch), marks) });
  while (jobs.isRunning(name)) {
    if (performance.now() - started > JOB_LIMIT_MS) throw new Error(`job ${name} ran longer than ${JOB_LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const jobMs = performance.now() - started;
  const cpuMs = cpuWithChildrenMs() - cpuBefore;
  const done = (await readJob(home, name))!;
  if (done.status !== 'Completed' || done.counts.succeeded_items !== FILES) {
    throw new Error(`job ${name} ended ${done.status} with ${done.counts.succeeded_items} of ${FILES} items:\n${readFileSync(jobLogFile(home, name), 'utf8')}`);
  }
  const rows = lines(readFileSync(join(jobOutputDir(home, name), 'predictions.csv'), 'utf8'));
  return { jobMs, startMs: marks.firstReady! - marks.firstStart!, runnerMs: marks.lastDone! - marks.firstReady!, miniBatches: done.counts.mini_batches, cpuMs, rows };
}

/** bench/fixtures/batch/plain_loop.py with the same script, files and mini-batch size. */
function runPlain(script: Script, size: number): PlainRun {
  const output = join(root, 'plain-output.txt');
  rmSync(output, { force: true });
  const cpuBefore = cpuWithChildrenMs();
  const started = performance.now();
  const result = spawnSync(PYTHON, [PLAIN_LOOP, join(script.code, 'score.py'), String(size), listing, output], {
    env: { ...process.env, ...script.env, PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
    timeout: JOB_LIMIT_MS,
  });
  const processMs = performance.now() - started;
  const cpuMs = cpuWithChildrenMs() - cpuBefore;
  if (result.status !== 0) throw new Error(`the plain loop failed (${result.status ?? result.signal}): ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { loop_ms: number; rows: number };
  const rows = lines(readFileSync(output, 'utf8'));
  if (report.rows !== FILES || rows.length !== FILES) throw new Error(`the plain loop wrote ${rows.length} rows for ${FILES} files`);
  return { processMs, loopMs: report.loop_ms, cpuMs, rows };
}

/**
 * The worker's own cost per mini-batch, without the runner: every request is on its stdin before
 * it starts (they queue there, as the protocol allows), so from its ready line to its exit it only
 * reads requests, calls run(), formats rows and writes answers: no round trips.
 */
async function runWorkerAlone(script: Script, size: number): Promise<WorkerAloneRun> {
  const requests: string[] = [];
  for (let start = 0, index = 0; start < inputs.length; start += size, index++) {
    requests.push(`${JSON.stringify({ mini_batch: index, files: inputs.slice(start, start + size) })}\n`);
  }
  const output = join(root, 'worker-alone');
  mkdirSync(output, { recursive: true });
  const child = spawn(PYTHON, [BATCH_WORKER], {
    cwd: script.code,
    env: { ...process.env, ...script.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', OEP_BATCH_SCRIPT: join(script.code, 'score.py'), OEP_BATCH_OUTPUT_DIR: output },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = () => child.kill('SIGKILL');
  cleanups.add(stop);
  child.stdin.end(requests.join(''));
  let ready: number | undefined;
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    ready ??= performance.now();
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const ended = performance.now();
  cleanups.remove(stop);
  const done = lines(stdout).filter((line) => (JSON.parse(line) as { event: string }).event === 'done').length;
  if (code !== 0 || done !== requests.length || ready === undefined) throw new Error(`the worker alone answered ${done} of ${requests.length} mini-batches (exit ${code})`);
  return { requestsMs: ended - ready };
}

/** When the job's workers started, were ready and last answered (for runner-only times). */
interface Marks {
  firstStart?: number;
  firstReady?: number;
  lastDone?: number;
}

/** The launcher, with the moments its workers start, say ready and answer a mini-batch noted in `marks`. */
function timedLauncher(launcher: WorkerLauncher, marks: Marks): WorkerLauncher {
  return {
    async start(slot) {
      marks.firstStart ??= performance.now();
      const worker = await launcher.start(slot);
      return {
        send: (batch) => worker.send(batch),
        onMessage: (listener) =>
          worker.onMessage((message) => {
            if (message.event === 'ready') marks.firstReady ??= performance.now();
            if (message.event === 'done') marks.lastDone = performance.now();
            listener(message);
          }),
        ended: worker.ended,
        finish: () => worker.finish(),
        kill: () => worker.kill(),
      };
    },
  };
}

function jobRecord(name: string, size: number, workers: number): BatchJobRecord {
  return {
    name,
    endpoint: 'bench',
    deployment: 'bench',
    runtime: 'process',
    status: 'Queued',
    created_at: new Date().toISOString(),
    input: { type: 'uri_folder', path: join(root, 'input') },
    settings: {
      mini_batch_size: size,
      max_retries: 0,
      timeout: 60,
      error_threshold: -1,
      output_action: 'append_row',
      output_file_name: 'predictions.csv',
      instance_count: 1,
      max_concurrency_per_instance: workers,
      logging_level: 'info',
    },
    counts: { mini_batches: 0, succeeded: 0, failed: 0, running: 0, waiting: 0, succeeded_items: 0, failed_items: 0 },
  };
}

/** A batch deployment with Azure's defaults, as the spec loader would give it for the bench's YAML. */
function deploymentSpec(script: Script, size: number, workers: number): BatchDeploymentSpec {
  return {
    name: 'bench',
    endpoint_name: 'bench',
    tags: {},
    model: { name: 'bench', version: '1', path: model },
    code_configuration: { code: script.code, scoring_script: 'score.py' },
    compute: 'azureml:cpu-cluster',
    resources: { instance_count: 1 },
    max_concurrency_per_instance: workers,
    mini_batch_size: size,
    output_action: 'append_row',
    output_file_name: 'predictions.csv',
    retry_settings: { max_retries: 0, timeout: 60 },
    error_threshold: -1,
    logging_level: 'info',
    environment_variables: script.env,
  };
}

/** `count` small CSV files (a header, 100 rows of 4 numbers; the same numbers every run); their paths in order. */
function writeInputs(dir: string, count: number): string[] {
  mkdirSync(dir);
  let seed = 29;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return ((seed / 2147483648) * 100).toFixed(3);
  };
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `part-${String(i).padStart(5, '0')}.csv`);
    let text = 'a,b,c,d\n';
    for (let row = 0; row < 100; row++) text += `${next()},${next()},${next()},${next()}\n`;
    writeFileSync(path, text);
    paths.push(path);
  }
  return paths;
}

function printOverhead(results: Map<number, OverheadRuns>): void {
  console.log(`\n(a) run() returns at once, 1 worker; medians of ${ROUNDS}; (per mini-batch) = time / mini-batches`);
  console.log('mini_batch_size | mini-batches | oep job | oep worker start->ready | oep runner (ready->last answer) | plain process | plain loop | runner - loop, a mini-batch | worker alone, a mini-batch | CPU oep job / plain process (per mini-batch)');
  for (const [size, { oep, plain, alone }] of results) {
    checkSameRows(oep, plain);
    const batches = oep[0]!.miniBatches;
    const runner = median(oep.map((r) => r.runnerMs));
    const loop = median(plain.map((r) => r.loopMs));
    const cpuOep = median(oep.map((r) => r.cpuMs));
    const cpuPlain = median(plain.map((r) => r.cpuMs));
    console.log(
      [
        size,
        batches,
        perBatch(median(oep.map((r) => r.jobMs)), batches),
        ms(median(oep.map((r) => r.startMs))),
        perBatch(runner, batches),
        perBatch(median(plain.map((r) => r.processMs)), batches),
        perBatch(loop, batches),
        `${(((runner - loop) / batches) * 1000).toFixed(0)} us`,
        `${((median(alone.map((r) => r.requestsMs)) / batches) * 1000).toFixed(0)} us`,
        `${perBatch(cpuOep, batches)} / ${perBatch(cpuPlain, batches)}`,
      ].join(' | '),
    );
  }
}

function printThroughput(results: { oep: Map<number, OepRun[]>; plain: PlainRun[] }): void {
  const plainProcess = filesPerSecond(median(results.plain.map((r) => r.processMs)));
  const plainLoop = filesPerSecond(median(results.plain.map((r) => r.loopMs)));
  const perFile = median(results.plain.map((r) => r.loopMs)) / FILES;
  const plainCpu = median(results.plain.map((r) => r.cpuMs)) / FILES;
  console.log(`\n(b) run() with CPU work (BENCH_PASSES ${PASSES}: ${perFile.toFixed(2)} ms a file in the plain loop), mini_batch_size ${CPU_BATCH}; medians of ${ROUNDS}`);
  console.log(`plain loop, 1 process: ${plainProcess.toFixed(0)} files/s (spawn to exit), ${plainLoop.toFixed(0)} files/s (loop only), CPU ${plainCpu.toFixed(2)} ms a file`);
  console.log('workers | oep files/s (job) | vs plain process | oep files/s (runner: first ready->last answer) | vs plain loop | oep CPU a file (runner + workers)');
  for (const [workers, runs] of results.oep) {
    checkSameRows(runs, results.plain);
    const job = filesPerSecond(median(runs.map((r) => r.jobMs)));
    const runner = filesPerSecond(median(runs.map((r) => r.runnerMs)));
    const cpu = median(runs.map((r) => r.cpuMs)) / FILES;
    console.log(`${workers} | ${job.toFixed(0)} | ${(job / plainProcess).toFixed(2)}x | ${runner.toFixed(0)} | ${(runner / plainLoop).toFixed(2)}x | ${cpu.toFixed(2)} ms`);
  }
}

/** oep wrote what the plain loop wrote (in any order: workers finish mini-batches out of order). */
function checkSameRows(oep: OepRun[], plain: PlainRun[]): void {
  const expected = [...plain[0]!.rows].sort().join('\n');
  for (const run of [...oep, ...plain]) {
    if ([...run.rows].sort().join('\n') !== expected) throw new Error('oep and the plain loop wrote different rows for the same files');
  }
}

/**
 * CPU time of this process and of the children it has reaped (the workers, the plain loop), in ms:
 * steadier than wall time on a shared machine. NaN without /proc.
 */
function cpuWithChildrenMs(): number {
  const fields = HAVE_PROC ? procStatFields('self') : undefined;
  if (!fields) return Number.NaN;
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return ((utime! + stime! + cutime! + cstime!) / CLK_TCK) * 1000;
}

function filesPerSecond(totalMs: number): number {
  return FILES / (totalMs / 1000);
}

function perBatch(totalMs: number, batches: number): string {
  return `${ms(totalMs)} (${((totalMs / batches) * 1000).toFixed(0)} us)`;
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

function rotate<T>(values: readonly T[], by: number): T[] {
  const at = by % values.length;
  return [...values.slice(at), ...values.slice(0, at)];
}

function loadText(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number above 0, not ${process.env[name]}`);
  return value;
}

function list(name: string, fallback: string): number[] {
  const values = (process.env[name] ?? fallback).split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`${name} must be whole numbers above 0, separated by commas`);
  return values;
}
