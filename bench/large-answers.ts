/**
 * Large answers to slow readers (issue: one 200 MB answer took the daemon from 117 to 493 MB, four
 * at once to slow readers to 1.24 GB, not released). The same scenario against the daemon of an
 * earlier commit (which held every answer whole; default 72a7755, built in a git worktree) and the
 * daemon of this tree, in the same run:
 * - the large-answers fixture (a stdlib scoring script that answers {"bytes": n} with n bytes) on
 *   the process runtime, two replicas;
 * - `BENCH_CONCURRENT` (4) requests at once, each for `BENCH_ANSWER_MB` (200) MB, each read by a
 *   client that reads at most `BENCH_READ_MB_PER_S` (40) MB/s;
 * - the daemon's RSS before, its peak while the answers flow (sampled every 20 ms, and VmHWM), right
 *   after, and after `BENCH_SETTLE_REQUESTS` (200) small requests.
 * Every answer must be 200 with all its bytes in order (SHA-256). Exit 0 when the current daemon's
 * RSS grew by less than `BENCH_AIM_MB` (64) MB at its peak, 1 otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildEarlierCommit, Cleanups, OEP_BIN, REPO_ROOT } from './harness.js';

const OLD_COMMIT = process.env.BENCH_OLD_COMMIT ?? '72a7755';
const ANSWER_BYTES = Number(process.env.BENCH_ANSWER_MB ?? 200) * 1_000_000;
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 4);
const READ_BYTES_PER_S = Number(process.env.BENCH_READ_MB_PER_S ?? 40) * 1_000_000;
const SETTLE_REQUESTS = Number(process.env.BENCH_SETTLE_REQUESTS ?? 200);
const AIM_MB = Number(process.env.BENCH_AIM_MB ?? 64);
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'large-answers');

interface Variant {
  label: string;
  /** bin/oep.js of that tree. */
  bin: string;
}

interface Figures {
  label: string;
  before: number;
  peak: number;
  hwm: number;
  after: number;
  settled: number;
  seconds: number;
}

const cleanups = new Cleanups();

/** The earlier commit, built (bench/harness.ts buildEarlierCommit). */
function buildOld(): Variant {
  return { label: `before (commit ${OLD_COMMIT}: answers held whole)`, bin: buildEarlierCommit(OLD_COMMIT, cleanups) };
}

function oep(variant: Variant, home: string, args: string[]): string {
  return execFileSync(process.execPath, [variant.bin, ...args], { env: { ...process.env, OEP_HOME: home, NO_COLOR: '1' }, encoding: 'utf8' });
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** The fixture's answer of `size` bytes, hashed. */
function expectedSha256(size: number): string {
  const pattern = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
  const block = Buffer.concat(Array.from({ length: 4096 }, () => pattern));
  const hash = createHash('sha256');
  for (let done = 0; done < size; done += block.length) hash.update(block.subarray(0, Math.min(block.length, size - done)));
  return hash.digest('hex');
}

/** One request for `size` bytes, read at most `bytesPerSecond`; resolves with status, length and hash. */
function slowRead(uri: string, key: string, size: number, bytesPerSecond: number): Promise<{ status: number; bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ bytes: size });
    const req = request(uri, { method: 'POST', agent: false, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      const started = Date.now();
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
        const ahead = bytes / bytesPerSecond - (Date.now() - started) / 1000;
        if (ahead > 0.01) {
          res.pause();
          setTimeout(() => res.resume(), ahead * 1000);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function measure(variant: Variant, expected: string): Promise<Figures> {
  const home = mkdtempSync(join(tmpdir(), 'oep-bench-'));
  const stop = (): void => {
    spawnSync(process.execPath, [variant.bin, 'daemon', 'stop'], { env: { ...process.env, OEP_HOME: home } });
    rmSync(home, { recursive: true, force: true });
  };
  cleanups.add(stop);
  oep(variant, home, ['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
  oep(variant, home, ['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
  const uri = oep(variant, home, ['endpoint', 'show', '-n', 'answers', '--query', 'scoring_uri', '-o', 'tsv']).trim();
  const key = oep(variant, home, ['endpoint', 'get-credentials', '-n', 'answers', '--query', 'primaryKey', '-o', 'tsv']).trim();
  const pid = Number(readFileSync(join(home, 'daemon.pid'), 'utf8').trim());
  const small = async (): Promise<void> => {
    const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
    if (res.status !== 200) throw new Error(`${variant.label}: a small request answered ${res.status}`);
    await res.arrayBuffer();
  };
  // Warm: a few small requests and one small large-ish answer, so both daemons start alike.
  for (let i = 0; i < 20; i++) await small();
  await slowRead(uri, key, 2_000_000, 1e12);
  await sleep(1000);
  const before = rssMb(pid).rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid).rss)), 20);
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => slowRead(uri, key, ANSWER_BYTES, READ_BYTES_PER_S)));
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  const { rss: after, hwm } = rssMb(pid);
  peak = Math.max(peak, after);
  for (const answer of answers) {
    if (answer.status !== 200 || answer.bytes !== ANSWER_BYTES || answer.sha256 !== expected) {
      throw new Error(`${variant.label}: an answer was ${answer.status} with ${answer.bytes} bytes (sha256 ${answer.sha256 === expected ? 'matches' : 'differs'})`);
    }
  }
  for (let i = 0; i < SETTLE_REQUESTS; i++) await small();
  await sleep(1000);
  const settled = rssMb(pid).rss;
  cleanups.remove(stop);
  stop();
  return { label: variant.label, before, peak, hwm, after, settled, seconds };
}

async function main(): Promise<void> {
  if (!existsSync('/proc/self/status')) throw new Error('this bench reads /proc (Linux)');
  console.log(`large answers: ${CONCURRENT} x ${ANSWER_BYTES / 1e6} MB at once, each read at ${READ_BYTES_PER_S / 1e6} MB/s; old daemon: commit ${OLD_COMMIT}`);
  const expected = expectedSha256(ANSWER_BYTES);
  const old = buildOld();
  const current: Variant = { label: 'after (this tree: answers stream)', bin: OEP_BIN };
  const results: Figures[] = [];
  for (const variant of [old, current]) {
    const figures = await measure(variant, expected);
    results.push(figures);
    console.log(
      `${figures.label}: daemon RSS ${figures.before.toFixed(0)} MB before, ${figures.peak.toFixed(0)} MB at most while the answers flowed (VmHWM ${figures.hwm.toFixed(0)} MB; ` +
        `+${(figures.peak - figures.before).toFixed(0)} MB), ${figures.after.toFixed(0)} MB right after, ${figures.settled.toFixed(0)} MB after ${SETTLE_REQUESTS} more small requests; ` +
        `the ${CONCURRENT} answers took ${figures.seconds.toFixed(1)} s`,
    );
  }
  const growth = results[1]!.peak - results[1]!.before;
  const oldGrowth = results[0]!.peak - results[0]!.before;
  console.log(`peak growth: before ${oldGrowth.toFixed(0)} MB, after ${growth.toFixed(0)} MB (aim: under ${AIM_MB} MB): ${growth < AIM_MB ? 'met' : 'MISSED'}`);
  process.exitCode = growth < AIM_MB ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exitCode = 1;
});
