import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { IN_TEST_IMAGE, prerequisiteSkip } from '../prerequisites.js';
import { assertScoreAnswer, EXEC_MS, generatedIds, headerValues, PYTHON, ScoringServer, stopAllServers } from './harness.js';

describe('oep-server @rawhttp run(request)', () => {
  let server: ScoringServer;
  before(async () => {
    server = await ScoringServer.start({ fixture: 'rawhttp' });
  });
  after(stopAllServers);

  it('answers an AMLResponse with its status, body and headers; commas make repeated headers', async () => {
    const res = await server.request({ path: '/score?action=teapot' });
    assertScoreAnswer(res, {
      status: 418,
      body: 'short and stout',
      contentType: 'text/plain',
      headers: { 'x-custom': 'a, b, c', 'x-single': 'one', ...generatedIds() },
    });
    assert.deepEqual(headerValues(res, 'X-Custom'), ['a', 'b', 'c']);
  });

  it('adds x-ms-run-function-failed: True to a returned status >= 500', async () => {
    const res = await server.request({ path: '/score?action=fail' });
    assertScoreAnswer(res, { status: 503, body: '{"error": "backend down"}', runFailed: true });
    assert.deepEqual(headerValues(res, 'x-ms-run-function-failed'), ['True']);
  });

  it('answers AMLResponse(None) as {} and a plain dict as JSON', async () => {
    const none = await server.request({ path: '/score?action=none' });
    assertScoreAnswer(none, { status: 202, body: '{}' });
    const dict = await server.request({ method: 'POST', path: '/score?action=dict', body: 'x' });
    assert.equal(dict.status, 200);
    assert.equal(dict.text, '{"plain": "dict", "method": "POST"}');
    assert.equal(dict.headers['content-type'], 'application/json');
  });

  it('passes bytes bodies through unchanged', async () => {
    const res = await server.request({ path: '/score?action=binary' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, Buffer.concat([Buffer.from([0, 1, 0xff]), Buffer.from('binary')]));
    assert.equal(res.headers['content-type'], 'application/octet-stream');
  });

  it('gives run() the method, path, query args, headers, body and JSON of the request', async () => {
    const res = await server.request({
      method: 'POST',
      path: '/score?a=1&a=2&b=x%20y',
      body: '{"k": [1, 2]}',
      headers: { 'Content-Type': 'application/json', 'x-test': 'yes' },
      agent: false,
    });
    const body = JSON.parse(res.text);
    assert.equal(res.status, 200);
    assert.deepEqual(body, {
      method: 'POST',
      path: '/score',
      full_path: '/score?a=1&a=2&b=x%20y',
      url: `http://127.0.0.1:${server.port}/score?a=1&a=2&b=x%20y`,
      args: { a: ['1', '2'], b: ['x y'] },
      data: '{"k": [1, 2]}',
      json: { k: [1, 2] },
      is_json: true,
      content_type: 'application/json',
      x_test: 'yes',
      header_names: ['Content-Type', 'X-Test', 'Content-Length', 'Host', 'Connection'],
    });
  });

  it('routes GET, POST, OPTIONS and HEAD to run()', async () => {
    for (const method of ['GET', 'POST', 'OPTIONS']) {
      const res = await server.request({ method, path: '/score?m=1', body: method === 'GET' ? undefined : 'b' });
      assert.equal(res.status, 200, method);
      assert.equal(JSON.parse(res.text).method, method);
      assert.match(String(res.headers['x-ms-run-fn-exec-ms']), EXEC_MS);
    }
    const head = await server.request({ method: 'HEAD', path: '/score?m=1' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    const get = await server.request({ method: 'GET', path: '/score?m=1' });
    assert.equal(head.headers['content-length'], String(Number(get.headers['content-length']) + 1)); // "HEAD" vs "GET"
    await server.waitForStdout(/ HEAD \/score 200 /);
  });

  it('parses multipart/form-data into request.form and request.files', async () => {
    const boundary = 'oepBoundary42';
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="label"\r\n\r\nhello\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="pic.txt"\r\nContent-Type: text/plain\r\n\r\nPIXELS\r\n` +
      `--${boundary}--\r\n`;
    const res = await server.request({
      method: 'POST',
      path: '/score?action=form',
      body,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), {
      form: { label: ['hello'] },
      files: { image: ['pic.txt', 'text/plain', 'PIXELS'] },
      data: body,
    });
  });

  it('answers 500 when run() raises (get_json() on a non-JSON body)', async () => {
    const res = await server.request({ method: 'POST', path: '/score?action=raise', body: 'x', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(res.status, 500);
    assert.equal(res.text, '{"message": "An unexpected error occurred in scoring script. Check the logs for more info."}');
    assert.equal(res.headers['x-ms-run-function-failed'], 'True');
    await server.waitForStderr('UnsupportedMediaType');
  });
});

describe('oep-server @rawhttp from azureml.contrib.services', () => {
  after(stopAllServers);

  it('accepts the older module names', async () => {
    const server = await ScoringServer.start({ fixture: 'rawhttp_contrib' });
    const res = await server.request({ method: 'POST', path: '/score', body: 'payload' });
    assertScoreAnswer(res, { status: 200, body: 'contrib POST payload', contentType: 'text/html; charset=utf-8' });
  });
});

const hasFlask = spawnSync(PYTHON, ['-c', 'import flask'], { stdio: 'ignore' }).status === 0;
// Debian's python3-flask on the host; the test image has none, on purpose.
const skipFlask = prerequisiteSkip('Flask tests', !hasFlask && 'Flask is not importable', IN_TEST_IMAGE && 'the test image has no Flask');

describe('oep-server @rawhttp with the real (Flask-based) API package installed', { skip: skipFlask }, () => {
  after(stopAllServers);

  it('hands run() a werkzeug Request and answers the Flask response it returns', async () => {
    const server = await ScoringServer.start({ fixture: 'real_api' });
    const res = await server.request({
      method: 'POST',
      path: '/score?a=1&a=2',
      body: '{"k": 1}',
      headers: { 'Content-Type': 'application/json', 'X-Test': 'yes' },
    });
    const body = '{"type": "werkzeug", "method": "POST", "args": {"a": ["1", "2"]}, "json": {"k": 1}, "x_test": "yes"}';
    assertScoreAnswer(res, { status: 200, body, headers: { 'x-multi': 'a, b', ...generatedIds() } });
    assert.deepEqual(headerValues(res, 'X-Multi'), ['a', 'b']);
    const failed = await server.request({ path: '/score?status=502' });
    assert.equal(failed.status, 502);
    assert.deepEqual(headerValues(failed, 'x-ms-run-function-failed'), ['True']);
  });
});
