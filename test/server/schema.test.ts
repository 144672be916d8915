import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertScoreAnswer, ScoringServer, stopAllServers, type HttpResult } from './harness.js';

function assertJsonError(res: HttpResult, status: number, body: string): void {
  assertScoreAnswer(res, { status, body, execMs: '0.000' });
}

describe('oep-server run() decorated with @input_schema', () => {
  let server: ScoringServer;
  before(async () => {
    server = await ScoringServer.start({ fixture: 'schema' });
  });
  after(stopAllServers);

  function post(body: string | undefined, contentType = 'application/json') {
    return server.request({ method: 'POST', path: '/score', body, headers: { 'Content-Type': contentType, 'X-Client': 'c9' } });
  }

  it('passes JSON body keys as named parameters, with defaults and request_headers', async () => {
    const res = await post('{"data": [1, 2], "ignored": true}');
    const body = '{"data": [1, 2], "scale": 1.0, "client": "c9"}';
    assertScoreAnswer(res, { status: 200, body });
    assert.equal((await post('{"data": "x", "scale": 3}', 'application/vnd.demo+json')).text, '{"data": "x", "scale": 3, "client": "c9"}');
  });

  it('passes GET query parameters by name', async () => {
    const res = await server.request({ path: '/score?data=%5B1%5D&scale=0.5' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"data": [1], "scale": 0.5, "client": null}');
  });

  it('answers 415 when the body is not JSON by Content-Type', async () => {
    assertJsonError(await post('{"data": 1}', 'text/plain'), 415, '{"message": "Expects Content-Type to be application/json"}');
  });

  it('answers 400 for empty, malformed, non-object bodies and missing parameters', async () => {
    assertJsonError(await post(undefined), 400, '{"message": "POST body is empty. Expecting a JSON dictionary."}');
    assertJsonError(
      await post('{"data": '),
      400,
      '{"message": "POST body could not be decoded as JSON: Expecting value: line 1 column 10 (char 9)"}',
    );
    assertJsonError(await post('[1, 2]'), 400, '{"message": "POST body should be a JSON dictionary."}');
    assertJsonError(await post('{"scale": 2}'), 400, '{"message": "A value is not provided for the \'data\' parameter."}');
    assertJsonError(
      await server.request({ path: '/score?scale=2' }),
      400,
      '{"message": "A value is not provided for the \'data\' parameter."}',
    );
  });
});
