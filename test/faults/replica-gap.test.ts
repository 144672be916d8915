import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox } from '../e2e/harness.js';
import { describeCounts, killUnderLoad, replicaPids } from './replica-gap-support.js';
import { killScoringServers, ROLLOUT_FIXTURE } from './replica-support.js';

/**
 * Both replicas of a deployment killed at once under load, on the process runtime (issue 25
 * point 4; the figures are in docs/reliability.md and bench/replica-gap.ts): the requests in the
 * window get Azure's answer for "no ready replica" (503, its message), never a 500, or wait for a
 * restarted replica within request_timeout_ms; a restarted replica then answers.
 */

interface Shown {
  replicas: { pid: number; ready: boolean }[];
}

async function settledPids(oep: OepSandbox): Promise<number[]> {
  return eventually(
    'both replicas ready',
    async () => {
      const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as Shown;
      if (shown.replicas.length !== 2 || !shown.replicas.every((replica) => replica.ready)) return undefined;
      const pids = await replicaPids(oep.home, 'rollout', 'blue');
      // The records name the replicas the deployment shows, and nothing else.
      return JSON.stringify(pids) === JSON.stringify(shown.replicas.map((replica) => replica.pid).sort((a, b) => a - b)) ? pids : undefined;
    },
    120_000,
  );
}

describe('both replicas of a deployment killed at once (process runtime)', () => {
  const oep = new OepSandbox();
  let uri = '';
  let key = '';
  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    // 300 ms: well under the first restart's backoff (1 s) plus a start, so requests sent around
    // the kill cannot be served in time. (1000 ms was too close: a request sent just before the
    // kill waits until 1 s after its own start, and a warm interpreter restarts in ~50 ms after
    // the backoff, so a fast enough restart could serve them all.)
    await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '--set', 'instance_count=2', '--set', 'request_settings.request_timeout_ms=300', '-o', 'none']);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('a request_timeout_ms shorter than the gap: the window answers 503 with its message, never 500; then 200', async (t) => {
    const pids = await settledPids(oep);
    const run = await killUnderLoad({ uri, key, pids });
    t.diagnostic(`gap ${run.gapMs} ms; window: ${describeCounts(run.window)}; ${run.requests} requests`);
    assert.ok(run.gapMs !== undefined, `a restarted replica answers: ${describeCounts(run.failures)}`);
    assert.deepEqual(Object.keys(run.failures), ['503'], `only 503s besides 200s: ${describeCounts(run.failures)}`);
    // A request its replica refused, and one that found no ready replica: Azure's status, each with what happened.
    const messages = new Set([
      'Deployment blue has no ready replica: the replica the request went to stopped answering (it may have crashed) and no other was ready in time (request_settings.request_timeout_ms: 300 ms).',
      'Deployment blue has no ready replica.',
    ]);
    for (const body of run.bodies['503']!) assert.ok(messages.has((JSON.parse(body) as { message: string }).message), body);
    const restarted = await settledPids(oep);
    assert.equal(restarted.filter((pid) => pids.includes(pid)).length, 0, 'both replicas were restarted');
  });

  it('a request_timeout_ms longer than the gap: no request fails, they wait for the restarted replicas', async (t) => {
    await oep.ok(['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', 'request_settings.request_timeout_ms=60000', '-o', 'none']);
    const pids = await settledPids(oep);
    const run = await killUnderLoad({ uri, key, pids });
    t.diagnostic(`gap ${run.gapMs} ms; window: ${describeCounts(run.window)}; ${run.requests} requests`);
    assert.ok(run.gapMs !== undefined, 'a restarted replica answers');
    assert.deepEqual(run.failures, {});
  });
});
