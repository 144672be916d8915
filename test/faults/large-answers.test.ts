import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox, REPO_ROOT } from '../e2e/harness.js';
import { daemonPid, killScoringServers } from './replica-support.js';

/**
 * Large answers (issue): replica answers were held whole in the daemon, without a limit, and the
 * memory stayed: one 200 MB answer took the daemon from 117 to 493 MB, four at once to slow
 * readers to 1.24 GB. Now an answer over 1 MiB streams to the client at the pace it reads it.
 * Real Python replicas answer 50 MB each to clients that read slowly; the 4 x 200 MB figure,
 * against the old code in the same run, is bench/large-answers.ts (docs/reliability.md).
 */

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'large-answers');
const ANSWER_BYTES = 50_000_000;
const CONCURRENT = 4;
/** Each client reads at most this fast, so the four answers take a few seconds each. */
const READ_BYTES_PER_S = 12_000_000;
/** Generous: streaming measured about 10 MB of growth here; holding the answers takes 200 MB and more. */
const GROWTH_BOUND_MB = 100;

/** The daemon's resident memory (VmRSS) and its peak so far (VmHWM), in MB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The fixture's answer of `size` bytes (bytes 0..255 repeated), hashed. */
function expectedSha256(size: number): string {
  const block = Buffer.concat(Array.from({ length: 4096 }, () => Buffer.from(Array.from({ length: 256 }, (_, index) => index))));
  const hash = createHash('sha256');
  for (let done = 0; done < size; done += block.length) hash.update(block.subarray(0, Math.min(block.length, size - done)));
  return hash.digest('hex');
}

interface Read {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  sha256: string;
}

/**
 * Asks for `size` bytes and reads the answer at most `bytesPerSecond`; `stopAt`: the client
 * closes the connection once it has that many bytes (and resolves then).
 */
function slowRead(uri: string, key: string, size: number, bytesPerSecond: number, stopAt = Infinity): Promise<Read> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ bytes: size });
    const req = request(uri, { method: 'POST', agent: false, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      const started = Date.now();
      const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex') });
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
        if (bytes >= stopAt) {
          req.destroy();
          return done();
        }
        const ahead = bytes / bytesPerSecond - (Date.now() - started) / 1000;
        if (ahead > 0.01) {
          res.pause();
          setTimeout(() => res.resume(), ahead * 1000);
        }
      });
      res.on('end', done);
      res.on('error', () => undefined);
    });
    req.on('error', (error) => (stopAt === Infinity ? reject(error) : undefined));
    req.end(body);
  });
}

interface Shown {
  replicas: { pid: number | null; ready: boolean; inflight: number }[];
}

describe('four 50 MB answers to slow readers (process runtime)', { timeout: 600_000 }, () => {
  const oep = new OepSandbox();
  let uri = '';
  let key = '';

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'answers', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'answers', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('streams them whole with the daemon memory bounded, and lets go of a replica whose client left', async (t) => {
    const pid = daemonPid(oep);
    assert.ok(pid, 'the daemon runs');
    const shownBefore = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'big', '-e', 'answers'])) as Shown;
    // Warm the path (a small answer and one just over the hold limit), then measure from there.
    assert.equal((await slowRead(uri, key, 1000, Infinity)).status, 200);
    assert.equal((await slowRead(uri, key, 2_000_000, Infinity)).status, 200);
    const start = memoryOf(pid);
    let highest = start.rss;
    const sampler = setInterval(() => (highest = Math.max(highest, memoryOf(pid).rss)), 20);
    let answers: Read[];
    try {
      answers = await Promise.all(Array.from({ length: CONCURRENT }, () => slowRead(uri, key, ANSWER_BYTES, READ_BYTES_PER_S)));
    } finally {
      clearInterval(sampler);
    }
    const end = memoryOf(pid);
    const expected = expectedSha256(ANSWER_BYTES);
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.equal(answer.bytes, ANSWER_BYTES);
      assert.equal(answer.sha256, expected);
      assert.equal(answer.headers['content-length'], String(ANSWER_BYTES));
      assert.equal(answer.headers['content-type'], 'application/octet-stream');
      assert.equal(answer.headers['azureml-model-deployment'], 'big');
    }
    const growth = Math.max(highest, end.peak) - start.rss;
    t.diagnostic(
      `daemon RSS ${start.rss.toFixed(0)} MB before, ${highest.toFixed(0)} MB at most while ${CONCURRENT} x ${ANSWER_BYTES / 1e6} MB streamed to slow readers ` +
        `(VmHWM ${end.peak.toFixed(0)} MB; +${growth.toFixed(0)} MB), ${end.rss.toFixed(0)} MB after`,
    );
    assert.ok(growth < GROWTH_BOUND_MB, `the daemon grew by ${growth.toFixed(0)} MB (bound ${GROWTH_BOUND_MB} MB)`);

    // A client that leaves after 5 MB: the replica is let go (nothing stays in flight) and serves on.
    const left = await slowRead(uri, key, ANSWER_BYTES, Infinity, 5_000_000);
    assert.equal(left.status, 200);
    await eventually('nothing is in flight', async () => {
      const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'big', '-e', 'answers'])) as Shown;
      return shown.replicas.every((replica) => replica.inflight === 0) ? shown : undefined;
    });
    for (let i = 0; i < 20; i++) assert.equal((await slowRead(uri, key, 1000, Infinity)).status, 200);
    const shownAfter = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'big', '-e', 'answers'])) as Shown;
    assert.deepEqual(
      shownAfter.replicas.map((replica) => replica.pid),
      shownBefore.replicas.map((replica) => replica.pid),
      'the same replicas served throughout',
    );
  });
});
