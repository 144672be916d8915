import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { assertScoreAnswer, ScoringServer, stopAllServers } from './harness.js';

describe('oep-server SCORING_TIMEOUT_MS', () => {
  afterEach(stopAllServers);

  // run() is asked to sleep far longer than any request here waits (RUN_S): an answer at all, and
  // a next call answered at all, show that the timeout cut run() short. Times are checked only
  // from below, which a loaded machine cannot break.
  const RUN_S = 120;

  it('answers 500 "Scoring timeout after <ms> ms" when run() takes longer, and keeps serving', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { SCORING_TIMEOUT_MS: '300' } });
    const started = Date.now();
    const res = await server.request({ method: 'POST', path: '/score', body: JSON.stringify({ sleep: RUN_S }) });
    const elapsed = Date.now() - started;
    const body = '{"message": "Scoring timeout after 300 ms"}';
    assertScoreAnswer(res, { status: 500, body, runFailed: true });
    assert.ok(elapsed >= 290, `answered after ${elapsed} ms`);
    const execMs = Number(res.headers['x-ms-run-fn-exec-ms']);
    assert.ok(execMs >= 290 && execMs < RUN_S * 1000, `x-ms-run-fn-exec-ms ${execMs}`);
    await server.waitForStderr('oep-server: run() timed out after 300 ms (SCORING_TIMEOUT_MS)');

    // run() was interrupted, so the next call is not stuck behind the first one
    const next = await server.request({ method: 'POST', path: '/score', body: '{"sleep": 0.05}' });
    assert.equal(next.status, 200);
    assert.match(next.text, /^\{"slept": 0\.05, "pid": \d+\}$/);
  });

  it('leaves calls that finish in time alone', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { SCORING_TIMEOUT_MS: '30000' } });
    const res = await server.request({ method: 'POST', path: '/score', body: '{"sleep": 0.2}' });
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers['x-ms-run-fn-exec-ms']) >= 195);
  });

  it('answers in time when run() is stuck in C code, then replaces the stuck worker', async () => {
    const server = await ScoringServer.start({
      fixture: 'stuck',
      env: { SCORING_TIMEOUT_MS: '300', OEP_STUCK_RUN_RESTART_S: '3' },
    });
    const first = await server.request({ method: 'POST', path: '/score', body: 'ok', agent: false });
    const firstPid = (JSON.parse(first.text) as { pid: number }).pid;
    const started = Date.now();
    const res = await server.request({ method: 'POST', path: '/score', body: 'stuck', agent: false });
    const elapsed = Date.now() - started;
    // The answer came without waiting for run() (which stays stuck in C code for far longer) nor
    // for the worker to be replaced 3 s later: by then the server has not said so yet.
    const saidAtAnswer = server.stderr;
    assert.equal(res.status, 500);
    assert.equal(res.text, '{"message": "Scoring timeout after 300 ms"}');
    assert.equal(res.headers['x-ms-run-function-failed'], 'True');
    assert.ok(elapsed >= 750, `answered after ${elapsed} ms: SCORING_TIMEOUT_MS plus the 0.5 s grace`);
    assert.doesNotMatch(saidAtAnswer, /restarting the worker/);
    await server.waitForStderr('oep-server: run() still busy ');
    await server.waitForStderr('oep-server: run() has been stuck for 3 s past SCORING_TIMEOUT_MS; restarting the worker\n');
    await server.waitForStderr(`oep-server: worker 0 (pid ${firstPid}) exited with code 70; starting a new one\n`);
    const next = await server.request({ method: 'POST', path: '/score', body: 'ok', agent: false });
    assert.equal(next.status, 200);
    assert.notEqual((JSON.parse(next.text) as { pid: number }).pid, firstPid);
  });
});
