import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OEP_BIN = join(REPO_ROOT, 'bin', 'oep.js');
/** The wrk script both load benches use: POST a body file, optionally with a bearer key; prints WRKJSON. */
export const WRK_POST_SCRIPT = join(REPO_ROOT, 'bench', 'fixtures', 'wrk-post.lua');

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One configuration's rounds summed up: each field's median over the rounds, `errors` added up. */
export function medianOfRounds<T extends { [K in keyof T]: number } & { errors: number }>(rounds: T[]): T {
  const fields = Object.keys(rounds[0]!) as (keyof T)[];
  return Object.fromEntries(
    fields.map((field) => [field, field === 'errors' ? rounds.reduce((sum, round) => sum + round.errors, 0) : median(rounds.map((round) => round[field]))]),
  ) as T;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Wall time of one command, in ms. Fails loudly when the command fails. */
export function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return elapsed;
}

/** A temporary OEP_HOME; `oep(args)` runs the CLI there. */
export class BenchHome {
  readonly home = mkdtempSync(join(tmpdir(), 'oep-bench-'));

  oep(args: string[], env: NodeJS.ProcessEnv = {}): number {
    return timeCommand(process.execPath, [OEP_BIN, ...args], { OEP_HOME: this.home, NO_COLOR: '1', ...env });
  }

  close(): void {
    spawnSync(process.execPath, [OEP_BIN, 'daemon', 'stop'], { env: { ...process.env, OEP_HOME: this.home } });
    rmSync(this.home, { recursive: true, force: true });
  }
}

export function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/** A command's path: the first directory of PATH, then of `extraDirs`, that has it. */
export function which(command: string, extraDirs: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extraDirs]) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The fields of /proc/<pid>/stat from field 3 (state) on, or undefined when the process is gone (Linux). */
export function procStatFields(pid: number | string): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc's CPU times. */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
/** Whether /proc can be read (Linux): CPU figures are left out without it. */
export const HAVE_PROC = existsSync('/proc/stat');

/** utime + stime of a process (all its threads), in ticks. */
export function processTicks(pid: number): number {
  const fields = procStatFields(pid);
  return fields ? Number(fields[11]) + Number(fields[12]) : 0;
}

/** Every live descendant of a process (children, their children, ...). */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procStatFields(Number(entry));
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        out.push(pid);
        queue.push(pid);
      }
    }
  }
  return out;
}

/** Busy ticks of the whole machine (all CPUs), interrupts and hypervisor steal included. */
export function machineBusyTicks(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/** What bench/fixtures/wrk-post.lua prints (times in microseconds). */
export interface WrkResult {
  requests: number;
  duration_us: number;
  connect_errors: number;
  read_errors: number;
  write_errors: number;
  status_errors: number;
  timeouts: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
}

/** Failed requests of a wrk run, of every kind. */
export function wrkErrors(r: WrkResult): number {
  return r.connect_errors + r.read_errors + r.write_errors + r.status_errors + r.timeouts;
}

export interface WrkRun {
  wrk: string;
  url: string;
  /** The arguments after `--` for WRK_POST_SCRIPT: the body file, then optionally the key. */
  scriptArgs: string[];
  connections: number;
  seconds: number;
  /** Spawns the wrk process with stdout and stderr piped (and tracks it for the caller's cleanup). */
  start: (command: string, args: string[]) => ChildProcess;
  /** Kills a wrk that runs 20 s past its time. */
  kill: (child: ChildProcess) => void;
}

/** One wrk -t1 run with WRK_POST_SCRIPT; fails with wrk's output when it fails or prints no result. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.seconds}s`, '--latency', '-s', WRK_POST_SCRIPT, run.url, '--', ...run.scriptArgs];
  const child = run.start(run.wrk, args);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const guard = setTimeout(() => run.kill(child), (run.seconds + 20) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(guard);
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (${code}):\n${out}`);
  return JSON.parse(line.slice('WRKJSON '.length)) as WrkResult;
}

/** What a benchmark leaves behind, removed when it ends, also by Ctrl-C or SIGTERM: the last added first. */
export class Cleanups {
  private readonly steps: (() => void)[] = [];

  constructor() {
    process.on('exit', () => this.run());
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.run();
        process.exit(130);
      });
    }
  }

  add(step: () => void): void {
    this.steps.push(step);
  }

  remove(step: () => void): void {
    const at = this.steps.indexOf(step);
    if (at >= 0) this.steps.splice(at, 1);
  }

  run(): void {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // best effort
      }
    }
  }
}

/**
 * An earlier commit's files (`git archive`: no worktree, nothing in this checkout changes), built
 * with this tree's tsc and node_modules, for "before" figures in the same run; its bin/oep.js.
 * Removed when the benchmark ends.
 */
export function buildEarlierCommit(commit: string, cleanups: Cleanups): string {
  const dir = mkdtempSync(join(tmpdir(), 'oep-bench-old-'));
  cleanups.add(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('/bin/sh', ['-c', 'git -C "$0" archive "$1" | tar -x -C "$2"', REPO_ROOT, commit, dir]);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  return join(dir, 'bin', 'oep.js');
}

/** The first line a tool prints for its version flag (stdout or stderr). */
export function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n')[0]!.trim();
}

/** Waits until something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port: number, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A configuration template with its `{{NAME}}` placeholders filled in; a placeholder without a value is an error. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`no value for {{${key}}}`);
    return String(values[key]);
  });
}

/**
 * Starts nginx with `config` (written to `dir/name.conf`, nginx's prefix `dir`) and waits until it
 * listens on `port`; fails with nginx's own words when it exits first. `track` is handed the
 * process (for the caller's cleanup). Returns its pid.
 */
export async function startNginx(nginx: string, dir: string, name: string, config: string, port: number, track: (child: ChildProcess) => void): Promise<number> {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, config);
  const child = spawn(nginx, ['-p', dir, '-c', file, '-e', join(dir, `${name}-startup.log`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const failed = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`nginx (${name}) exited with ${code}: ${stderr.trim()}`))));
  failed.catch(() => undefined);
  await Promise.race([waitForPort(port, `nginx (${name})`), failed]);
  return child.pid!;
}
