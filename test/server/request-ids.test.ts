import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertHeaders, assertScoreAnswer, EXEC_MS, ScoringServer, SERVER_VERSION, stopAllServers, UUID } from './harness.js';

const OK_BODY = '{"raw": "{}"}';

describe('oep-server request ids (azmlinfsrv echo rules)', () => {
  let server: ScoringServer;
  before(async () => {
    server = await ScoringServer.start({ fixture: 'plain' });
  });
  after(stopAllServers);

  function score(headers: Record<string, string>) {
    return server.request({ method: 'POST', path: '/score', body: '{}', headers });
  }

  const scoreHeaders = {
    'content-type': 'application/json',
    'content-length': String(OK_BODY.length),
    'x-ms-run-function-failed': 'False',
    'x-ms-run-fn-exec-ms': EXEC_MS,
    'x-ms-server-version': SERVER_VERSION,
  };

  it('generates x-request-id and mirrors it in x-ms-request-id when none is sent', async () => {
    const res = await score({});
    assert.equal(res.text, OK_BODY);
    assertHeaders(res, { ...scoreHeaders, 'x-request-id': UUID, 'x-ms-request-id': UUID });
    assert.equal(res.headers['x-ms-request-id'], res.headers['x-request-id']);
    const other = await score({});
    assert.notEqual(other.headers['x-request-id'], res.headers['x-request-id']);
  });

  it('x-request-id: r1 gives x-request-id and x-ms-request-id r1', async () => {
    const res = await score({ 'x-request-id': 'r1' });
    assertHeaders(res, { ...scoreHeaders, 'x-request-id': 'r1', 'x-ms-request-id': 'r1' });
  });

  it('x-ms-client-request-id: c1 gives x-ms-request-id and x-ms-client-request-id c1 and a generated x-request-id', async () => {
    const res = await score({ 'x-ms-client-request-id': 'c1' });
    assertHeaders(res, { ...scoreHeaders, 'x-request-id': UUID, 'x-ms-request-id': 'c1', 'x-ms-client-request-id': 'c1' });
  });

  it('x-ms-request-id: l1 gives x-ms-request-id and x-ms-client-request-id l1', async () => {
    const res = await score({ 'x-ms-request-id': 'l1' });
    assertHeaders(res, { ...scoreHeaders, 'x-request-id': UUID, 'x-ms-request-id': 'l1', 'x-ms-client-request-id': 'l1' });
  });

  it('keeps all three when all three are sent', async () => {
    const res = await score({ 'x-request-id': 'r1', 'x-ms-request-id': 'l1', 'x-ms-client-request-id': 'c1' });
    assertHeaders(res, { ...scoreHeaders, 'x-request-id': 'r1', 'x-ms-request-id': 'l1', 'x-ms-client-request-id': 'c1' });
  });

  it('echoes TraceId', async () => {
    const res = await score({ 'x-request-id': 'r1', TraceId: 'trace-123' });
    assertHeaders(res, { ...scoreHeaders, 'x-request-id': 'r1', 'x-ms-request-id': 'r1', traceid: 'trace-123' });
  });

  it('applies the same rules to GET /', async () => {
    const res = await server.request({ path: '/', headers: { 'x-ms-client-request-id': 'c2' } });
    assertHeaders(res, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': '7',
      'x-ms-server-version': SERVER_VERSION,
      'x-request-id': UUID,
      'x-ms-request-id': 'c2',
      'x-ms-client-request-id': 'c2',
    });
  });

  it('answers 431 when x-request-id is longer than 100 characters', async () => {
    const body = '{"message": "x-request-id must not exceed 100 characters"}';
    const fine = await score({ 'x-request-id': 'r'.repeat(100) });
    assert.equal(fine.status, 200);
    const res = await score({ 'x-request-id': 'r'.repeat(101) });
    assertScoreAnswer(res, { status: 431, body, execMs: '0.000', headers: { 'x-ms-server-version': SERVER_VERSION } });
  });

  it('answers 431 when x-ms-request-id or x-ms-client-request-id is longer than 100 characters', async () => {
    const body = '{"message": "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters"}';
    for (const name of ['x-ms-request-id', 'x-ms-client-request-id']) {
      const res = await score({ 'x-request-id': 'r1', [name]: 'c'.repeat(101) });
      assertScoreAnswer(res, {
        status: 431,
        body,
        execMs: '0.000',
        headers: { 'x-ms-server-version': SERVER_VERSION, 'x-request-id': 'r1' },
        message: name,
      });
    }
    const health = await server.request({ path: '/', headers: { 'x-ms-client-request-id': 'c'.repeat(101) } });
    assert.equal(health.status, 431);
    assert.equal(health.text, body);
  });
});
