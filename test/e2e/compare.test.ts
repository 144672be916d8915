import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox } from './harness.js';
import { compareFixture } from './compare-fixture.js';

interface Report {
  pairs: number;
  agreement: { exact: number; within_tolerance: number; above_noise: number };
  differences: Array<{ path: string; count: number; rate: number; noise_rate: number | null; above_noise: boolean; examples: Array<{ at: string; live: unknown; mirror: unknown }> }>;
  status_pairs: Array<{ live: number; mirror: number; count: number }>;
  latency_ms: { live: { p50: number }; mirror: { p50: number }; delta_p50: number };
  mirror: { sent: number; answered: number; errors: number; dropped: number };
  noise: { samples: number };
  recording: { ring_size: number; stored: number };
}

async function deploy(oep: OepSandbox, endpoint: string, dir: string, mirror: string): Promise<{ uri: string; key: string }> {
  await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
  await oep.ok(['deployment', 'create', '-f', join(dir, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
  await oep.ok(['deployment', 'create', '-f', join(dir, `${mirror}.yml`), '--runtime', 'process', '-o', 'none']);
  await oep.ok(['traffic', 'mirror', '-n', endpoint, `${mirror}=50`, '-o', 'none']);
  const uri = (await oep.ok(['endpoint', 'show', '-n', endpoint, '--query', 'scoring_uri', '-o', 'tsv'])).trim();
  const key = (await oep.ok(['endpoint', 'get-credentials', '-n', endpoint, '--query', 'primaryKey', '-o', 'tsv'])).trim();
  return { uri, key };
}

/**
 * Sends n = 0 .. count-1 one after the other; the mirror (50%) gets every second one: the odd n.
 * Paced so that the slower mirror (one request at a time) keeps up and no copy is dropped.
 */
async function send(target: { uri: string; key: string }, count: number): Promise<void> {
  for (let n = 0; n < count; n += 1) {
    const res = await fetch(target.uri, { method: 'POST', headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
    assert.equal(res.status, 200, await res.text());
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

async function compare(oep: OepSandbox, endpoint: string, expectedPairs: number, extra: string[] = []): Promise<Report> {
  return eventually(`${expectedPairs} pairs of ${endpoint}`, async () => {
    const report = JSON.parse(await oep.ok(['traffic', 'compare', '-n', endpoint, ...extra])) as Report;
    return report.pairs >= expectedPairs ? report : undefined;
  });
}

describe('oep traffic compare: the mirror against the live deployment (process runtime)', () => {
  const oep = new OepSandbox();
  const dirs: string[] = [];

  before(async () => {
    const differ = compareFixture('cmp');
    const same = compareFixture('same', { randomId: true });
    dirs.push(differ, same);
    await send(await deploy(oep, 'cmp', differ, 'green'), 80);
    await send(await deploy(oep, 'same', same, 'twin'), 80);
  });
  after(async () => {
    await oep.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the share where green differs, the path, an example and the latency delta', async () => {
    const report = await compare(oep, 'cmp', 40);
    assert.equal(report.pairs, 40);
    // Odd n from 1 to 79 were mirrored; green differs when n % 5 == 0: 5, 15, ..., 75 = 8 of 40.
    assert.equal(report.agreement.exact, 0.8);
    assert.equal(report.agreement.above_noise, 0.8);
    assert.deepEqual(report.differences.map((d) => [d.path, d.count, d.rate, d.above_noise]), [['$.prediction', 8, 0.2, true]]);
    const example = report.differences[0]!.examples[0]!;
    assert.equal(example.mirror, (example.live as number) + 1);
    assert.deepEqual(report.status_pairs, [{ live: 200, mirror: 200, count: 40 }]);
    assert.ok(report.latency_ms.delta_p50 >= 12, `green sleeps 20 ms more: delta p50 ${report.latency_ms.delta_p50}`);
    assert.deepEqual(report.mirror, { sent: 40, answered: 40, errors: 0, dropped: 0 });
    // Blue has two replicas: every fourth pair also asked the other one (Diffy's noise), which agrees.
    assert.equal(report.noise.samples, 10);
    assert.equal(report.differences[0]!.noise_rate, 0);
  });

  it('--tolerance forgives the difference (0.5 relative covers 2n+1 vs 2n for n >= 5)', async () => {
    const report = JSON.parse(await oep.ok(['traffic', 'compare', '-n', 'cmp', '--tolerance', '0.5'])) as Report;
    assert.equal(report.agreement.within_tolerance, 1);
    assert.deepEqual(report.differences, []);
  });

  it('exits 0 whatever it finds; --fail-under exits 1 with the report printed first', async () => {
    const below = await oep.run(['traffic', 'compare', '-n', 'cmp', '--fail-under', '0.9', '--query', 'agreement.above_noise']);
    assert.equal(below.code, 1);
    assert.equal(below.stdout, '0.8\n');
    assert.match(below.stderr, /falls short of --fail-under 90%: agreement is 80% over 40 pair\(s\)/);
    assert.match(below.stderr, /OEP_ERR_AGREEMENT_BELOW/);
    assert.equal((await oep.run(['traffic', 'compare', '-n', 'cmp', '--fail-under', '80%', '-o', 'none'])).code, 0);
    // A bad --tolerance needs no daemon: a row of test/unit/cli-table.test.ts.
  });

  it('-o table prints the key figures and the differing paths', async () => {
    const table = await oep.ok(['traffic', 'compare', '-n', 'cmp', '-o', 'table']);
    assert.match(table, /agreement \(above noise\)\s+0\.8/);
    assert.match(table, /\$\.prediction\s+8\s+0\.2/);
    assert.match(table, /200 vs 200: 40/);
  });

  it('identical deployments agree 100% above noise: a random id differs between blue replicas too', async () => {
    const report = await compare(oep, 'same', 40);
    assert.equal(report.agreement.above_noise, 1);
    assert.equal(report.agreement.exact, 0);
    assert.ok(report.noise.samples >= 5);
    assert.deepEqual(report.differences.map((d) => [d.path, d.above_noise]), [['$.id', false]]);
    assert.equal(report.differences.filter((d) => d.above_noise).length, 0);
  });
});

describe('oep traffic compare: pairs stay within pair_ring_size under a long run', () => {
  const oep = new OepSandbox();
  let dir = '';
  after(async () => {
    await oep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps at most pair_ring_size pairs in memory and 2 x pair_ring_size lines on disk', async () => {
    await oep.ok(['config', 'set', 'pair_ring_size', '10']);
    dir = compareFixture('bounded', { blueReplicas: 1 });
    const target = await deploy(oep, 'bounded', dir, 'green');
    await send(target, 200);
    const report = await compare(oep, 'bounded', 10);
    assert.equal(report.recording.ring_size, 10);
    assert.equal(report.recording.stored, 10);
    assert.equal(report.pairs, 10);
    const lines = (file: string): number => {
      try {
        return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    };
    const file = join(oep.home, 'pairs', 'bounded.jsonl');
    await eventually('pairs on disk', async () => (lines(file) + lines(`${file}.1`) >= 10 ? true : undefined));
    assert.ok(lines(file) <= 10 && lines(`${file}.1`) <= 10, `${lines(file)} + ${lines(`${file}.1`)} lines`);
    // The newest pairs are the ones kept: the last mirrored requests of the run.
    const kept = JSON.parse(await oep.ok(['traffic', 'compare', '-n', 'bounded', '--query', 'mirror.sent'])) as number;
    assert.equal(kept, 10);
  });
});
