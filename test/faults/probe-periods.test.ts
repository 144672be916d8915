import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OepSandbox } from '../e2e/harness.js';
import { killScoringServers } from './replica-support.js';
import { createProbedDeployment, LIVENESS_LOWER_BOUND_MS, PROBE_SETTINGS, readyReplicaPid, stopAnswering } from './probe-periods-support.js';

/**
 * Probe periods (issue 25 point 7; the figures are in docs/reliability.md): liveness ran at
 * min(readiness.period, liveness.period), so a replica that stopped answering was killed at
 * readiness's pace. Here a real process replica stops answering (SIGSTOP) with readiness every
 * 1 s (6 failures) and liveness every 5 s (3 failures): readiness takes it out of rotation on its
 * own threshold, and liveness gives up no earlier than (3 - 1) x 5 s after it stopped answering.
 * Only lower bounds and an order are asserted; the test waits on what the daemon writes.
 */
describe('probe periods: an unresponsive replica (process runtime)', () => {
  const oep = new OepSandbox();
  after(async () => {
    // SIGKILL ends a stopped process too.
    killScoringServers(oep.home);
    await oep.close();
  });

  it("leaves rotation after readiness's threshold and is restarted only after liveness's", async (t) => {
    await createProbedDeployment(oep);
    const pid = await readyReplicaPid(oep);
    const seen = await stopAnswering(oep, pid);
    const since = (at: number | undefined): string => (at === undefined ? 'never' : `${((at - seen.stoppedAt) / 1000).toFixed(1)} s`);
    t.diagnostic(`out of rotation after ${since(seen.outOfRotationAt)}, liveness failed after ${since(seen.livenessFailedAt)}`);
    const log = seen.log.join('\n');
    assert.ok(seen.livenessFailedAt - seen.stoppedAt >= LIVENESS_LOWER_BOUND_MS, `liveness gave up ${since(seen.livenessFailedAt)} after the replica stopped answering; no earlier than ${LIVENESS_LOWER_BOUND_MS / 1000} s expected:\n${log}`);
    assert.ok(seen.outOfRotationAt !== undefined && seen.outOfRotationAt < seen.livenessFailedAt, `readiness takes the replica out before liveness gives up:\n${log}`);
    const { failure_threshold: readinessFailures } = PROBE_SETTINGS.readiness;
    const { failure_threshold: livenessFailures } = PROBE_SETTINGS.liveness;
    assert.match(log, new RegExp(`oep: replica 0 failed its readiness probe ${readinessFailures} times \\(failure_threshold ${readinessFailures}\\); out of rotation until it passes$`, 'm'));
    assert.match(log, new RegExp(`oep: replica 0 failed its liveness probe ${livenessFailures} times \\(failure_threshold ${livenessFailures}\\); stopping it$`, 'm'));
    assert.notEqual(seen.replacement, pid);
  });
});
