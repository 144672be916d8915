import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { assertHeaders, assertScoreAnswer, generatedIds, ScoringServer, stopAllServers, type HttpResult } from './harness.js';

const RUN_FAILED = '{"message": "An unexpected error occurred in scoring script. Check the logs for more info."}';
const INTERNAL = '{"message": "An unexpected internal error occurred. Check the logs for more info."}';

function assertJsonOk(res: HttpResult, body: string): void {
  assertScoreAnswer(res, { status: 200, body });
}

function postJson(server: ScoringServer, body: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return server.request({ method: 'POST', path: '/score', body, headers: { 'Content-Type': 'application/json', ...headers } });
}

describe('oep-server /score with a plain run(raw_data)', () => {
  afterEach(stopAllServers);

  it('passes the body as a string and answers the returned dict as JSON', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await postJson(server, '{"data": [[1, 2], [3, 4]]}');
    assertJsonOk(res, '{"raw": "{\\"data\\": [[1, 2], [3, 4]]}"}');
  });

  it('answers a returned str as a JSON string, None as {}, a list as a JSON array', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    assertJsonOk(await postJson(server, '{"kind": "str"}'), '"hello"');
    assertJsonOk(await postJson(server, '{"kind": "none"}'), '{}');
    assertJsonOk(await postJson(server, '{"kind": "list"}'), '[1, "two", null]');
  });

  it('answers 500 when run() returns something json.dumps cannot encode (bytes, a set)', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    for (const kind of ['bytes', 'set']) {
      const res = await postJson(server, `{"kind": "${kind}"}`);
      assertScoreAnswer(res, { status: 500, body: INTERNAL, message: kind });
    }
    await server.waitForStderr('is not JSON serializable');
  });

  it('answers 500 with x-ms-run-function-failed: True when run() raises, and logs the traceback', async () => {
    const server = await ScoringServer.start({ fixture: 'run_raises' });
    const res = await postJson(server, '{"a": 1}');
    assertScoreAnswer(res, { status: 500, body: RUN_FAILED, runFailed: true });
    await server.waitForStderr('ValueError: run_raises: this model cannot score {"a": 1}');
    assert.match(server.stderr, /Traceback \(most recent call last\):/);
    // the worker keeps serving
    const again = await postJson(server, '{"a": 2}');
    assert.equal(again.status, 500);
  });

  it('passes GET /score query parameters as a JSON object, parsing values as JSON', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ path: '/score?a=1&b=%5B1,2%5D&c=text&d=null&e=x&e=2&f=&g=%7B%22k%22%3A+true%7D' });
    assertJsonOk(
      res,
      '{"raw": "{\\"a\\": 1, \\"b\\": [1, 2], \\"c\\": \\"text\\", \\"d\\": null, \\"e\\": [\\"x\\", 2], \\"f\\": \\"\\", \\"g\\": {\\"k\\": true}}"}',
    );
    const empty = await server.request({ path: '/score' });
    assertJsonOk(empty, '{"raw": "{}"}');
  });

  it('answers OPTIONS /score with 200 and an empty body', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'OPTIONS', path: '/score' });
    assertScoreAnswer(res, { status: 200, body: '', contentType: 'text/html; charset=utf-8', execMs: '0.000' });
  });

  it('answers HEAD /score with 405, since only @rawhttp scripts take HEAD', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'HEAD', path: '/score' });
    assert.equal(res.status, 405);
    assert.equal(res.text, '');
    assertHeaders(res, {
      'content-type': 'application/json',
      'content-length': String('{"message": "Method not allowed"}'.length),
      'x-ms-run-function-failed': 'False',
      'x-ms-run-fn-exec-ms': '0.000',
      ...generatedIds(),
    });
  });

  it('answers 400 when the body is not UTF-8', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'POST', path: '/score', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    const body =
      '{"message": "Input cannot be decoded as UTF-8: \'utf-8\' codec can\'t decode byte 0xff in position 1: invalid start byte"}';
    assertScoreAnswer(res, { status: 400, body, execMs: '0.000' });
  });

  it('passes an empty string for form-encoded bodies, as werkzeug consumes them into request.form', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({
      method: 'POST',
      path: '/score',
      body: '{"kind": "str"}',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assertJsonOk(res, '{"raw": ""}');
    const text = await server.request({ method: 'POST', path: '/score', body: '{"kind": "str"}', headers: { 'Content-Type': 'text/plain' } });
    assertJsonOk(text, '"hello"');
  });

  it('passes non-JSON bodies through unchanged', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    assertJsonOk(await postJson(server, 'héllo wörld'), '{"raw": "h\\u00e9llo w\\u00f6rld"}');
    assertJsonOk(await server.request({ method: 'POST', path: '/score' }), '{"raw": ""}');
  });

  it('sends print() output from run() to stdout at once', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await postJson(server, '{"kind": "print", "text": "unbuffered-42"}');
    assertJsonOk(res, '{"printed": "unbuffered-42"}');
    // Buffered output would appear only when the server exits, so waiting (not timing) tells.
    await server.waitForStdout('plain: run says unbuffered-42\n');
  });

  it('gives run() the request headers when it takes request_headers, named as werkzeug names them', async () => {
    const server = await ScoringServer.start({ fixture: 'request_headers' });
    const res = await server.request({
      method: 'POST',
      path: '/score',
      body: 'payload',
      headers: { 'Content-Type': 'text/plain', 'x-ms-client-request-id': 'c1', 'X-Custom-Thing': ['a', 'b'] },
      agent: false,
    });
    const body =
      '{"data": "payload", "headers": {"Content-Type": "text/plain", "X-Ms-Client-Request-Id": "c1", "X-Custom-Thing": "a,b", ' +
      `"Content-Length": "7", "Host": "127.0.0.1:${server.port}", "Connection": "close"}}`;
    assertScoreAnswer(res, {
      status: 200,
      body,
      headers: {
        'x-ms-server-version': 'oep-server/0.1.0',
        'x-request-id': /^[0-9a-f-]{36}$/,
        'x-ms-request-id': 'c1',
        'x-ms-client-request-id': 'c1',
        connection: 'close',
      },
    });
  });
});
