import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { assertScoreAnswer, ScoringServer, stopAllServers } from './harness.js';

describe('oep-server SCORING_TIMEOUT_MS', () => {
  afterEach(stopAllServers);

  it('answers 500 "Scoring timeout after <ms> ms" when run() takes longer, and keeps serving', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { SCORING_TIMEOUT_MS: '300' } });
    const started = Date.now();
    const res = await server.request({ method: 'POST', path: '/score', body: '{"sleep": 5}' });
    const elapsed = Date.now() - started;
    const body = '{"message": "Scoring timeout after 300 ms"}';
    assertScoreAnswer(res, { status: 500, body, runFailed: true });
    assert.ok(elapsed >= 290 && elapsed < 1500, `answered after ${elapsed} ms`);
    const execMs = Number(res.headers['x-ms-run-fn-exec-ms']);
    assert.ok(execMs >= 290 && execMs < 1000, `x-ms-run-fn-exec-ms ${execMs}`);
    await server.waitForStderr('oep-server: run() timed out after 300 ms (SCORING_TIMEOUT_MS)');

    // run() was interrupted, so the next call is not stuck behind the first one
    const nextStarted = Date.now();
    const next = await server.request({ method: 'POST', path: '/score', body: '{"sleep": 0.05}' });
    assert.equal(next.status, 200);
    assert.match(next.text, /^\{"slept": 0\.05, "pid": \d+\}$/);
    assert.ok(Date.now() - nextStarted < 1000);
  });

  it('leaves calls that finish in time alone', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { SCORING_TIMEOUT_MS: '2000' } });
    const res = await server.request({ method: 'POST', path: '/score', body: '{"sleep": 0.2}' });
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers['x-ms-run-fn-exec-ms']) >= 195);
  });

  it('answers in time when run() is stuck in C code, then replaces the stuck worker', async () => {
    const server = await ScoringServer.start({
      fixture: 'stuck',
      env: { SCORING_TIMEOUT_MS: '300', OEP_STUCK_RUN_RESTART_S: '1' },
    });
    const first = await server.request({ method: 'POST', path: '/score', body: 'ok', agent: false });
    const firstPid = (JSON.parse(first.text) as { pid: number }).pid;
    const started = Date.now();
    const res = await server.request({ method: 'POST', path: '/score', body: 'stuck', agent: false });
    const elapsed = Date.now() - started;
    assert.equal(res.status, 500);
    assert.equal(res.text, '{"message": "Scoring timeout after 300 ms"}');
    assert.equal(res.headers['x-ms-run-function-failed'], 'True');
    assert.ok(elapsed >= 750 && elapsed < 2000, `answered after ${elapsed} ms`);
    await server.waitForStderr('oep-server: run() still busy ');
    await server.waitForStderr('oep-server: run() has been stuck for 1 s past SCORING_TIMEOUT_MS; restarting the worker\n');
    await server.waitForStderr(`oep-server: worker 0 (pid ${firstPid}) exited with code 70; starting a new one\n`);
    const next = await server.request({ method: 'POST', path: '/score', body: 'ok', agent: false });
    assert.equal(next.status, 200);
    assert.notEqual((JSON.parse(next.text) as { pid: number }).pid, firstPid);
  });
});
