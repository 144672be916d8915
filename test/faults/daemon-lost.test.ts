import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox } from '../e2e/harness.js';
import { faultOf, updateKilled, type KillPoint, type LostRound } from './daemon-lost-support.js';
import { killScoringServers, ROLLOUT_FIXTURE } from './replica-support.js';

/**
 * The CLI never crashes when the daemon goes away (issue 25 point 6; figures in
 * docs/reliability.md): kill -9 of the real daemon while `deployment update` waits on it ends
 * the command with OEP_ERR_DAEMON_LOST (exit 1), no stack trace, the command that shows the
 * outcome, and a true statement of whether the update was recorded (checked against what the
 * deployment runs once it has settled).
 */
describe('kill -9 of the daemon during deployment update: what the CLI says (process runtime)', () => {
  const oep = new OepSandbox();
  const outcomes: LostRound[] = [];
  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
  });
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('once a replica of the update runs (the update was accepted): recorded, finished by the next daemon, exit 1, no stack', async () => {
    for (const round of [1, 2, 3]) {
      const outcome = await updateKilled(oep, round, 'new-replica');
      outcomes.push(outcome);
      assert.ok(outcome.killed, `round ${round}: the update ended before its replica ran:\n${outcome.stderr}`);
      assert.equal(faultOf(outcome), undefined, `round ${round}:\n${outcome.stderr}`);
      assert.equal(outcome.code, 1, outcome.stderr);
      assert.match(outcome.stderr, /^ {2}The update was recorded before the daemon stopped: the daemon finishes it when it runs again\.$/m);
      assert.equal(outcome.applied, true);
    }
  });

  it('at moments spread over the command (before it sends, before "accepted", after): never a crash, never a wrong statement', async () => {
    // ms after the CLI starts; fixed, so a failure replays. The CLI takes a few hundred ms to load.
    const moments: KillPoint[] = [0, 200, 300, 400, 500, 600, 800];
    for (const [index, moment] of moments.entries()) {
      const outcome = await updateKilled(oep, 10 + index, moment);
      outcomes.push(outcome);
      assert.equal(faultOf(outcome), undefined, `kill at ${moment} ms:\nexit ${outcome.code}\n${outcome.stderr}`);
    }
    const lost = outcomes.filter((outcome) => outcome.code === 1);
    // The rounds above cut the command every time; these moments add others or not, by the machine's speed.
    assert.ok(lost.length >= 3, JSON.stringify(outcomes.map(({ kill, code, claim }) => ({ kill, code, claim }))));
  });
});
