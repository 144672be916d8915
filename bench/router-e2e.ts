/**
 * End to end through the router (issue 15): in one run on this machine, the quickstart deployment
 * (examples/quickstart: a stdlib linear model served by oep's Python scoring server on the process
 * runtime, request_settings.max_concurrent_requests_per_instance 8) called (1) directly at its
 * replica's port and (2) through the endpoint's scoring URI, i.e. oep's router in the daemon.
 * Aim: through the router >= 0.9x the direct call's requests/s.
 *
 *   npm run build && node dist/bench/router-e2e.js
 *
 * Needs wrk on PATH (Debian: apt-get install -y wrk) and the process runtime's Python (python3 by
 * default, as for oep; BENCH_PYTHON sets OEP_PYTHON for the bench's deployment create). Everything binds
 * 127.0.0.1 and lives in a temporary OEP_HOME that is removed at the end (`oep daemon stop` stops
 * the replica), on failure and Ctrl-C too.
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_SECONDS (5, per load run), BENCH_WARMUP_SECONDS (5,
 * per target before the first round), BENCH_PIN_REPLICA (a CPU list for `taskset`, e.g. 1: pins the
 * replica's processes and all their threads there for the whole run; default: not pinned),
 * BENCH_JSON (write the results there too), BENCH_NEW_CONNECTIONS=1 (every request on a new
 * connection: wrk sends `Connection: close`, so each request pays a connect and an accept),
 * BENCH_BASELINE (a folder holding an earlier checkout of oep, built: its daemon and its own
 * quickstart replica, in a second OEP_HOME, are measured the same way in the same rounds, direct
 * and through its router; pinned alike with BENCH_PIN_REPLICA), BENCH_NGINX=0 (no nginx target).
 *
 * The peer: when nginx is installed (Debian: apt-get install -y nginx-light), (3) nginx doing the
 * router's job (bench/fixtures/router/nginx-e2e.conf: key check, kept-alive upstream connections,
 * the replica secret added, x-request-id both ways, azureml-model-deployment) in front of the same
 * replica, one process like the daemon's event loop, measured in the same rounds: what a proxy
 * written in C reaches on this machine against the same direct call. And (4) the floor of any
 * proxy written for Node (dist/bench/node-relay.js: bytes copied between each client connection
 * and one of its own to the replica, nothing parsed; wrk sends the replica secret itself, as on the
 * direct call); BENCH_RELAY=0 leaves it out. And (5) a minimal HTTP proxy in Node
 * (dist/bench/node-minimal-proxy.js: the router's per-request work for the common request and
 * nothing more): what the router's data path could cost; BENCH_MINIMAL=0 leaves it out.
 *
 * Method. The replica's port answers 401 unless the request carries the deployment's replica secret
 * (the header the router adds); the bench gets it from the project's own replicaSecret() for its
 * OEP_HOME, and the replica's origin and pid from `oep deployment show`. Both targets get the same
 * POST (examples/quickstart/sample-request.json, with the endpoint key from `oep endpoint
 * get-credentials`; the direct call also sends the secret header) through bench/fixtures/wrk-post.lua,
 * and must answer 200 with the same body before anything is timed. Each round runs both targets,
 * which one goes first alternating between rounds: 1 s warm-up, then wrk -t1 -c8 -d$BENCH_SECONDS.
 * Medians over rounds; the ratio is the median of the per-round ratios. From /proc: CPU time per
 * request of the daemon process (the router lives in it), of its keeper, of the replica (its server process and
 * worker), of wrk, the system (kernel) part of the first two, the cores they kept busy together,
 * and the CPU used outside the bench during each run. Exit code 0 when the aim
 * holds, 1 when not (or a request failed), 2 when a tool is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { REPLICA_SECRET_HEADER } from '../src/model/server-contract.js';
import { findFreePort } from '../src/runtimes/free-port.js';
import { replicaSecret } from '../src/state/secrets.js';
import { CLK_TCK, descendants, fill, HAVE_PROC, machineBusyTicks, median, medianOfRounds, procStatFields, processTicks, REPO_ROOT, runWrk, startNginx, versionOf, which, wrkErrors, type WrkResult } from './harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
/** max_concurrent_requests_per_instance, and wrk's connections (issue 15's setting). */
const CONCURRENCY = 8;
const AIM = 0.9;
const QUICKSTART = join(REPO_ROOT, 'examples', 'quickstart');
const BODY_FILE = join(QUICKSTART, 'sample-request.json');
const ENDPOINT = 'quickstart';
const DEPLOYMENT = 'blue';
const PIN_REPLICA = process.env.BENCH_PIN_REPLICA;
const NEW_CONNECTIONS = process.env.BENCH_NEW_CONNECTIONS === '1';
const BASELINE = process.env.BENCH_BASELINE;
const NGINX_TEMPLATE = join(REPO_ROOT, 'bench', 'fixtures', 'router', 'nginx-e2e.conf');

interface Target {
  /** nginx, relay, minimal: the peers (their process is `daemonPid`, so the daemon columns are theirs). */
  name: 'direct' | 'router' | 'nginx' | 'relay' | 'minimal';
  /** Which oep runs it: this checkout, or the baseline's (BENCH_BASELINE). */
  stack: Stack;
  label: string;
  url: string;
  /** The arguments of wrk-post.lua after the body file: the key, then extra headers (the direct call's secret, `Connection: close`). */
  scriptArgs: string[];
  headers: Record<string, string>;
  daemonPid: number;
  /** The keeper's (it accepted every connection and passed it to the daemon before issue 28), or undefined without one. */
  keeperPid: number | undefined;
  replicaPids: number[];
}

/** What a target is called in the output and the JSON: `direct`, `router`, `baseline direct`, `baseline router`. */
function targetKey(target: Target): string {
  return target.stack.baseline ? `baseline ${target.name}` : target.name;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time per request, in microseconds, of the daemon, the replica (server + workers) and wrk. */
  daemonUs: number;
  /** The keeper's CPU time per request (0 without a keeper). */
  keeperUs: number;
  replicaUs: number;
  wrkUs: number;
  /** The part of daemonUs and replicaUs spent in the kernel (system time: socket reads and writes, wake-ups). */
  daemonSysUs: number;
  replicaSysUs: number;
  /** CPU of the daemon, the replica and wrk together, in cores (1 = one CPU busy all the time). */
  cores: number;
  /** CPU used outside this bench's processes during the run (interrupts included), in % of the whole machine. */
  foreignPct: number;
}

// ---------------------------------------------------------------------------------------------
// What the bench starts: wrk runs (tracked) and, per oep measured, a daemon in its own OEP_HOME
// (stack.close() stops it and its replica and removes the home), whatever happens.

/** One oep (this checkout's, or the baseline's) and its OEP_HOME. */
class Stack {
  readonly home = mkdtempSync(join(tmpdir(), 'oep-bench-'));

  constructor(
    /** The checkout: its bin/oep.js runs the commands. */
    readonly root: string,
    readonly baseline: boolean,
  ) {}

  get bin(): string {
    return join(this.root, 'bin', 'oep.js');
  }

  /** Runs the CLI in this home and returns its stdout; fails loudly when the command fails. */
  oep(args: string[], env: NodeJS.ProcessEnv = {}): string {
    const result = spawnSync(process.execPath, [this.bin, ...args], { env: { ...process.env, OEP_HOME: this.home, NO_COLOR: '1', ...env }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${this.baseline ? 'baseline ' : ''}oep ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    return result.stdout;
  }

  close(): void {
    spawnSync(process.execPath, [this.bin, 'daemon', 'stop'], { env: { ...process.env, OEP_HOME: this.home } });
    rmSync(this.home, { recursive: true, force: true });
  }
}

const stacks: Stack[] = [new Stack(REPO_ROOT, false)];
const children = new Set<ChildProcess>();
let closed = false;
/** nginx's prefix folder (its configuration, pid and temp files), removed at the end. */
let nginxDir: string | undefined;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
  if (closed) return;
  closed = true;
  for (const stack of stacks) stack.close();
  if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`router-e2e bench: ${signal}, stopping everything it started`);
    cleanup();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux), as bench/router.ts does.

/** stime of a process (all its threads), in ticks. */
function systemTicks(pid: number): number {
  const fields = procStatFields(pid);
  return fields ? Number(fields[12]) : 0;
}

interface CpuSnapshot {
  at: number;
  machine: number;
  /** This process, its live descendants and its reaped children (the wrk runs). */
  bench: number;
  /** Reaped children of this process: a wrk run that ended inside the interval. */
  reaped: number;
  daemon: number;
  keeper: number;
  replica: number;
  daemonSys: number;
  replicaSys: number;
}

/**
 * The daemon process alone (its own threads; its children are the replicas), the replica's
 * processes (the server and its workers), this bench's own tree. The daemon is not a child of the
 * bench (the CLI starts it detached), so the bench's tree and the daemon's tree are both "own".
 */
function cpuSnapshot(daemonPid: number, keeperPid: number | undefined, replicaPids: number[]): CpuSnapshot | undefined {
  if (!HAVE_PROC) return undefined;
  const self = procStatFields(process.pid);
  const reaped = self ? Number(self[13]) + Number(self[14]) : 0;
  const bench = [process.pid, ...descendants(process.pid)].reduce((sum, pid) => sum + processTicks(pid), reaped);
  const replicaTree = replicaPids.flatMap((pid) => [pid, ...descendants(pid)]);
  const replica = replicaTree.reduce((sum, pid) => sum + processTicks(pid), 0);
  const replicaSys = replicaTree.reduce((sum, pid) => sum + systemTicks(pid), 0);
  return { at: performance.now(), machine: machineBusyTicks(), bench, reaped, daemon: processTicks(daemonPid), keeper: keeperPid === undefined ? 0 : processTicks(keeperPid), replica, daemonSys: systemTicks(daemonPid), replicaSys };
}

// ---------------------------------------------------------------------------------------------

function wrk(wrkPath: string, target: Target, seconds: number): Promise<WrkResult> {
  return runWrk({
    wrk: wrkPath,
    url: target.url,
    scriptArgs: [BODY_FILE, ...target.scriptArgs],
    connections: CONCURRENCY,
    seconds,
    start: (command, args) => track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })),
    kill: (child) => child.kill('SIGKILL'),
  });
}

async function post(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: readFileSync(BODY_FILE) });
  return { status: response.statusCode, body: await response.body.text() };
}

/** Both targets of a stack answer 200 with the same body (20 requests each); the replica refuses a request without the secret. */
async function verify(targets: Target[], replicaUrl: string, key: string): Promise<string> {
  const bodies = new Set<string>();
  for (const target of targets) {
    for (let i = 0; i < 20; i++) {
      const { status, body } = await post(target.url, target.headers);
      if (status !== 200) throw new Error(`${target.label}: status ${status} ${body}`);
      bodies.add(body);
    }
  }
  if (bodies.size !== 1) throw new Error(`the targets answered different bodies: ${[...bodies].join(' | ')}`);
  const refused = await post(replicaUrl, { authorization: `Bearer ${key}` });
  if (refused.status !== 401) throw new Error(`the replica answered ${refused.status} without ${REPLICA_SECRET_HEADER} (expected 401): the direct call would not be what the router does`);
  const wrongKey = await post(targets.find((t) => t.name === 'router')!.url, { authorization: 'Bearer wrong-key' });
  if (wrongKey.status !== 401) throw new Error(`the router answered ${wrongKey.status} to a wrong key (expected 401)`);
  return [...bodies][0]!;
}

async function measure(wrkPath: string, target: Target): Promise<Sample> {
  const { daemonPid, keeperPid, replicaPids } = target;
  await wrk(wrkPath, target, 1); // warm-up: connection pools, JIT
  const before = cpuSnapshot(daemonPid, keeperPid, replicaPids);
  const load = await wrk(wrkPath, target, SECONDS);
  const after = cpuSnapshot(daemonPid, keeperPid, replicaPids);
  const perRequest = (ticks: number) => ((ticks / CLK_TCK) * 1e6) / load.requests;
  let cpu = { daemonUs: NaN, keeperUs: NaN, replicaUs: NaN, wrkUs: NaN, daemonSysUs: NaN, replicaSysUs: NaN, cores: NaN, foreignPct: NaN };
  if (before && after) {
    const seconds = (after.at - before.at) / 1000;
    const daemon = after.daemon - before.daemon;
    const replica = after.replica - before.replica;
    const keeper = after.keeper - before.keeper;
    const wrkTicks = after.reaped - before.reaped;
    // Own: the bench's tree (wrk included) and the daemon's (the daemon and the replica).
    const own = after.bench - before.bench + daemon + keeper + replica;
    cpu = {
      daemonUs: perRequest(daemon),
      keeperUs: perRequest(keeper),
      replicaUs: perRequest(replica),
      wrkUs: perRequest(wrkTicks),
      daemonSysUs: perRequest(after.daemonSys - before.daemonSys),
      replicaSysUs: perRequest(after.replicaSys - before.replicaSys),
      cores: (daemon + keeper + replica + wrkTicks) / CLK_TCK / seconds,
      foreignPct: Math.max(0, (100 * (after.machine - before.machine - own)) / CLK_TCK / (seconds * cpus().length)),
    };
  }
  return { rps: load.requests / (load.duration_us / 1e6), p50: load.p50_us / 1000, p99: load.p99_us / 1000, errors: wrkErrors(load), ...cpu };
}

/**
 * A stack's daemon, the quickstart deployment on the process runtime, and its two targets (the
 * replica's port with the secret, the scoring URI), checked before anything is timed; the replica
 * pinned when asked.
 */
async function setUpStack(stack: Stack, python: string | undefined): Promise<{ targets: Target[]; body: string; replicaOrigin: string; interpreter: string; key: string; secret: string; path: string }> {
  stack.oep(['daemon', 'start', '-o', 'none']);
  stack.oep(['endpoint', 'create', '-f', join(QUICKSTART, 'endpoint.yml'), '-o', 'none']);
  // The process runtime's interpreter is the create command's (OEP_PYTHON when BENCH_PYTHON is set; else oep's default).
  stack.oep(
    [
      'deployment', 'create', '-f', join(QUICKSTART, 'blue-deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none',
      '--set', `request_settings.max_concurrent_requests_per_instance=${CONCURRENCY}`,
    ],
    python ? { OEP_PYTHON: python } : {},
  );
  const scoringUri = stack.oep(['endpoint', 'show', '-n', ENDPOINT, '--query', 'scoring_uri', '-o', 'tsv']).trim();
  const key = stack.oep(['endpoint', 'get-credentials', '-n', ENDPOINT, '--query', 'primaryKey', '-o', 'tsv']).trim();
  const status = JSON.parse(stack.oep(['daemon', 'status', '-o', 'json'])) as { pid: number; keeper?: { pid: number } | null };
  const daemonPid = Number(status.pid);
  const keeperPid = status.keeper ? Number(status.keeper.pid) : undefined;
  const shown = JSON.parse(stack.oep(['deployment', 'show', '-n', DEPLOYMENT, '-e', ENDPOINT, '-o', 'json'])) as {
    replicas: { origin: string; pid: number | null; ready: boolean }[];
    request_settings: { max_concurrent_requests_per_instance: number };
    runtime: string;
  };
  if (shown.runtime !== 'process' || shown.replicas.length !== 1 || !shown.replicas[0]!.ready || !shown.replicas[0]!.pid) {
    throw new Error(`expected one ready replica on the process runtime, got ${JSON.stringify(shown)}`);
  }
  if (shown.request_settings.max_concurrent_requests_per_instance !== CONCURRENCY) throw new Error(`max_concurrent_requests_per_instance is ${shown.request_settings.max_concurrent_requests_per_instance}`);
  const replica = shown.replicas[0]!;
  // The router sends /score to the replica's scoring path, which is /score on the process runtime;
  // the check below (200 and the same body on both) confirms the direct call reaches the same route.
  const replicaUrl = `${replica.origin}${new URL(scoringUri).pathname}`;
  const secret = replicaSecret(stack.home, ENDPOINT, DEPLOYMENT);
  const close = NEW_CONNECTIONS ? ['Connection: close'] : [];
  const closeHeader: Record<string, string> = NEW_CONNECTIONS ? { connection: 'close' } : {};
  const replicaPids = [replica.pid!];
  const prefix = stack.baseline ? 'baseline ' : '';
  const targets: Target[] = [
    {
      name: 'direct',
      stack,
      label: `${prefix}(1) direct to the replica port (+ replica secret)`,
      url: replicaUrl,
      scriptArgs: [key, `${REPLICA_SECRET_HEADER}: ${secret}`, ...close],
      headers: { authorization: `Bearer ${key}`, [REPLICA_SECRET_HEADER]: secret, ...closeHeader },
      daemonPid,
      keeperPid,
      replicaPids,
    },
    {
      name: 'router',
      stack,
      label: `${prefix}(2) through oep's router (scoring URI, key auth)`,
      url: scoringUri,
      scriptArgs: [key, '', ...close],
      headers: { authorization: `Bearer ${key}`, ...closeHeader },
      daemonPid,
      keeperPid,
      replicaPids,
    },
  ];
  const body = await verify(targets, replicaUrl, key);
  if (PIN_REPLICA) {
    // Threads made later (one per connection) inherit the affinity of the thread that makes them.
    for (const pid of [replica.pid!, ...descendants(replica.pid!)]) {
      const pinned = spawnSync('taskset', ['-a', '-p', '-c', PIN_REPLICA, String(pid)], { encoding: 'utf8' });
      if (pinned.status !== 0) throw new Error(`taskset -a -p -c ${PIN_REPLICA} ${pid} failed: ${pinned.stderr || pinned.error?.message}`);
    }
  }
  const interpreter = HAVE_PROC ? readlinkSync(`/proc/${replica.pid}/exe`) : (python ?? 'python3');
  console.log(
    `${prefix}deployment: ${ENDPOINT}/${DEPLOYMENT} (examples/quickstart, oep at ${stack.root}), process runtime, 1 replica (pid ${replica.pid}, ${replica.origin}), ` +
      `max_concurrent_requests_per_instance ${CONCURRENCY}; daemon pid ${daemonPid}${keeperPid === undefined ? ', no keeper' : `, keeper pid ${keeperPid}`}${PIN_REPLICA ? `; replica pinned to CPU ${PIN_REPLICA}` : ''}`,
  );
  console.log(`${prefix}targets: direct ${replicaUrl}; router ${scoringUri}; both answered 200 ${body.trim()}; the replica answers 401 without ${REPLICA_SECRET_HEADER}`);
  return { targets, body, replicaOrigin: replica.origin, interpreter, key, secret, path: new URL(scoringUri).pathname };
}

/**
 * The peer: nginx in front of this checkout's replica, doing the router's job, checked like the
 * router (200 and the same body, 401 for a wrong key).
 */
async function setUpNginx(nginx: string, stack: Stack, set: { replicaOrigin: string; key: string; secret: string; path: string; body: string; targets: Target[] }): Promise<Target> {
  nginxDir = mkdtempSync(join(tmpdir(), 'oep-bench-nginx-'));
  chmodSync(nginxDir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(nginxDir, sub));
  const port = await findFreePort();
  const config = fill(readFileSync(NGINX_TEMPLATE, 'utf8'), {
    DIR: nginxDir,
    PORT: port,
    REPLICA: new URL(set.replicaOrigin).host,
    PATH: set.path,
    KEY: set.key,
    SECRET_HEADER: REPLICA_SECRET_HEADER,
    SECRET: set.secret,
    DEPLOYMENT,
  });
  const pid = await startNginx(nginx, nginxDir, 'nginx', config, port, track);
  const direct = set.targets.find((t) => t.name === 'direct')!;
  const close = NEW_CONNECTIONS ? ['Connection: close'] : [];
  const target: Target = {
    name: 'nginx',
    stack,
    label: '(3) through nginx (the same job, 1 process)',
    url: `http://127.0.0.1:${port}${set.path}`,
    scriptArgs: [set.key, '', ...close],
    headers: { authorization: `Bearer ${set.key}`, ...(NEW_CONNECTIONS ? { connection: 'close' } : {}) },
    daemonPid: pid,
    keeperPid: undefined,
    replicaPids: direct.replicaPids,
  };
  for (let i = 0; i < 20; i++) {
    const { status, body } = await post(target.url, target.headers);
    if (status !== 200 || body !== set.body) throw new Error(`nginx: status ${status} ${body} (expected 200 ${set.body})`);
  }
  const wrongKey = await post(target.url, { authorization: 'Bearer wrong-key' });
  if (wrongKey.status !== 401) throw new Error(`nginx answered ${wrongKey.status} to a wrong key (expected 401)`);
  console.log(`peer: nginx (pid ${pid}, ${versionOf(nginx, ['-v'])}) at ${target.url}: answered 200 with the same body, 401 to a wrong key`);
  return target;
}

/**
 * A Node peer in front of this checkout's replica: node-relay.js (the client sends the secret, as
 * on the direct call) or node-minimal-proxy.js (the key checked, the secret added), checked like
 * the router (200 and the same body).
 */
async function setUpNodePeer(name: 'relay' | 'minimal', set: { replicaOrigin: string; key: string; secret: string; path: string; body: string; targets: Target[] }): Promise<Target> {
  const port = await findFreePort();
  const upstream = new URL(set.replicaOrigin).host;
  const [script, args, label] =
    name === 'relay'
      ? ['node-relay.js', [String(port), upstream], '(4) through a Node byte relay (the floor of a Node proxy)']
      : ['node-minimal-proxy.js', [String(port), upstream, set.key, REPLICA_SECRET_HEADER, set.secret, DEPLOYMENT], "(5) through a minimal HTTP proxy in Node (the router's work, nothing more)"];
  const child = track(spawn(process.execPath, [join(REPO_ROOT, 'dist', 'bench', script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] }));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  const direct = set.targets.find((t) => t.name === 'direct')!;
  const url = `http://127.0.0.1:${port}${set.path}`;
  const router = set.targets.find((t) => t.name === 'router')!;
  const target: Target = { ...(name === 'relay' ? direct : router), name, label, url, daemonPid: child.pid!, keeperPid: undefined };
  for (let i = 0; i < 20; i++) {
    const { status, body } = await post(target.url, target.headers);
    if (status !== 200 || body !== set.body) throw new Error(`${script}: status ${status} ${body} (expected 200 ${set.body})`);
  }
  console.log(`peer: ${script} (pid ${child.pid}) at ${target.url}: answered 200 with the same body`);
  return target;
}

async function main(): Promise<number> {
  const wrkPath = which('wrk', ['/usr/sbin', '/usr/local/sbin']);
  if (!wrkPath) {
    console.error('router-e2e bench: wrk not found on PATH. Install it (Debian/Ubuntu): sudo apt-get install -y wrk');
    return 2;
  }
  const python = process.env.BENCH_PYTHON;
  if (python && spawnSync(python, ['-c', 'import sys; assert sys.version_info >= (3, 8)']).status !== 0) {
    console.error(`router-e2e bench: BENCH_PYTHON=${python} is not a python3 >= 3.8`);
    return 2;
  }
  if (BASELINE) {
    if (!existsSync(join(BASELINE, 'dist', 'src', 'daemon', 'main.js'))) {
      console.error(`router-e2e bench: BENCH_BASELINE=${BASELINE} has no dist/src/daemon/main.js; build that checkout first (npm run build in it).`);
      return 2;
    }
    stacks.push(new Stack(BASELINE, true));
  }

  console.log(`router-e2e bench: ${new Date().toISOString()}`);
  const targets: Target[] = [];
  const bodies = new Set<string>();
  let interpreter = '';
  const nginx = process.env.BENCH_NGINX === '0' ? undefined : which('nginx', ['/usr/sbin', '/usr/local/sbin', '/sbin']);
  for (const stack of stacks) {
    const set = await setUpStack(stack, python);
    targets.push(...set.targets);
    bodies.add(set.body);
    interpreter = set.interpreter;
    if (nginx && !stack.baseline) targets.push(await setUpNginx(nginx, stack, set));
    if (process.env.BENCH_RELAY !== '0' && !stack.baseline) targets.push(await setUpNodePeer('relay', set));
    if (process.env.BENCH_MINIMAL !== '0' && !stack.baseline) targets.push(await setUpNodePeer('minimal', set));
  }
  if (!nginx && process.env.BENCH_NGINX !== '0') console.log('peer: nginx is not installed (apt-get install -y nginx-light): no nginx target');
  if (bodies.size !== 1) throw new Error(`this oep and the baseline answered different bodies: ${[...bodies].join(' | ')}`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim()}; node ${process.version}; ${versionOf(interpreter, ['-V'])} (${interpreter}); ${versionOf(wrkPath, ['-v'])}`);
  console.log(
    `method: ${WARMUP_SECONDS} s warm-up per target, then ${ROUNDS} rounds, order alternated; each: 1 s warm-up, wrk -t1 -c${CONCURRENCY} -d${SECONDS}s` +
      `${NEW_CONNECTIONS ? ', every request on a new connection (Connection: close)' : ', kept-alive connections'}; medians over rounds`,
  );
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  for (const target of targets) await wrk(wrkPath, target, WARMUP_SECONDS);

  const samples = new Map<string, Sample[]>(targets.map((t) => [targetKey(t), []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const s = await measure(wrkPath, target);
      samples.get(targetKey(target))!.push(s);
      console.log(
        `  round ${round + 1} ${targetKey(target).padEnd(15)} ${s.rps.toFixed(0).padStart(6)} req/s  p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} ms` +
          `  cpu/req ${target.name === 'direct' || target.name === 'router' ? 'daemon' : target.name} ${s.daemonUs.toFixed(1)} (sys ${s.daemonSysUs.toFixed(1)}) keeper ${s.keeperUs.toFixed(1)} replica ${s.replicaUs.toFixed(1)} (sys ${s.replicaSysUs.toFixed(1)}) wrk ${s.wrkUs.toFixed(1)} us  (${s.cores.toFixed(2)} cores)` +
          `  other load ${s.foreignPct.toFixed(0)}%${s.errors ? `  ERRORS ${s.errors}` : ''}`,
      );
    }
  }

  const summary = Object.fromEntries(targets.map((t) => [targetKey(t), { label: t.label, ...medianOfRounds(samples.get(targetKey(t))!) }])) as Record<string, Sample & { label: string }>;
  /** Per round, router req/s over direct req/s of the same stack. */
  const ratiosOf = (prefix: string): number[] => samples.get(`${prefix}router`)!.map((s, i) => s.rps / samples.get(`${prefix}direct`)![i]!.rps);
  const ratios = ratiosOf('');
  const ratio = median(ratios);

  console.log('');
  console.log(`| target | req/s at c${CONCURRENCY} | p50 / p99 (ms) | proxy CPU per request: daemon or nginx (system) | keeper CPU per request | replica CPU per request (system) | wrk CPU per request | cores busy (daemon + keeper + replica + wrk) |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of targets) {
    const s = summary[targetKey(t)]!;
    console.log(
      `| ${s.label} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} / ${s.p99.toFixed(2)} | ${s.daemonUs.toFixed(0)} µs (${s.daemonSysUs.toFixed(0)}) | ${s.keeperUs.toFixed(0)} µs | ${s.replicaUs.toFixed(0)} µs (${s.replicaSysUs.toFixed(0)}) | ${s.wrkUs.toFixed(0)} µs | ${s.cores.toFixed(2)} |`,
    );
  }
  const ok = ratio >= AIM;
  console.log('');
  console.log(`aim: router req/s >= ${AIM} x direct (median of per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}): ${ratio.toFixed(2)} x -> ${ok ? 'met' : 'MISSED'}`);
  /** Per round, a target's req/s over another's. */
  const perRound = (of: string, over: string): number[] => samples.get(of)!.map((s, i) => s.rps / samples.get(over)![i]!.rps);
  const rounds = (ratios: number[]): string => `${median(ratios).toFixed(2)} x (per round ${ratios.map((x) => x.toFixed(2)).join(', ')})`;
  const peerRatios: Record<string, number[]> = {};
  const PEER_NAMES = { nginx: 'nginx', relay: 'Node byte relay', minimal: 'minimal Node proxy' } as const;
  for (const peer of ['nginx', 'relay', 'minimal'] as const) {
    if (!samples.has(peer)) continue;
    const ratios = (peerRatios[peer] = perRound(peer, 'direct'));
    const daemonUs = summary.router!.daemonUs;
    const peerUs = summary[peer]!.daemonUs;
    console.log(
      `peer: ${PEER_NAMES[peer]}/direct ${rounds(ratios)}, ${median(ratios) >= AIM ? 'at' : 'below'} the aim; router/${peer} req/s ${rounds(perRound('router', peer))}; ` +
        `proxy CPU per request: daemon ${daemonUs.toFixed(1)} µs, ${peer} ${peerUs.toFixed(1)} µs (${(daemonUs / peerUs).toFixed(2)} x)`,
    );
  }
  let baselineRatios: number[] | undefined;
  if (BASELINE) {
    baselineRatios = ratiosOf('baseline ');
    const routerGain = samples.get('router')!.map((s, i) => s.rps / samples.get('baseline router')![i]!.rps);
    console.log(`baseline: its router/direct ${median(baselineRatios).toFixed(2)} x (per round ${baselineRatios.map((r) => r.toFixed(2)).join(', ')}); this router's req/s over the baseline router's: ${median(routerGain).toFixed(2)} x (per round ${routerGain.map((r) => r.toFixed(2)).join(', ')})`);
  }
  const d = summary.direct!;
  const r = summary.router!;
  console.log(
    `info: CPU per request through the router: daemon ${r.daemonUs.toFixed(1)} µs, keeper ${r.keeperUs.toFixed(1)} µs, replica ${r.replicaUs.toFixed(1)} µs (direct: ${d.replicaUs.toFixed(1)} µs), wrk ${r.wrkUs.toFixed(1)} µs (direct: ${d.wrkUs.toFixed(1)} µs); ` +
      `all four ${(r.daemonUs + r.keeperUs + r.replicaUs + r.wrkUs).toFixed(1)} vs ${(d.daemonUs + d.keeperUs + d.replicaUs + d.wrkUs).toFixed(1)} µs`,
  );
  console.log(`info: CPU used outside this bench during the load runs: median ${median([...samples.values()].flat().map((s) => s.foreignPct)).toFixed(0)}% of the machine; load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), newConnections: NEW_CONNECTIONS, summary, samples: Object.fromEntries(samples), ratios, ratio, peerRatios, baselineRatios, aim: AIM }, null, 2));
  }
  const errors = [...samples.values()].flat().reduce((sum, s) => sum + s.errors, 0);
  if (errors > 0) {
    console.error(`router-e2e bench: ${errors} failed requests (see ERRORS above); the numbers are not trustworthy`);
    return 1;
  }
  return ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`router-e2e bench failed: ${(error as Error).stack ?? error}`);
} finally {
  cleanup();
}
process.exit(code);
