import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { assertHeaders, EXEC_MS, generatedIds, ScoringServer, stopAllServers } from './harness.js';

describe('oep-server SCORING_TIMEOUT_MS', () => {
  afterEach(stopAllServers);

  it('answers 500 "Scoring timeout after <ms> ms" when run() takes longer, and keeps serving', async () => {
    const server = await ScoringServer.start({ fixture: 'slow', env: { SCORING_TIMEOUT_MS: '300' } });
    const started = Date.now();
    const res = await server.request({ method: 'POST', path: '/score', body: '{"sleep": 5}' });
    const elapsed = Date.now() - started;
    const body = '{"message": "Scoring timeout after 300 ms"}';
    assert.equal(res.status, 500);
    assert.equal(res.text, body);
    assertHeaders(res, {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-ms-run-function-failed': 'True',
      'x-ms-run-fn-exec-ms': EXEC_MS,
      ...generatedIds(),
    });
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
});
