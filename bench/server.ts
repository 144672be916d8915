/**
 * Scoring server benchmark (issue 5, "Done when"): in one run on this machine, oep's scoring server
 * (server/oep_server.py) against gunicorn + Flask (the stack azmlinfsrv runs on) serving the same
 * scoring script through a minimal wrapper. POST /score requests per second and p50/p99 latency, for
 * a trivial script and for the scikit-learn example, with WORKER_COUNT=1 and 2.
 *
 *   npm run build && node dist/bench/server.js
 *
 * Needs wrk, and a python3 with Flask, gunicorn, scikit-learn, joblib and numpy (Debian:
 * apt-get install -y wrk gunicorn python3-flask python3-sklearn python3-joblib python3-numpy);
 * it says so and stops when they are missing. Both servers run on that same interpreter.
 * Everything binds 127.0.0.1; every process it starts (each in its own process group) is stopped
 * at the end, on failure too.
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_SECONDS (5, per load run), BENCH_CONNECTIONS (4),
 * BENCH_LATENCY_SECONDS (3, per one-connection run; 0 skips them), BENCH_PYTHON (the interpreter;
 * default: /usr/bin/python3 when it has the packages, else python3), BENCH_ONLY (comma-separated
 * case names, e.g. sklearn-w2), BENCH_GUNICORN_ACCESS_LOG (1; 0 runs gunicorn without the access log
 * that azmlinfsrv turns on), BENCH_PINNED (1; 0 leaves out the runs of oep pinned to one CPU),
 * BENCH_BEFORE (a commit: its server/ is measured too, unpinned and pinned, for before/after figures
 * in the same run), BENCH_JSON (write the results there too).
 *
 * Method. Every server (2 scripts x 2 worker counts x the stacks: oep, oep pinned to CPU 0 with
 * taskset, gunicorn, and BENCH_BEFORE's oep unpinned and pinned) is started up front and checked
 * (same status and body from every stack). Each round then measures every case, its stacks back to
 * back, the case order and the stack order rotated between rounds: 1 s warm-up,
 * wrk -t1 -c$BENCH_CONNECTIONS -d$BENCH_SECONDS (requests/s and the latency under load, queueing
 * included), then wrk -t1 -c1 (one request at a time). Medians over rounds are reported, with the
 * ratios oep / gunicorn and pinned / unpinned per case. Exit code 0 when the aims hold in every case,
 * 1 when not (or when a request failed), 2 when a tool is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { findFreePort } from '../src/runtimes/free-port.js';
import { median, procStatFields, REPO_ROOT, runWrk, which, wrkErrors, type WrkResult } from './harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 3);
const ACCESS_LOG = process.env.BENCH_GUNICORN_ACCESS_LOG !== '0';
const PINNED = process.env.BENCH_PINNED !== '0';
const BEFORE_COMMIT = process.env.BENCH_BEFORE || undefined;
const PINNED_CPU = '0';
// Issue 28's aims: >= 5x gunicorn + Flask's requests/s at a lower p50, and unpinned within 1.2x of
// pinned (the server as fast on any machine as when a user pins it to one CPU).
const AIM_RPS_RATIO = 5;
const AIM_PINNED_RATIO = 1.2;
const WARMUP_SECONDS = 1;
const READY_TIMEOUT_MS = 60_000;
const CLOCK_TICKS = 100; // USER_HZ of /proc/<pid>/stat on Linux
const FIXTURES = join(REPO_ROOT, 'bench', 'fixtures', 'server');
const OEP_SERVER = join(REPO_ROOT, 'server', 'oep_server.py');
const SKLEARN_EXAMPLE = join(REPO_ROOT, 'examples', 'sklearn');

/** A scoring script as Azure lays it out. */
interface Script {
  name: string;
  entry: string;
  appRoot: string;
  modelDir: string;
  body: string;
  source: string;
}

/** oep's server unpinned and pinned to one CPU, gunicorn + Flask, and an earlier commit's server. */
type Stack = 'oep' | 'oep-pinned' | 'gunicorn' | 'before' | 'before-pinned';

const STACK_LABELS: Record<Stack, string> = {
  oep: 'oep',
  'oep-pinned': `oep, taskset -c ${PINNED_CPU}`,
  gunicorn: 'gunicorn+Flask',
  before: 'oep before',
  'before-pinned': `oep before, taskset -c ${PINNED_CPU}`,
};

/** How a stack's server runs: which oep_server.py (none: gunicorn) and whether it is pinned. */
interface StackSpec {
  server?: string;
  pinned: boolean;
}

interface Target {
  stack: Stack;
  port: number;
  url: string;
  child: ChildProcess;
  log: string;
}

interface Case {
  name: string;
  script: Script;
  workers: number;
  targets: Partial<Record<Stack, Target>>;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  c1P50: number;
  c1P99: number;
  c1Rps: number;
  /** Server CPU time (all its processes, user + system) per request during the load run, in µs. */
  cpuUs: number;
  errors: number;
}

// ---------------------------------------------------------------------------------------------
// Processes started by the bench, stopped in cleanup() whatever happens. Each runs in its own
// process group (detached), so the group kill also reaches gunicorn's and oep's worker processes.

const children = new Set<ChildProcess>();
let workDir: string | undefined;
let stopping = false;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

async function cleanup(): Promise<void> {
  const waits = [...children].map(async (child) => {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    killGroup(child, 'SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    // The leader may be gone while workers of its group linger: always finish the group off.
    killGroup(child, 'SIGKILL');
    if (!done) await Promise.race([exited, sleep(2000)]);
  });
  await Promise.all(waits);
  children.clear();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

process.on('exit', () => {
  for (const child of children) killGroup(child, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    console.error(`server bench: ${signal}, stopping everything it started`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Tools

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): { ok: boolean; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

const PY_CHECK = 'import flask, gunicorn, sklearn, joblib, numpy, sys; print("python %s; flask %s; gunicorn %s; scikit-learn %s; numpy %s" % (sys.version.split()[0], flask.__version__ if hasattr(flask, "__version__") else "?", gunicorn.__version__, sklearn.__version__, numpy.__version__))';

/** The interpreter both servers run on: BENCH_PYTHON, else the first python3 that has every package. */
function findPython(): { python?: string; versions?: string; problems: string[] } {
  const candidates = process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['/usr/bin/python3', 'python3'];
  const problems: string[] = [];
  for (const python of candidates) {
    const check = run(python, ['-W', 'ignore', '-c', PY_CHECK]);
    if (check.ok) return { python, versions: check.out.split('\n').pop(), problems };
    problems.push(`${python}: ${check.out.split('\n').pop() || 'not found'}`);
  }
  return { problems };
}

// ---------------------------------------------------------------------------------------------
// Scripts and servers

function trivialScript(): Script {
  const dir = join(FIXTURES, 'trivial');
  return { name: 'trivial', entry: join(dir, 'score.py'), appRoot: dir, modelDir: dir, body: join(dir, 'sample-request.json'), source: 'bench/fixtures/server/trivial' };
}

/** examples/sklearn when it is complete, else the stand-in fixture with a model trained here. */
function sklearnScript(python: string, dir: string): Script {
  const example = {
    entry: join(SKLEARN_EXAMPLE, 'onlinescoring', 'score.py'),
    model: join(SKLEARN_EXAMPLE, 'model', 'sklearn_regression_model.pkl'),
    body: join(SKLEARN_EXAMPLE, 'sample-request.json'),
  };
  if (existsSync(example.entry) && existsSync(example.model) && existsSync(example.body)) {
    const load = run(python, ['-W', 'ignore', '-c', 'import joblib, sys; joblib.load(sys.argv[1])', example.model]);
    if (load.ok) {
      return { name: 'sklearn', entry: example.entry, appRoot: dirname(example.entry), modelDir: SKLEARN_EXAMPLE, body: example.body, source: 'examples/sklearn' };
    }
    console.log(`note: ${python} cannot load examples/sklearn's model (${load.out.split('\n').pop()}); using the stand-in fixture`);
  } else {
    console.log('note: examples/sklearn is not complete; using the stand-in fixture bench/fixtures/server/sklearn');
  }
  const fixture = join(FIXTURES, 'sklearn');
  const modelDir = join(dir, 'sklearn-model');
  const train = run(python, ['-W', 'ignore', join(fixture, 'train.py'), modelDir]);
  if (!train.ok) throw new Error(`training the stand-in model failed:\n${train.out}`);
  return { name: 'sklearn', entry: join(fixture, 'score.py'), appRoot: fixture, modelDir, body: join(fixture, 'sample-request.json'), source: 'bench/fixtures/server/sklearn (model trained on load_diabetes())' };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** An earlier commit's server/ (`git archive`, nothing in this checkout changes): its oep_server.py. */
function earlierServer(commit: string): string {
  const dir = join(workDir!, `server-${commit}`);
  const result = spawnSync('/bin/sh', ['-c', 'mkdir -p "$2" && git -C "$0" archive "$1" server | tar -x -C "$2"', REPO_ROOT, commit, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`BENCH_BEFORE=${commit}: cannot take server/ from that commit: ${result.stderr.trim()}`);
  return join(dir, 'server', 'oep_server.py');
}

async function startServer(python: string, stack: Stack, spec: StackSpec, script: Script, workers: number, name: string): Promise<Target> {
  const port = await findFreePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AZUREML_ENTRY_SCRIPT: script.entry,
    AML_APP_ROOT: script.appRoot,
    AZUREML_MODEL_DIR: script.modelDir,
    WORKER_COUNT: String(workers),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  const args = spec.server
    ? [spec.server, '--host', '127.0.0.1', '--port', String(port)]
    : // as azmlinfsrv starts it: sync workers, an access log line per request on stdout
      ['-m', 'gunicorn', '-w', String(workers), '-k', 'sync', '-b', `127.0.0.1:${port}`, ...(ACCESS_LOG ? ['--access-logfile', '-'] : []), '--pythonpath', FIXTURES, 'flask_wrapper:app'];
  // Pinned: taskset execs the interpreter on one CPU; workers and threads inherit the affinity.
  const [command, commandArgs] = spec.pinned ? ['taskset', ['-c', PINNED_CPU, python, ...args]] : [python, args];
  const log = join(workDir!, `${name}.log`);
  const fd = openSync(log, 'w');
  let child: ChildProcess;
  try {
    child = track(spawn(command, commandArgs, { env, cwd: script.appRoot, detached: true, stdio: ['ignore', fd, fd] }));
  } finally {
    closeSync(fd);
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(log)}`);
    }
    try {
      const response = await request(`${url}/`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready (GET / 200) within ${READY_TIMEOUT_MS} ms:\n${tail(log)}`);
    await sleep(50);
  }
  return { stack, port, url: `${url}/score`, child, log };
}

async function post(url: string, body: string): Promise<{ status: number; body: string }> {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.statusCode, body: await response.body.text() };
}

/** Every stack answers the sample request with 200 and the body gunicorn + Flask gives. */
async function verify(c: Case): Promise<string> {
  const body = readFileSync(c.script.body, 'utf8');
  const targets = Object.entries(c.targets) as [Stack, Target][];
  const answers = await Promise.all(targets.map(([, target]) => post(target.url, body)));
  const expected = answers[targets.findIndex(([stack]) => stack === 'gunicorn')]!.body;
  for (const [i, [stack, target]] of targets.entries()) {
    const answer = answers[i]!;
    if (answer.status !== 200) throw new Error(`${c.name} ${stack}: status ${answer.status} ${answer.body}\n${tail(target.log)}`);
    if (answer.body !== expected) throw new Error(`${c.name}: ${stack} answered ${answer.body} but gunicorn ${expected}`);
  }
  return expected;
}

// ---------------------------------------------------------------------------------------------
// Load

function wrk(wrkPath: string, url: string, bodyFile: string, connections: number, seconds: number): Promise<WrkResult> {
  return runWrk({
    wrk: wrkPath,
    url,
    scriptArgs: [bodyFile],
    connections,
    seconds,
    start: (command, args) => track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })),
    kill: (child) => killGroup(child, 'SIGKILL'),
  });
}

/** CPU seconds (user + system) used so far by the processes of a process group (Linux /proc), NaN elsewhere. */
function groupCpuSeconds(pgid: number | undefined): number {
  if (pgid === undefined) return NaN;
  let ticks = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      // fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
      const fields = procStatFields(entry);
      if (!fields) continue; // gone meanwhile
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return NaN;
  }
  return ticks / CLOCK_TICKS;
}

async function measure(wrkPath: string, target: Target, bodyFile: string): Promise<Sample> {
  await wrk(wrkPath, target.url, bodyFile, CONNECTIONS, WARMUP_SECONDS);
  const cpuBefore = groupCpuSeconds(target.child.pid);
  const load = await wrk(wrkPath, target.url, bodyFile, CONNECTIONS, SECONDS);
  const cpuUs = ((groupCpuSeconds(target.child.pid) - cpuBefore) / load.requests) * 1e6;
  const one = LATENCY_SECONDS > 0 ? await wrk(wrkPath, target.url, bodyFile, 1, LATENCY_SECONDS) : undefined;
  return {
    rps: load.requests / (load.duration_us / 1e6),
    p50: load.p50_us / 1000,
    p99: load.p99_us / 1000,
    c1P50: one ? one.p50_us / 1000 : NaN,
    c1P99: one ? one.p99_us / 1000 : NaN,
    c1Rps: one ? one.requests / (one.duration_us / 1e6) : NaN,
    cpuUs,
    errors: wrkErrors(load) + (one ? wrkErrors(one) : 0),
  };
}

function summarize(list: Sample[]): Sample {
  const pick = (f: (s: Sample) => number) => median(list.map(f));
  return { rps: pick((s) => s.rps), p50: pick((s) => s.p50), p99: pick((s) => s.p99), c1P50: pick((s) => s.c1P50), c1P99: pick((s) => s.c1P99), c1Rps: pick((s) => s.c1Rps), cpuUs: pick((s) => s.cpuUs), errors: list.reduce((n, s) => n + s.errors, 0) };
}

// ---------------------------------------------------------------------------------------------

/** The stacks measured, and how each runs. */
function stackSpecs(): Partial<Record<Stack, StackSpec>> {
  const specs: Partial<Record<Stack, StackSpec>> = { oep: { server: OEP_SERVER, pinned: false } };
  if (PINNED) specs['oep-pinned'] = { server: OEP_SERVER, pinned: true };
  specs.gunicorn = { pinned: false };
  if (BEFORE_COMMIT) {
    const server = earlierServer(BEFORE_COMMIT);
    specs.before = { server, pinned: false };
    if (PINNED) specs['before-pinned'] = { server, pinned: true };
  }
  return specs;
}

interface CaseResult {
  case: string;
  script: string;
  workers: number;
  stacks: Partial<Record<Stack, Sample>>;
  rpsRatio: number;
  p50Ratio: number;
  /** Pinned requests/s over unpinned (oep): 1.2 at most is the aim. */
  pinnedRatio: number;
  beforePinnedRatio: number;
  /** oep's requests/s over BENCH_BEFORE's, unpinned. */
  beforeRatio: number;
  metGunicorn: boolean;
  metPinned: boolean;
}

function caseResult(c: Case, samples: Map<string, Sample[]>): CaseResult {
  const stacks: Partial<Record<Stack, Sample>> = {};
  for (const stack of Object.keys(c.targets) as Stack[]) stacks[stack] = summarize(samples.get(`${c.name}/${stack}`)!);
  const oep = stacks.oep!;
  const gunicorn = stacks.gunicorn!;
  const pinnedRatio = stacks['oep-pinned'] ? stacks['oep-pinned'].rps / oep.rps : NaN;
  return {
    case: c.name,
    script: c.script.source,
    workers: c.workers,
    stacks,
    rpsRatio: oep.rps / gunicorn.rps,
    p50Ratio: oep.p50 / gunicorn.p50,
    pinnedRatio,
    beforePinnedRatio: stacks.before && stacks['before-pinned'] ? stacks['before-pinned'].rps / stacks.before.rps : NaN,
    beforeRatio: stacks.before ? oep.rps / stacks.before.rps : NaN,
    metGunicorn: oep.rps >= AIM_RPS_RATIO * gunicorn.rps && oep.p50 < gunicorn.p50,
    metPinned: Number.isNaN(pinnedRatio) || pinnedRatio <= AIM_PINNED_RATIO,
  };
}

function printResults(results: CaseResult[]): void {
  console.log('');
  console.log(`| case | workers | stack | req/s (c${CONNECTIONS}) | p50 / p99 at c${CONNECTIONS} (ms) | p50 / p99 at c1 (ms) | server CPU / req (µs) | errors |`);
  console.log('|---|---:|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const [stack, s] of Object.entries(r.stacks) as [Stack, Sample][]) {
      const c1 = LATENCY_SECONDS > 0 ? `${s.c1P50.toFixed(3)} / ${s.c1P99.toFixed(3)}` : '-';
      console.log(`| ${r.case.split('-')[0]} | ${r.workers} | ${STACK_LABELS[stack]} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} / ${s.p99.toFixed(2)} | ${c1} | ${s.cpuUs.toFixed(0)} | ${s.errors} |`);
    }
  }
  console.log('');
  for (const r of results) {
    const oep = r.stacks.oep!;
    const gunicorn = r.stacks.gunicorn!;
    console.log(
      `aim ${r.case}: oep/gunicorn req/s ${r.rpsRatio.toFixed(2)} x, p50 ${r.p50Ratio.toFixed(2)} x, p99 ${(oep.p99 / gunicorn.p99).toFixed(2)} x` +
        `${LATENCY_SECONDS > 0 ? `, c1 p50 ${(oep.c1P50 / gunicorn.c1P50).toFixed(2)} x` : ''}, CPU/req ${(oep.cpuUs / gunicorn.cpuUs).toFixed(2)} x -> ${r.metGunicorn ? 'met' : 'MISSED'} (>= ${AIM_RPS_RATIO}x gunicorn's req/s at a lower p50)`,
    );
    if (!Number.isNaN(r.pinnedRatio)) {
      console.log(`aim ${r.case}: pinned/unpinned req/s ${r.pinnedRatio.toFixed(2)} x -> ${r.metPinned ? 'met' : 'MISSED'} (at most ${AIM_PINNED_RATIO}x)`);
    }
    if (!Number.isNaN(r.beforeRatio)) {
      const pinned = Number.isNaN(r.beforePinnedRatio) ? '' : `; before's pinned/unpinned req/s ${r.beforePinnedRatio.toFixed(2)} x`;
      console.log(`before/after ${r.case}: oep req/s ${r.beforeRatio.toFixed(2)} x BENCH_BEFORE's (${BEFORE_COMMIT}), CPU/req ${oep.cpuUs.toFixed(0)} vs ${r.stacks.before!.cpuUs.toFixed(0)} µs${pinned}`);
    }
  }
}

async function main(): Promise<number> {
  const wrkPath = which('wrk');
  const tasksetPath = PINNED ? which('taskset') : 'not needed';
  const { python, versions, problems } = findPython();
  if (!wrkPath || !python || !tasksetPath) {
    if (!wrkPath) console.error('server bench: wrk not found on PATH.');
    if (!tasksetPath) console.error('server bench: taskset not found on PATH (util-linux; BENCH_PINNED=0 leaves out the pinned runs).');
    if (!python) console.error(`server bench: no python3 with flask, gunicorn, sklearn, joblib and numpy (${problems.join('; ')}).`);
    console.error(
      'Install them (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y wrk util-linux gunicorn python3-flask python3-sklearn python3-joblib python3-numpy',
    );
    console.error('(BENCH_PYTHON=/path/to/python picks another interpreter that has the Python packages.)');
    return 2;
  }

  workDir = mkdtempSync(join(tmpdir(), 'oep-bench-server-'));
  const scripts = [trivialScript(), sklearnScript(python, workDir)];
  const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
  const specs = stackSpecs();
  const stackNames = Object.keys(specs) as Stack[];

  console.log(`server bench: ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim()}; load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}; node ${process.version}; ${run(wrkPath, ['-v']).out.split('\n')[0]}`);
  console.log(`interpreter: ${python} (${versions})`);
  console.log(`peer: gunicorn -k sync -w N${ACCESS_LOG ? ' --access-logfile - (as azmlinfsrv)' : ' (no access log: BENCH_GUNICORN_ACCESS_LOG=0)'} + Flask via bench/fixtures/server/flask_wrapper.py; oep logs one access line per request too`);
  console.log(`stacks: ${stackNames.map((stack) => STACK_LABELS[stack]).join('; ')}${BEFORE_COMMIT ? ` ("before": server/ of ${BEFORE_COMMIT})` : ''}; wrk unpinned`);
  for (const script of scripts) console.log(`script ${script.name}: ${script.source}; body ${JSON.stringify(JSON.parse(readFileSync(script.body, 'utf8')))}`);
  console.log(
    `method: ${ROUNDS} rounds, rotated order, the stacks of a case back to back; each: ${WARMUP_SECONDS} s warm-up, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s` +
      `${LATENCY_SECONDS > 0 ? `, wrk -t1 -c1 -d${LATENCY_SECONDS}s` : ''}; medians over rounds`,
  );

  const cases: Case[] = [];
  for (const script of scripts) {
    for (const workers of [1, 2]) {
      const name = `${script.name}-w${workers}`;
      if (only && !only.has(name)) continue;
      const targets: Partial<Record<Stack, Target>> = {};
      for (const stack of stackNames) targets[stack] = await startServer(python, stack, specs[stack]!, script, workers, `${name}-${stack}`);
      cases.push({ name, script, workers, targets });
    }
  }
  for (const c of cases) console.log(`check ${c.name}: every stack answers 200 ${(await verify(c)).slice(0, 80)}`);

  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length]!;
      const shift = (round + i) % stackNames.length;
      const order = [...stackNames.slice(shift), ...stackNames.slice(0, shift)];
      for (const stack of order) {
        const key = `${c.name}/${stack}`;
        const sample = await measure(wrkPath, c.targets[stack]!, c.script.body);
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.log(
          `  round ${round + 1} ${key.padEnd(26)} ${sample.rps.toFixed(0).padStart(6)} req/s  p50 ${sample.p50.toFixed(2)} p99 ${sample.p99.toFixed(2)} ms  cpu ${sample.cpuUs.toFixed(0)} µs/req` +
            `${LATENCY_SECONDS > 0 ? `  c1 p50 ${sample.c1P50.toFixed(3)} p99 ${sample.c1P99.toFixed(3)} ms` : ''}${sample.errors ? `  ERRORS ${sample.errors}` : ''}`,
        );
      }
    }
  }

  const results = cases.map((c) => caseResult(c, samples));
  printResults(results);
  console.log(`load average at the end: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), python: versions, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, before: BEFORE_COMMIT, results }, null, 2));
  }
  const errors = results.reduce((n, r) => n + Object.values(r.stacks).reduce((m, s) => m + s.errors, 0), 0);
  if (errors > 0) {
    console.error(`server bench: ${errors} failed requests (see ERRORS above); the numbers are not trustworthy`);
    return 1;
  }
  return results.every((r) => r.metGunicorn && r.metPinned) ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  if (!stopping) console.error(`server bench failed: ${(error as Error).stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(code);
