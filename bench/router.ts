/**
 * Router benchmark (issue 4, "Done when"): in one run on this machine, oep's router against a
 * direct call to a trivially fast scoring server and against nginx configured for the same 90/10
 * split with key auth. Requests per second under load and added p50/p99 latency; and the client
 * latency with 100% mirroring to a deployment whose server answers 200 ms later.
 *
 *   npm run build && node dist/bench/router.js
 *
 * Needs nginx and wrk on PATH (Debian: apt-get install -y nginx-light wrk); it says so and stops
 * when they are missing. Everything binds 127.0.0.1; every process it starts is stopped at the end.
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_SECONDS (5, per load run), BENCH_CONNECTIONS (16),
 * BENCH_LATENCY_SECONDS (5, per one-connection run), BENCH_WARMUP_SECONDS (5, once per configuration
 * before the first round), BENCH_TELEMETRY_SECONDS (90) and BENCH_TELEMETRY_SLICE_MS (500) for the
 * telemetry A/B, BENCH_CPU_AB_PAIRS (16) and BENCH_CPU_AB_SECONDS (2) for the router/nginx CPU A/B,
 * BENCH_JSON (write the results there too), BENCH_BASELINE (a folder holding an earlier checkout,
 * built: its router as (b0) beside (b), and a CPU A/B of the two).
 *
 * Method. Upstreams: one nginx process (1 worker) answers `return 200 '{"ok":true}'` on a blue
 * and a green port; the 200 ms slower mirror target is a small Node server in this process (idle
 * otherwise: the load comes from wrk). Each router configuration runs in its own child process
 * (dist/bench/router-host.js). The proxy nginx is a second nginx process with 1 worker, like the
 * router's single event loop. The same POST /score with `Authorization: Bearer <key>` is sent
 * everywhere. Each round runs every configuration in a rotated order: 1 s warm-up, then wrk
 * -t1 -c$BENCH_CONNECTIONS (requests/s; its latency includes queueing), then wrk -t1 -c1
 * (one request at a time: the latency a proxy adds). Medians over rounds are reported, and the
 * proxy's CPU time per request and the CPU used by other processes during each run (from /proc).
 * bench/README.md ("Router") has the method, the aims and the latest results.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { findFreePort } from '../src/runtimes/free-port.js';
import { CLK_TCK, descendants, fill, HAVE_PROC, machineBusyTicks, median, medianOfRounds, procStatFields, processTicks, REPO_ROOT, runWrk, startNginx, versionOf, waitForPort, which, wrkErrors, type WrkResult } from './harness.js';
import type { HostConfig, HostReply } from './router-host.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const MIRROR_DELAY_MS = 200;
/** The telemetry A/B: one load run this long on (b'), its recording switched on and off every TELEMETRY_SLICE_MS. */
const TELEMETRY_SECONDS = Number(process.env.BENCH_TELEMETRY_SECONDS ?? 90);
const TELEMETRY_SLICE_MS = Number(process.env.BENCH_TELEMETRY_SLICE_MS ?? 500);
/** The router/nginx CPU A/B: this many pairs of back-to-back load runs of CPU_AB_SECONDS each. */
const CPU_AB_PAIRS = Number(process.env.BENCH_CPU_AB_PAIRS ?? 16);
const CPU_AB_SECONDS = Number(process.env.BENCH_CPU_AB_SECONDS ?? 2);
const FIXTURES = join(REPO_ROOT, 'bench', 'fixtures', 'router');
const HOST_SCRIPT = join(REPO_ROOT, 'dist', 'bench', 'router-host.js');
/**
 * An earlier checkout, built (e.g. `git archive <commit> | tar -x -C DIR`, node_modules linked,
 * `npm run build`): its router-host hosts (b0), the same configuration as (b) with that
 * checkout's router, so a change's CPU per request is measured against its base in one run.
 */
const BASELINE = process.env.BENCH_BASELINE;
const BASELINE_HOST_SCRIPT = BASELINE && join(BASELINE, 'dist', 'bench', 'router-host.js');
/** The POST /score body of every check and load run. */
const SCORE_BODY_FILE = join(FIXTURES, 'score.json');
/** Where nginx usually lives when it is not on PATH. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

interface Target {
  name: string;
  label: string;
  url: string;
  /** Expected azureml-model-deployment counts over 100 sequential requests (x-upstream for direct). */
  expect: Record<string, number>;
  header: string;
  host?: RouterHost;
  checksAuth: boolean;
  /** The processes doing this configuration's proxying (for CPU per request); none for direct. */
  cpuPids: () => number[];
}

interface Sample {
  rps: number;
  loadP50: number;
  loadP99: number;
  p50: number;
  p99: number;
  latRps: number;
  errors: number;
  /** CPU time of the proxy process(es) per request under load, in microseconds (NaN for direct). */
  cpuUs: number;
  /** CPU used outside this bench's processes during the load run (interrupts included), in % of the whole machine. */
  foreignPct: number;
}

// ---------------------------------------------------------------------------------------------
// Processes started by the bench, stopped in cleanup() whatever happens.

const children = new Set<ChildProcess>();
const servers: Server[] = [];
let workDir: string | undefined;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function cleanup(): Promise<void> {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  servers.length = 0;
  const waits = [...children].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'close' });
    else child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await Promise.all(waits);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`router bench: ${signal}, stopping everything it started`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Tools

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): the CPU time a proxy spends per request is much steadier than
// requests/s on a shared machine, and the CPU used by processes outside this bench says how
// shared the machine was during a run.

interface CpuSnapshot {
  at: number;
  machine: number;
  own: number;
  proxy: number;
}

/** CPU of the measured proxy process(es), of this bench's own process tree, and of the machine. */
function cpuSnapshot(proxyPids: number[]): CpuSnapshot | undefined {
  if (!HAVE_PROC) return undefined;
  // Live descendants, plus this process's reaped children (wrk runs end inside the interval).
  const self = procStatFields(process.pid);
  const reaped = self ? Number(self[13]) + Number(self[14]) : 0;
  const own = [process.pid, ...descendants(process.pid)].reduce((sum, pid) => sum + processTicks(pid), reaped);
  return { at: performance.now(), machine: machineBusyTicks(), own, proxy: proxyPids.reduce((sum, pid) => sum + processTicks(pid), 0) };
}

/** nginx from one of bench/fixtures/router's templates, filled in with `values` and the work folder. */
function startNginxFrom(nginx: string, dir: string, name: string, template: string, values: Record<string, string | number>, port: number): Promise<number> {
  const config = fill(readFileSync(join(FIXTURES, template), 'utf8'), { ...values, DIR: dir });
  return startNginx(nginx, dir, name, config, port, track);
}

// ---------------------------------------------------------------------------------------------
// Router hosts

class RouterHost {
  private readonly waiting: ((reply: HostReply) => void)[] = [];
  private constructor(readonly child: ChildProcess) {
    child.on('message', (reply: HostReply) => this.waiting.shift()?.(reply));
  }

  static async start(config: HostConfig, script = HOST_SCRIPT): Promise<RouterHost> {
    const child = track(spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const host = new RouterHost(child);
    const ready = new Promise<HostReply>((resolve) => host.waiting.push(resolve));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`router host exited with ${code}`))));
    exited.catch(() => undefined);
    await Promise.race([ready, exited]);
    return host;
  }

  stats(): Promise<Extract<HostReply, { type: 'stats' }>> {
    return new Promise((resolve) => {
      this.waiting.push((reply) => resolve(reply as Extract<HostReply, { type: 'stats' }>));
      this.child.send({ type: 'stats' });
    });
  }

  /** Switches recording (telemetry hosts); resolves with the host's CPU time and request count at that moment. */
  record(on: boolean): Promise<Extract<HostReply, { type: 'recording' }>> {
    return new Promise((resolve) => {
      this.waiting.push((reply) => resolve(reply as Extract<HostReply, { type: 'recording' }>));
      this.child.send({ type: 'record', on });
    });
  }

  /** Waits until no mirrored copy is in flight (they give up after 5 s at worst). */
  async drain(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const stats = await this.stats();
      if (Object.values(stats.replicaInflight).every((n) => n === 0)) return;
      await sleep(100);
    }
    throw new Error('mirrored requests still in flight after 15 s');
  }
}

// ---------------------------------------------------------------------------------------------
// Load

function wrk(wrkPath: string, url: string, key: string, connections: number, seconds: number): Promise<WrkResult> {
  return runWrk({
    wrk: wrkPath,
    url,
    scriptArgs: [SCORE_BODY_FILE, key],
    connections,
    seconds,
    start: (command, args) => track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })),
    kill: (child) => child.kill('SIGKILL'),
  });
}

async function verify(target: Target, key: string): Promise<void> {
  const body = readFileSync(SCORE_BODY_FILE, 'utf8');
  const counts: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    const response = await request(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${target.label}: status ${response.statusCode} ${text}`);
    const name = String(response.headers[target.header] ?? '?');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  if (JSON.stringify(sorted(counts)) !== JSON.stringify(sorted(target.expect))) {
    throw new Error(`${target.label}: 100 requests went ${JSON.stringify(counts)}, expected ${JSON.stringify(target.expect)}`);
  }
  if (target.checksAuth) {
    for (const authorization of [undefined, 'Bearer wrong-key']) {
      const response = await request(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: '{}',
      });
      await response.body.dump();
      if (response.statusCode !== 401) throw new Error(`${target.label}: ${authorization ?? 'no key'} gave ${response.statusCode}, expected 401`);
    }
  }
}

function sorted(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** CPU time per request of the target's proxy process(es) over one load run (no warm-up, no c1 run). */
async function cpuPerRequest(wrkPath: string, target: Target, key: string, seconds: number): Promise<number> {
  const pids = target.cpuPids();
  const before = cpuSnapshot(pids);
  const load = await wrk(wrkPath, target.url, key, CONNECTIONS, seconds);
  const after = cpuSnapshot(pids);
  if (wrkErrors(load) > 0) throw new Error(`${target.label}: ${wrkErrors(load)} failed requests in a CPU A/B run`);
  return before && after ? (((after.proxy - before.proxy) / CLK_TCK) * 1e6) / load.requests : NaN;
}

/**
 * CPU per request of `a` over `b`, each pair two load runs back to back (which goes first
 * alternates): this VM's speed drifts by +-20% over seconds, and runs a minute apart (the rounds)
 * compare badly. Returns the pairs' ratios.
 */
async function cpuRatios(wrkPath: string, a: Target, b: Target, key: string): Promise<number[]> {
  const ratios: number[] = [];
  for (let pair = 0; pair < CPU_AB_PAIRS; pair++) {
    const [first, second] = pair % 2 === 0 ? [a, b] : [b, a];
    const x = await cpuPerRequest(wrkPath, first, key, CPU_AB_SECONDS);
    const y = await cpuPerRequest(wrkPath, second, key, CPU_AB_SECONDS);
    ratios.push(first === a ? x / y : y / x);
  }
  return ratios;
}

/**
 * The telemetry's CPU per request, in place: one load run on the telemetry host while its
 * recording is switched on and off every TELEMETRY_SLICE_MS (same process, same connections,
 * same JIT state; "off" is a record callback that does nothing, so the router still makes the
 * record object, ~0.1 µs). Each slice's CPU per request comes from the host's own process.cpuUsage() and
 * request count; each "on" slice is compared with the mean of the "off" slices on either side (a
 * steady drift cancels). Returns those differences, in µs per request. The first and last two
 * slices (wrk starting and stopping) are left out.
 */
async function telemetryInPlace(wrkPath: string, target: Target, key: string): Promise<number[]> {
  const host = target.host!;
  const load = wrk(wrkPath, target.url, key, CONNECTIONS, TELEMETRY_SECONDS);
  let running = true;
  void load.finally(() => (running = false)).catch(() => undefined);
  const marks: { on: boolean; cpuUs: number; requests: number }[] = [];
  let on = false;
  await sleep(TELEMETRY_SLICE_MS);
  while (running) {
    on = !on;
    marks.push(await host.record(on));
    await sleep(TELEMETRY_SLICE_MS);
  }
  const result = await load;
  await host.record(true); // as the other configurations found it
  if (wrkErrors(result) > 0) throw new Error(`${target.label}: ${wrkErrors(result)} failed requests in the telemetry A/B`);
  // slice i runs from mark i to mark i+1, recording as mark i switched it
  const slices = marks.slice(0, -1).map((mark, i) => ({ on: mark.on, usPerRequest: (marks[i + 1]!.cpuUs - mark.cpuUs) / Math.max(1, marks[i + 1]!.requests - mark.requests) }));
  const steady = slices.slice(2, -2);
  const diffs: number[] = [];
  for (let i = 1; i < steady.length - 1; i++) {
    if (steady[i]!.on && !steady[i - 1]!.on && !steady[i + 1]!.on) diffs.push(steady[i]!.usPerRequest - (steady[i - 1]!.usPerRequest + steady[i + 1]!.usPerRequest) / 2);
  }
  return diffs;
}

async function measure(wrkPath: string, target: Target, key: string): Promise<{ sample: Sample; backlog?: Extract<HostReply, { type: 'stats' }> }> {
  await wrk(wrkPath, target.url, key, CONNECTIONS, 1); // warm-up: JIT, connection pools
  await target.host?.drain();
  const pids = HAVE_PROC ? target.cpuPids() : [];
  const before = cpuSnapshot(pids);
  const load = await wrk(wrkPath, target.url, key, CONNECTIONS, SECONDS);
  const after = cpuSnapshot(pids);
  const backlog = target.host ? await target.host.stats() : undefined;
  await target.host?.drain();
  const one = await wrk(wrkPath, target.url, key, 1, LATENCY_SECONDS);
  await target.host?.drain();
  const errors = wrkErrors(load) + wrkErrors(one);
  return {
    sample: {
      rps: load.requests / (load.duration_us / 1e6),
      loadP50: load.p50_us / 1000,
      loadP99: load.p99_us / 1000,
      p50: one.p50_us / 1000,
      p99: one.p99_us / 1000,
      latRps: one.requests / (one.duration_us / 1e6),
      errors,
      cpuUs: before && after && pids.length > 0 ? (((after.proxy - before.proxy) / CLK_TCK) * 1e6) / load.requests : NaN,
      foreignPct:
        before && after
          ? Math.max(0, (100 * (after.machine - before.machine - (after.own - before.own))) / CLK_TCK / (((after.at - before.at) / 1000) * cpus().length))
          : NaN,
    },
    backlog,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const nginx = which('nginx', SBIN_DIRS);
  const wrkPath = which('wrk', SBIN_DIRS);
  if (!nginx || !wrkPath) {
    const missing = [!nginx && 'nginx', !wrkPath && 'wrk'].filter(Boolean).join(' and ');
    console.error(`router bench: ${missing} not found on PATH (nor in /usr/sbin).`);
    console.error('Install them (Debian/Ubuntu): sudo apt-get update && sudo apt-get install -y nginx-light wrk');
    return 2;
  }
  if (!existsSync(HOST_SCRIPT)) {
    console.error(`router bench: ${HOST_SCRIPT} is missing; run npm run build first.`);
    return 2;
  }
  if (BASELINE_HOST_SCRIPT && !existsSync(BASELINE_HOST_SCRIPT)) {
    console.error(`router bench: BENCH_BASELINE has no ${BASELINE_HOST_SCRIPT}; build that checkout first (npm run build in it).`);
    return 2;
  }

  workDir = mkdtempSync(join(tmpdir(), 'oep-bench-router-'));
  chmodSync(workDir, 0o755); // nginx workers drop to an unprivileged user when started as root
  for (const sub of ['up-body', 'up-proxy', 'px-body', 'px-proxy']) mkdirSync(join(workDir, sub));

  const ports = {
    blue: await findFreePort(),
    green: await findFreePort(),
    slow: await findFreePort(),
    proxy: await findFreePort(),
    router: await findFreePort(),
    routerTelemetry: await findFreePort(),
    routerSingle: await findFreePort(),
    routerMirror: await findFreePort(),
    routerBaseline: await findFreePort(),
  };
  const keys = { primary: randomBytes(32).toString('base64url'), secondary: randomBytes(32).toString('base64url') };
  const origin = (port: number) => `http://127.0.0.1:${port}`;

  // The mirror target: answers 200 ms after the request arrived.
  const slow = createServer((req, res) => {
    req.resume();
    req.once('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'slow' }).end('{"ok":true}'), MIRROR_DELAY_MS));
  });
  slow.keepAliveTimeout = 60_000;
  servers.push(slow);
  await new Promise<void>((resolve) => slow.listen(ports.slow, '127.0.0.1', resolve));

  const values = { BLUE_PORT: ports.blue, GREEN_PORT: ports.green, PROXY_PORT: ports.proxy, PRIMARY_KEY: keys.primary, SECONDARY_KEY: keys.secondary };
  await startNginxFrom(nginx, workDir, 'upstream', 'nginx-upstream.conf', values, ports.blue);
  await waitForPort(ports.green, 'nginx (upstream green)');
  const proxyMaster = await startNginxFrom(nginx, workDir, 'proxy', 'nginx-proxy.conf', values, ports.proxy);

  const fast = { blue: origin(ports.blue), green: origin(ports.green) };
  const host = (port: number, traffic: Record<string, number>, mirror: Record<string, number>, upstreams: Record<string, string>, telemetry = false) =>
    RouterHost.start({ port, keys, traffic, mirror, upstreams, telemetry });
  const split = { blue: 90, green: 10 };
  const withSlowGreen = { blue: fast.blue, green: origin(ports.slow) };
  const [router, routerTelemetry, routerSingle, routerMirror] = await Promise.all([
    host(ports.router, split, {}, fast),
    host(ports.routerTelemetry, split, {}, fast, true),
    host(ports.routerSingle, { blue: 100 }, {}, withSlowGreen),
    host(ports.routerMirror, { blue: 100 }, { green: 100 }, withSlowGreen),
  ]);
  const routerBaseline = BASELINE_HOST_SCRIPT ? await RouterHost.start({ port: ports.routerBaseline, keys, traffic: split, mirror: {}, upstreams: fast, telemetry: false }, BASELINE_HOST_SCRIPT) : undefined;

  const dep = 'azureml-model-deployment';
  const routerTarget = (name: string, label: string, routerHost: RouterHost, port: number, expect: Record<string, number>): Target => ({
    name,
    label,
    url: `${origin(port)}/score`,
    expect,
    header: dep,
    host: routerHost,
    checksAuth: true,
    cpuPids: () => [routerHost.child.pid!],
  });
  const targets: Target[] = [
    {
      name: 'direct',
      label: '(a) direct to the scoring server (nginx return 200)',
      url: `${fast.blue}/score`,
      expect: { blue: 100 },
      header: 'x-upstream',
      checksAuth: false,
      cpuPids: () => [],
    },
    {
      name: 'nginx',
      label: '(c) nginx 90/10 + key check (1 worker)',
      url: `${origin(ports.proxy)}/score`,
      expect: split,
      header: dep,
      checksAuth: true,
      cpuPids: () => descendants(proxyMaster),
    },
    routerTarget('router', '(b) oep Router 90/10 + key auth', router, ports.router, split),
    routerTarget('router+telemetry', "(b') (b) + the daemon's access log and metrics", routerTelemetry, ports.routerTelemetry, split),
    routerTarget('router-100', '(d0) oep Router blue=100, no mirror', routerSingle, ports.routerSingle, { blue: 100 }),
    routerTarget('router-mirror', '(d) oep Router blue=100, mirror green=100 (green +200 ms)', routerMirror, ports.routerMirror, { blue: 100 }),
  ];
  if (routerBaseline) targets.push(routerTarget('router-baseline', `(b0) (b) with the router of ${BASELINE}`, routerBaseline, ports.routerBaseline, split));

  console.log(`router bench: ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim()}; node ${process.version}; ${versionOf(nginx, ['-v'])}; ${versionOf(wrkPath, ['-v'])}`);
  console.log(`method: ${WARMUP_SECONDS} s warm-up per configuration, then ${ROUNDS} rounds, rotated order; each: 1 s warm-up, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, wrk -t1 -c1 -d${LATENCY_SECONDS}s; medians over rounds`);
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  for (const target of targets) await verify(target, keys.primary);
  await routerMirror.drain();
  const mirrorStats = await routerMirror.stats();
  if (mirrorStats.router.green?.mirrored !== 100) throw new Error(`mirror: expected 100 mirrored copies after verification, got ${JSON.stringify(mirrorStats.router)}`);
  console.log('checks: 90/10 split exact over 100 requests (router, nginx); 401 with no key and a wrong key; 100 of 100 mirrored: ok');

  // JIT and connection pools: every configuration once before the first measured round.
  for (const target of targets) {
    await wrk(wrkPath, target.url, keys.primary, CONNECTIONS, WARMUP_SECONDS);
    await target.host?.drain();
  }

  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  let worstBacklog: Extract<HostReply, { type: 'stats' }> | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const target of order) {
      const { sample, backlog } = await measure(wrkPath, target, keys.primary);
      samples.get(target.name)!.push(sample);
      if (target.name === 'router-mirror' && backlog && (backlog.replicaInflight.green ?? 0) >= (worstBacklog?.replicaInflight.green ?? 0)) worstBacklog = backlog;
      console.log(
        `  round ${round + 1} ${target.name.padEnd(17)} ${sample.rps.toFixed(0).padStart(6)} req/s  cpu ${Number.isNaN(sample.cpuUs) ? '   -' : sample.cpuUs.toFixed(0).padStart(4)} us/req` +
          `  c${CONNECTIONS} p50 ${sample.loadP50.toFixed(2)} p99 ${sample.loadP99.toFixed(2)} ms  c1 p50 ${sample.p50.toFixed(3)} p99 ${sample.p99.toFixed(3)} ms` +
          `  other load ${sample.foreignPct.toFixed(0)}%${sample.errors ? `  ERRORS ${sample.errors}` : ''}`,
      );
    }
  }

  // The telemetry's cost is a few microseconds against run-to-run noise of +-10 on a shared VM:
  // it gets its own A/B inside one process and one load run (telemetryInPlace).
  const recorded = targets.find((t) => t.name === 'router+telemetry')!;
  const telemetryDiffs = await telemetryInPlace(wrkPath, recorded, keys.primary);
  // Likewise the router's CPU per request against nginx's: pairs of short runs back to back.
  const routerNginxCpu = HAVE_PROC ? await cpuRatios(wrkPath, targets.find((t) => t.name === 'router')!, targets.find((t) => t.name === 'nginx')!, keys.primary) : [];
  const sortedCpu = [...routerNginxCpu].sort((a, b) => a - b);
  if (routerNginxCpu.length > 0) {
    console.log(
      `  router/nginx CPU A/B: ${routerNginxCpu.length} pairs of ${CPU_AB_SECONDS} s runs: median ${median(routerNginxCpu).toFixed(2)} x, ` +
        `quartiles ${sortedCpu[Math.floor(sortedCpu.length / 4)]!.toFixed(2)} .. ${sortedCpu[Math.floor((3 * sortedCpu.length) / 4)]!.toFixed(2)}`,
    );
  }
  // And this tree's router against the baseline's, the same way.
  const baselineTarget = targets.find((t) => t.name === 'router-baseline');
  const routerBaselineCpu = baselineTarget && HAVE_PROC ? await cpuRatios(wrkPath, targets.find((t) => t.name === 'router')!, baselineTarget, keys.primary) : [];
  const sortedBaseline = [...routerBaselineCpu].sort((a, b) => a - b);
  if (routerBaselineCpu.length > 0) {
    console.log(
      `  router/baseline CPU A/B: ${routerBaselineCpu.length} pairs of ${CPU_AB_SECONDS} s runs: median ${median(routerBaselineCpu).toFixed(3)} x, ` +
        `quartiles ${sortedBaseline[Math.floor(sortedBaseline.length / 4)]!.toFixed(3)} .. ${sortedBaseline[Math.floor((3 * sortedBaseline.length) / 4)]!.toFixed(3)}`,
    );
  }
  const sortedDiffs = [...telemetryDiffs].sort((a, b) => a - b);
  console.log(
    `  telemetry A/B: ${telemetryDiffs.length} "on" slices of ${TELEMETRY_SLICE_MS} ms against their neighbours, (on) - (off) CPU per request: ` +
      `median ${median(telemetryDiffs).toFixed(2)} µs, mean ${(telemetryDiffs.reduce((a, b) => a + b, 0) / Math.max(1, telemetryDiffs.length)).toFixed(2)} µs, ` +
      `deciles ${sortedDiffs.length >= 10 ? `${sortedDiffs[Math.floor(sortedDiffs.length / 10)]!.toFixed(1)} .. ${sortedDiffs[Math.floor((9 * sortedDiffs.length) / 10)]!.toFixed(1)}` : '-'}`,
  );

  type Summary = Sample & { label: string };
  const summary: Record<string, Summary> = Object.fromEntries(targets.map((t) => [t.name, { label: t.label, ...medianOfRounds(samples.get(t.name)!) }]));
  /** Median over rounds of a per-round ratio (each round measures both sides minutes apart at most). */
  const pairedRatio = (a: string, b: string, f: (s: Sample) => number) => median(samples.get(a)!.map((s, i) => f(s) / f(samples.get(b)![i]!)));

  const d = summary.direct!;
  const r = summary.router!;
  const n = summary.nginx!;
  const m = summary['router-mirror']!;
  const m0 = summary['router-100']!;
  console.log('');
  console.log(`| configuration | req/s at c${CONNECTIONS} | proxy CPU per request | p50 / p99 at c${CONNECTIONS} (ms) | p50 / p99 at c1 (ms) | added p50 / p99 vs (a), c1 (ms) |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const t of targets) {
    const s = summary[t.name]!;
    const added = t.name === 'direct' ? '-' : `${(s.p50 - d.p50).toFixed(3)} / ${(s.p99 - d.p99).toFixed(3)}`;
    const cpu = Number.isNaN(s.cpuUs) ? '-' : `${s.cpuUs.toFixed(0)} µs`;
    console.log(`| ${s.label} | ${s.rps.toFixed(0)} | ${cpu} | ${s.loadP50.toFixed(2)} / ${s.loadP99.toFixed(2)} | ${s.p50.toFixed(3)} / ${s.p99.toFixed(3)} | ${added} |`);
  }
  const rpsRatio = pairedRatio('router', 'nginx', (s) => s.rps);
  const cpuRatio = routerNginxCpu.length > 0 ? median(routerNginxCpu) : pairedRatio('router', 'nginx', (s) => s.cpuUs);
  const telemetryUs = median(telemetryDiffs);
  const quartiles = sortedDiffs;
  const aims = [
    {
      what: `issue 15: router CPU per request <= 2 x nginx (median of ${routerNginxCpu.length} back-to-back pairs; per-round ratios ${samples.get('router')!.map((s, i) => (s.cpuUs / samples.get('nginx')![i]!.cpuUs).toFixed(2)).join(', ')})`,
      value: `${cpuRatio.toFixed(2)} x`,
      ok: cpuRatio <= 2,
    },
    {
      what: `issue 15: access log, metrics and series cost <= 5 µs CPU per request ((b') recording on - off, median of ${telemetryDiffs.length} slices)`,
      value: `${telemetryUs.toFixed(1)} µs (quartiles ${quartiles.length >= 4 ? `${quartiles[Math.floor(quartiles.length / 4)]!.toFixed(1)} .. ${quartiles[Math.floor((3 * quartiles.length) / 4)]!.toFixed(1)}` : '-'})`,
      ok: telemetryUs <= 5,
    },
    { what: 'router req/s >= 0.8 x nginx (median of per-round ratios)', value: `${rpsRatio.toFixed(2)} x`, ok: rpsRatio >= 0.8 },
    ...(routerBaselineCpu.length > 0
      ? [{ what: `router CPU per request not above the baseline's (${BASELINE}; median of ${routerBaselineCpu.length} back-to-back pairs)`, value: `${median(routerBaselineCpu).toFixed(3)} x`, ok: median(routerBaselineCpu) <= 1 }]
      : []),
    { what: 'router added p50 vs direct <= 1 ms (c1)', value: `${(r.p50 - d.p50).toFixed(3)} ms`, ok: r.p50 - d.p50 <= 1 },
    { what: 'mirror 100% to +200 ms: client p50 rise vs (d0) <= 1 ms (c1)', value: `${(m.p50 - m0.p50).toFixed(3)} ms`, ok: m.p50 - m0.p50 <= 1 },
    { what: 'mirror 100% to +200 ms: client p50 rise vs (b) <= 1 ms (c1)', value: `${(m.p50 - r.p50).toFixed(3)} ms`, ok: m.p50 - r.p50 <= 1 },
  ];
  console.log('');
  for (const aim of aims) console.log(`aim: ${aim.what}: ${aim.value} -> ${aim.ok ? 'met' : 'MISSED'}`);
  console.log(
    `info: ratio of medians router/nginx req/s ${(r.rps / n.rps).toFixed(2)} x; CPU per request router/nginx ${(r.cpuUs / n.cpuUs).toFixed(1)} x; ` +
      `(b')/nginx req/s ${pairedRatio('router+telemetry', 'nginx', (s) => s.rps).toFixed(2)} x, (b') CPU per request +${(summary['router+telemetry']!.cpuUs - r.cpuUs).toFixed(0)} µs over (b)`,
  );
  console.log(
    `info: mirror under c${CONNECTIONS} load: (d)/(d0) req/s ${pairedRatio('router-mirror', 'router-100', (s) => s.rps).toFixed(2)} x; p50 at c${CONNECTIONS} ${m0.loadP50.toFixed(2)} -> ${m.loadP50.toFixed(2)} ms; ` +
      `largest backlog right after a load run: ${worstBacklog?.replicaInflight.green ?? 0} mirrored copies in flight or queued, router rss ${worstBacklog?.rssMb ?? 0} MB (heap ${worstBacklog?.heapUsedMb ?? 0} MB)`,
  );
  console.log(`info: CPU used outside this bench during load runs: median ${median(targets.flatMap((t) => samples.get(t.name)!.map((s) => s.foreignPct))).toFixed(0)}% of the machine; load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), summary, samples: Object.fromEntries(samples), telemetryDiffs, routerNginxCpu, routerBaselineCpu, aims, worstBacklog }, null, 2));
  }
  const errors = Object.values(summary).reduce((sum, s) => sum + s.errors, 0);
  if (errors > 0) {
    console.error(`router bench: ${errors} failed requests (see ERRORS above); the numbers are not trustworthy`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`router bench failed: ${(error as Error).stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(code);
