/**
 * The load generator of `oep endpoint benchmark` (src/load/, issue 27 point 4) against wrk, in the
 * same run on this machine, on three targets: (1) `node`, a trivial Node HTTP server on 127.0.0.1
 * (its own process), (2) `router`, the quickstart deployment (examples/quickstart, oep's Python
 * scoring server on the process runtime, max_concurrent_requests_per_instance 8) through its
 * scoring URI, i.e. oep's router in the daemon, and (3) `sleep`, bench/fixtures/sleep20 (run()
 * sleeps 20 ms; 4 workers, 4 requests per instance) through the router: a target whose latency
 * is its own, not the machine's scheduling noise. (a) is run on (1) and (2) only.
 *
 *   npm run build && node dist/bench/load-generator.js
 *
 * (a) Saturation: wrk -t1 -c8 against our closed model at concurrency 8 (one worker thread, then
 *     two): achieved 2xx req/s. Aim: ours >= 0.8 x wrk's.
 * (b) A fixed rate below the knee: wrk with bench/fixtures/wrk-post-paced.lua (each of 4
 *     connections pauses between requests; Debian's wrk is not wrk2, so it times each request
 *     from when it left, not from when it was due), then our open model at the rate wrk reached
 *     in that round: one worker with each pacing of BENCH_PACINGS (src/load/worker-plan.ts
 *     Pacing: how the thread waits for each due time), and two workers with the default pacing:
 *     p50/p90/p99. Below the knee nothing queues, so the two ways of timing should agree. Aim:
 *     each percentile within 10% of wrk's (median over rounds; one worker, the default pacing).
 *
 * Rounds alternate which tool goes first (in (b), odd rounds run ours first at the rate wrk
 * reached in the round before). CPU time per request of this process (our worker
 * threads; the main thread only waits) and of wrk (reaped children, /proc/self/stat) is shown.
 * Needs wrk (Debian: apt-get install -y wrk) and python3 for the process runtime (BENCH_PYTHON
 * sets OEP_PYTHON). Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (5 per run), BENCH_RATE (the fixed
 * rate of (b) on node and router; default 30% of wrk's saturation rate there, at most 200 req/s),
 * BENCH_SLEEP_RATE (the rate on sleep, 50), BENCH_TARGETS (node,router,sleep), BENCH_PACINGS
 * (poll,wait,timer), BENCH_JSON (write the results there too). Exit code 0 when every
 * aim holds, 1 when not (or requests failed), 2 when a tool is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PACING, runLoadStep, type LoadTarget, type Pacing, type StepResult } from '../src/load/generator.js';
import { PACINGS } from '../src/load/worker-plan.js';
import { BenchHome, CLK_TCK, HAVE_PROC, median, OEP_BIN, procStatFields, REPO_ROOT, runWrk, which, wrkErrors, type WrkResult } from './harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const FIXED_RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const TARGETS = (process.env.BENCH_TARGETS ?? 'node,router,sleep').split(',');
const SLEEP_RATE = Number(process.env.BENCH_SLEEP_RATE ?? 50);
const PACINGS_RUN = (process.env.BENCH_PACINGS ?? PACINGS.join(',')).split(',') as Pacing[];
const CONNECTIONS = 8;
const PACED_CONNECTIONS = 4;
const SATURATION_AIM = 0.8;
const AGREEMENT_AIM = 0.1;
const QUICKSTART = join(REPO_ROOT, 'examples', 'quickstart');
const BODY_FILE = join(QUICKSTART, 'sample-request.json');
const PACED_SCRIPT = join(REPO_ROOT, 'bench', 'fixtures', 'wrk-post-paced.lua');
const SLEEP20 = join(REPO_ROOT, 'bench', 'fixtures', 'sleep20');
const WARMUP_MS = 1000;

interface Target {
  name: string;
  url: string;
  key: string;
  /** Whether (a) runs on it: the saturation aim is about a trivial target. */
  saturation: boolean;
  /** (b)'s rate when it is fixed for the target (otherwise from wrk's saturation rate). */
  rate?: number;
}

interface Measure {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  /** CPU time per request of the load tool, in µs. */
  cpuUs: number;
  lateSends?: number;
  /** Ours: the same answers timed from when each left (StepResult.serviceMs), as wrk times them. */
  service?: { p50: number; p90: number; p99: number };
}

// ---------------------------------------------------------------------------------------------
// What the bench starts: wrk runs and the Node server (tracked), a daemon in its own OEP_HOME.

const children = new Set<ChildProcess>();
let home: BenchHome | undefined;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
  home?.close();
  home = undefined;
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`load-generator bench: ${signal}, stopping everything it started`);
    cleanup();
    process.exit(130);
  });
}

function oep(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(process.execPath, [OEP_BIN, ...args], { env: { ...process.env, OEP_HOME: home!.home, NO_COLOR: '1', ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`oep ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** A trivial server in its own process: answers every POST 200 with a small JSON body once the body is read. */
async function startNodeServer(): Promise<Target> {
  const script = `
    const http = require('node:http');
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('[11055.977245525679, 4503.079536107787]'); });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = track(spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the Node server exited (${code})`)));
  });
  return { name: 'node', url: `http://127.0.0.1:${port}/score`, key: '', saturation: true };
}

/** One daemon in a temporary OEP_HOME for the targets behind the router, started on first use. */
function startDaemon(): void {
  if (home) return;
  home = new BenchHome();
  oep(['daemon', 'start', '-o', 'none']);
}

/** An endpoint with one deployment on the process runtime, all traffic to it: its scoring URI and key. */
function deployBehindRouter(endpointFile: string, deploymentFile: string, set: string[]): { url: string; key: string } {
  startDaemon();
  const python = process.env.BENCH_PYTHON;
  const name = oep(['endpoint', 'create', '-f', endpointFile, '--query', 'name', '-o', 'tsv']).trim();
  oep(['deployment', 'create', '-f', deploymentFile, '--all-traffic', '--runtime', 'process', '-o', 'none', ...set.flatMap((s) => ['--set', s])], python ? { OEP_PYTHON: python } : {});
  const url = oep(['endpoint', 'show', '-n', name, '--query', 'scoring_uri', '-o', 'tsv']).trim();
  const key = oep(['endpoint', 'get-credentials', '-n', name, '--query', 'primaryKey', '-o', 'tsv']).trim();
  return { url, key };
}

/** The quickstart on the process runtime, through oep's router. */
function startRouterTarget(): Target {
  const deployed = deployBehindRouter(join(QUICKSTART, 'endpoint.yml'), join(QUICKSTART, 'blue-deployment.yml'), [`request_settings.max_concurrent_requests_per_instance=${CONNECTIONS}`]);
  return { name: 'router', ...deployed, saturation: true, rate: FIXED_RATE };
}

/** bench/fixtures/sleep20 (run() sleeps 20 ms) on the process runtime, through oep's router. */
function startSleepTarget(): Target {
  const deployed = deployBehindRouter(join(SLEEP20, 'endpoint.yml'), join(SLEEP20, 'deployment.yml'), []);
  return { name: 'sleep', ...deployed, saturation: false, rate: SLEEP_RATE };
}

async function startTarget(name: string): Promise<Target> {
  if (name === 'node') return { ...(await startNodeServer()), rate: FIXED_RATE };
  if (name === 'router') return startRouterTarget();
  if (name === 'sleep') return startSleepTarget();
  throw new Error(`BENCH_TARGETS: unknown target ${JSON.stringify(name)} (node, router, sleep)`);
}

function loadTarget(target: Target): LoadTarget {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.key) headers.authorization = `Bearer ${target.key}`;
  return { url: target.url, method: 'POST', headers, body: readFileSync(BODY_FILE) };
}

async function verify(target: Target): Promise<void> {
  const result = await runLoadStep(loadTarget(target), { mode: 'concurrency', concurrency: 1, durationMs: 300, warmupMs: 0 });
  if (result.completed === 0 || result.counts.ok !== result.completed) throw new Error(`${target.name}: the check answered ${JSON.stringify(result.counts)}`);
}

// ---------------------------------------------------------------------------------------------
// CPU: this process (all its threads) and its reaped children (wrk), from /proc/self/stat.

function ticks(): { self: number; reaped: number } {
  const fields = HAVE_PROC ? procStatFields('self') : undefined;
  if (!fields) return { self: NaN, reaped: NaN };
  return { self: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]) };
}

const perRequestUs = (tickCount: number, requests: number) => ((tickCount / CLK_TCK) * 1e6) / Math.max(1, requests);

async function wrkRun(wrkPath: string, target: Target, seconds: number, paced?: { delayMs: number }): Promise<Measure> {
  const before = ticks();
  const args = paced
    ? ['-t1', `-c${PACED_CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', PACED_SCRIPT, target.url, '--', BODY_FILE, target.key, String(paced.delayMs)]
    : undefined;
  const result: WrkResult = args
    ? await runWrkArgs(wrkPath, args, seconds)
    : await runWrk({ wrk: wrkPath, url: target.url, scriptArgs: [BODY_FILE, target.key], connections: CONNECTIONS, seconds, start: (c, a) => track(spawn(c, a)), kill: (child) => child.kill('SIGKILL') });
  const after = ticks();
  return {
    rps: result.requests / (result.duration_us / 1e6),
    p50: result.p50_us / 1000,
    p90: result.p90_us / 1000,
    p99: result.p99_us / 1000,
    errors: wrkErrors(result),
    cpuUs: perRequestUs(after.reaped - before.reaped, result.requests),
  };
}

/** runWrk with arguments of its own (the paced script). */
async function runWrkArgs(wrkPath: string, args: string[], seconds: number): Promise<WrkResult> {
  const child = track(spawn(wrkPath, args));
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(guard);
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (${code}):\n${out}`);
  return JSON.parse(line.slice('WRKJSON '.length)) as WrkResult;
}

async function oursRun(target: Target, step: Parameters<typeof runLoadStep>[1], workers: number, pacing?: Pacing): Promise<Measure> {
  const before = ticks();
  const result: StepResult = await runLoadStep(loadTarget(target), step, { workers, pacing });
  const after = ticks();
  const c = result.counts;
  return {
    rps: result.achievedRps,
    p50: result.latencyMs.p50,
    p90: result.latencyMs.p90,
    p99: result.latencyMs.p99,
    errors: result.completed - c.ok + c.clientErrors,
    // The step's warm-up requests cost CPU too: per request of warm-up and window together.
    cpuUs: perRequestUs(after.self - before.self, result.sent * (1 + step.warmupMs / step.durationMs)),
    lateSends: result.lateSends,
    service: { p50: result.serviceMs.p50, p90: result.serviceMs.p90, p99: result.serviceMs.p99 },
  };
}

// ---------------------------------------------------------------------------------------------

const fmt = (m: Measure) =>
  `${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50.toFixed(3)} p90 ${m.p90.toFixed(3)} p99 ${m.p99.toFixed(3)} ms` +
  (m.service ? ` (from the send: ${m.service.p50.toFixed(3)} / ${m.service.p90.toFixed(3)} / ${m.service.p99.toFixed(3)})` : '') +
  `  cpu/req ${m.cpuUs.toFixed(1)} µs${m.lateSends ? `  late ${m.lateSends}` : ''}${m.errors ? `  ERRORS ${m.errors}` : ''}`;

const summarise = (runs: Measure[]): Measure => ({
  rps: median(runs.map((m) => m.rps)),
  p50: median(runs.map((m) => m.p50)),
  p90: median(runs.map((m) => m.p90)),
  p99: median(runs.map((m) => m.p99)),
  errors: runs.reduce((sum, m) => sum + m.errors, 0),
  cpuUs: median(runs.map((m) => m.cpuUs)),
  lateSends: runs.reduce((sum, m) => sum + (m.lateSends ?? 0), 0),
  service: runs[0]?.service ? { p50: median(runs.map((m) => m.service!.p50)), p90: median(runs.map((m) => m.service!.p90)), p99: median(runs.map((m) => m.service!.p99)) } : undefined,
});

interface Saturation {
  wrk: Measure;
  ours1: Measure;
  ours2: Measure;
  ratio1: number;
  ratio2: number;
}

/** (b)'s runs of ours: one worker with a pacing (`1w <pacing>`), or two with the default (`2w`). */
interface Variant {
  name: string;
  workers: number;
  pacing: Pacing;
}

interface Fixed {
  rate: number;
  delayMs: number;
  wrk: Measure;
  /** wrk's p99 in the round where it was lowest and where it was highest: how noisy the peer is. */
  wrkP99Range: [number, number];
  ours: Record<string, Measure>;
}

interface TargetReport {
  target: string;
  saturation?: Saturation;
  fixed: Fixed;
}

const VARIANTS: Variant[] = [
  ...PACINGS_RUN.map((pacing) => ({ name: `1w ${pacing}`, workers: 1, pacing })),
  { name: '2w', workers: 2, pacing: DEFAULT_PACING },
];
/** The variant the aim is judged on: what `oep endpoint benchmark` uses. */
const DEFAULT_VARIANT = `1w ${DEFAULT_PACING}`;

async function measureSaturation(wrkPath: string, target: Target): Promise<Saturation> {
  const sat = { wrk: [] as Measure[], ours1: [] as Measure[], ours2: [] as Measure[] };
  const closed = { mode: 'concurrency' as const, concurrency: CONNECTIONS, durationMs: SECONDS * 1000, warmupMs: WARMUP_MS };
  for (let round = 0; round < ROUNDS; round++) {
    const runs: [keyof typeof sat, () => Promise<Measure>][] = [
      ['wrk', () => wrkRun(wrkPath, target, SECONDS)],
      ['ours1', () => oursRun(target, closed, 1)],
      ['ours2', () => oursRun(target, closed, 2)],
    ];
    for (const [name, run] of round % 2 === 0 ? runs : [...runs].reverse()) {
      const m = await run();
      sat[name].push(m);
      console.log(`  (a) round ${round + 1} ${name.padEnd(5)} c${CONNECTIONS}: ${fmt(m)}`);
    }
  }
  return { wrk: summarise(sat.wrk), ours1: summarise(sat.ours1), ours2: summarise(sat.ours2), ratio1: median(sat.ours1.map((m, i) => m.rps / sat.wrk[i]!.rps)), ratio2: median(sat.ours2.map((m, i) => m.rps / sat.wrk[i]!.rps)) };
}

/** The target's latency one request at a time (ours, closed model, 1 s): what wrk's pause is set from. */
async function unloadedP50(target: Target): Promise<number> {
  const m = await oursRun(target, { mode: 'concurrency', concurrency: 1, durationMs: 1000, warmupMs: 200 }, 1);
  return m.p50;
}

/**
 * (b): each round, wrk paced and every variant of ours at the rate wrk reached (in odd rounds ours
 * go first, at the rate of the round before); the variants' order rotates from round to round.
 */
async function measureFixed(wrkPath: string, target: Target, rate: number): Promise<Fixed> {
  const p50 = await unloadedP50(target);
  // Each paced connection waits this long between an answer and its next request (whole ms: wrk's timer).
  const delayMs = Math.max(1, Math.round((PACED_CONNECTIONS * 1000) / rate - p50));
  console.log(`  (b) rate ${rate} req/s: one request at a time p50 ${p50.toFixed(3)} ms, so wrk's ${PACED_CONNECTIONS} connections pause ${delayMs} ms`);
  const wrkRuns: Measure[] = [];
  const ours: Record<string, Measure[]> = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
  let lastRate = rate;
  const runWrkPaced = async (round: number) => {
    const paced = await wrkRun(wrkPath, target, SECONDS, { delayMs });
    wrkRuns.push(paced);
    lastRate = paced.rps;
    console.log(`  (b) round ${round + 1} wrk      paced: ${fmt(paced)}`);
  };
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) await runWrkPaced(round);
    const open = { mode: 'rate' as const, rate: lastRate, durationMs: SECONDS * 1000, warmupMs: WARMUP_MS };
    const shift = round % VARIANTS.length;
    for (const variant of [...VARIANTS.slice(shift), ...VARIANTS.slice(0, shift)]) {
      const m = await oursRun(target, open, variant.workers, variant.pacing);
      ours[variant.name]!.push(m);
      console.log(`  (b) round ${round + 1} ${variant.name.padEnd(13)} rate ${lastRate.toFixed(1)}: ${fmt(m)}`);
    }
    if (round % 2 === 1) await runWrkPaced(round);
  }
  const p99s = wrkRuns.map((m) => m.p99);
  return {
    rate: median(wrkRuns.map((m) => m.rps)),
    delayMs,
    wrk: summarise(wrkRuns),
    wrkP99Range: [Math.min(...p99s), Math.max(...p99s)],
    ours: Object.fromEntries(Object.entries(ours).map(([name, runs]) => [name, summarise(runs)])),
  };
}

async function benchTarget(wrkPath: string, target: Target): Promise<TargetReport> {
  await verify(target);
  console.log(`\n== ${target.name}: ${target.url}`);
  // Warm-up: the server's and the router's pools, the JIT of both sides.
  await wrkRun(wrkPath, target, 2);
  await oursRun(target, { mode: 'concurrency', concurrency: CONNECTIONS, durationMs: 2000, warmupMs: 0 }, 1);
  const saturation = target.saturation ? await measureSaturation(wrkPath, target) : undefined;
  const rate = target.rate ?? Math.min(200, Math.round(0.3 * (saturation?.wrk.rps ?? 0)));
  if (!(rate > 0)) throw new Error(`${target.name}: no rate for (b)`);
  return { target: target.name, saturation, fixed: await measureFixed(wrkPath, target, rate) };
}

function agreement(ours: Measure, wrk: Measure): { p50: number; p90: number; p99: number } {
  return { p50: ours.p50 / wrk.p50 - 1, p90: ours.p90 / wrk.p90 - 1, p99: ours.p99 / wrk.p99 - 1 };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;
const triple = (m: { p50: number; p90: number; p99: number }) => `${m.p50.toFixed(3)} / ${m.p90.toFixed(3)} / ${m.p99.toFixed(3)}`;

function printSaturation(reports: TargetReport[]): boolean {
  let ok = true;
  console.log('');
  console.log('| target | wrk -c8 req/s | ours c8, 1 worker | ours c8, 2 workers | CPU/request wrk / ours 1w / ours 2w |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of reports) {
    const s = r.saturation;
    if (!s) continue;
    console.log(`| ${r.target} | ${s.wrk.rps.toFixed(0)} | ${s.ours1.rps.toFixed(0)} (${s.ratio1.toFixed(2)}x) | ${s.ours2.rps.toFixed(0)} (${s.ratio2.toFixed(2)}x) | ${s.wrk.cpuUs.toFixed(0)} / ${s.ours1.cpuUs.toFixed(0)} / ${s.ours2.cpuUs.toFixed(0)} µs |`);
    ok &&= s.ratio1 >= SATURATION_AIM;
  }
  return ok;
}

/** (b)'s table: wrk, then each variant of ours with its difference from wrk; true when the default variant agrees everywhere. */
function printFixed(reports: TargetReport[]): boolean {
  let ok = true;
  console.log('');
  console.log('| target | rate req/s | tool | p50 / p90 / p99 ms | vs wrk | from the send | late sends | CPU/request |');
  console.log('|---|---:|---|---:|---:|---:|---:|---:|');
  for (const r of reports) {
    const f = r.fixed;
    const range = `wrk p99 over rounds ${f.wrkP99Range[0].toFixed(3)}-${f.wrkP99Range[1].toFixed(3)}`;
    console.log(`| ${r.target} | ${f.rate.toFixed(1)} | wrk paced (${f.delayMs} ms pause) | ${triple(f.wrk)} | (${range}) | | | ${f.wrk.cpuUs.toFixed(0)} µs |`);
    for (const [name, m] of Object.entries(f.ours)) {
      const d = agreement(m, f.wrk);
      const agrees = Math.abs(d.p50) <= AGREEMENT_AIM && Math.abs(d.p90) <= AGREEMENT_AIM && Math.abs(d.p99) <= AGREEMENT_AIM;
      console.log(`| | | ours ${name} | ${triple(m)} | ${pct(d.p50)} / ${pct(d.p90)} / ${pct(d.p99)}${agrees ? ' (agrees)' : ''} | ${triple(m.service!)} | ${m.lateSends} | ${m.cpuUs.toFixed(0)} µs |`);
      if (name === DEFAULT_VARIANT) ok &&= agrees;
    }
  }
  return ok;
}

async function main(): Promise<number> {
  const wrkPath = which('wrk', ['/usr/sbin', '/usr/local/sbin']);
  if (!wrkPath) {
    console.error('load-generator bench: wrk not found on PATH. Install it (Debian/Ubuntu): sudo apt-get install -y wrk');
    return 2;
  }
  const unknown = PACINGS_RUN.filter((p) => !PACINGS.includes(p));
  if (unknown.length > 0) throw new Error(`BENCH_PACINGS: unknown ${unknown.join(', ')} (${PACINGS.join(', ')})`);
  if (!PACINGS_RUN.includes(DEFAULT_PACING)) throw new Error(`BENCH_PACINGS must include the default pacing, ${DEFAULT_PACING}: the aim is judged on it`);
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`load-generator bench: ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim()}; node ${process.version}; ${spawnSync(wrkPath, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0]}`);
  console.log(`method: ${ROUNDS} rounds, ${SECONDS} s per run (ours: + ${WARMUP_MS} ms warm-up); medians over rounds; default pacing ${DEFAULT_PACING}; load average ${load()}`);

  const reports: TargetReport[] = [];
  for (const name of TARGETS) {
    const target = await startTarget(name);
    reports.push(await benchTarget(wrkPath, target));
    console.log(`  load average after ${name}: ${load()}`);
  }

  const saturationOk = printSaturation(reports);
  const fixedOk = printFixed(reports);
  const ok = saturationOk && fixedOk;
  console.log('');
  console.log(`aims (1 worker, pacing ${DEFAULT_PACING}, the default): saturation >= ${SATURATION_AIM} x wrk ${saturationOk ? 'met' : 'MISSED'}; fixed-rate percentiles within ${AGREEMENT_AIM * 100}% of wrk's ${fixedOk ? 'met' : 'MISSED'}`);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), loadavg: loadavg(), reports }, null, 2));
  const measures = reports.flatMap((r) => [...(r.saturation ? [r.saturation.wrk, r.saturation.ours1, r.saturation.ours2] : []), r.fixed.wrk, ...Object.values(r.fixed.ours)]);
  const errors = measures.reduce((sum, m) => sum + m.errors, 0);
  if (errors > 0) {
    console.error(`load-generator bench: ${errors} failed requests (see ERRORS above); the numbers are not trustworthy`);
    return 1;
  }
  return ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`load-generator bench failed: ${(error as Error).stack ?? error}`);
} finally {
  cleanup();
}
process.exit(code);
