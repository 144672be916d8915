import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { assertHeaders, assertScoreAnswer, EXEC_MS, generatedIds, ScoringServer, SERVER_VERSION, stopAllServers } from './harness.js';

const NOT_FOUND =
  '{"message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}';
const METHOD_NOT_ALLOWED = '{"message": "The method is not allowed for the requested URL."}';

describe('oep-server routes', () => {
  afterEach(stopAllServers);

  it('answers GET / with Healthy as text/html and request ids', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ path: '/' });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'Healthy');
    assertHeaders(res, { 'content-type': 'text/html; charset=utf-8', 'content-length': '7', ...generatedIds() });
    assert.equal(res.headers['x-ms-request-id'], res.headers['x-request-id']);
  });

  it('answers HEAD / with the headers of GET / and no body', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'HEAD', path: '/' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assertHeaders(res, { 'content-type': 'text/html; charset=utf-8', 'content-length': '7', ...generatedIds() });
  });

  it('answers OPTIONS / with Allow, as Flask does', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'OPTIONS', path: '/' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assertHeaders(res, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': '0',
      allow: 'GET, HEAD, OPTIONS',
      ...generatedIds(),
    });
  });

  it('answers 404 as JSON without request-id headers', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    for (const path of ['/nope', '/score/', '/Score', '/swagger']) {
      const res = await server.request({ path, headers: { 'x-request-id': 'r1' } });
      assert.equal(res.status, 404, path);
      assert.equal(res.text, NOT_FOUND, path);
      assertHeaders(res, {
        'content-type': 'application/json',
        'content-length': String(NOT_FOUND.length),
        'x-ms-run-function-failed': 'False',
      });
    }
  });

  it('answers 405 as JSON without request-id headers', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    for (const [method, path] of [
      ['POST', '/'],
      ['PUT', '/'],
      ['POST', '/swagger.json'],
    ]) {
      const res = await server.request({ method, path, body: '{}', headers: { 'x-request-id': 'r1' } });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.text, METHOD_NOT_ALLOWED);
      assertHeaders(res, {
        'content-type': 'application/json',
        'content-length': String(METHOD_NOT_ALLOWED.length),
        'x-ms-run-function-failed': 'False',
      });
    }
  });

  it('answers 405 for unsupported methods on /score, with x-ms-run-fn-exec-ms like every /score response', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await server.request({ method, path: '/score', body: '{}' });
      assertScoreAnswer(res, { status: 405, body: METHOD_NOT_ALLOWED, execMs: '0.000', headers: {}, message: method });
    }
  });

  it('prints a banner, calls init() once and says when it is ready', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', env: { AZUREML_MODEL_DIR: '/models/demo/1' } });
    await server.waitForStdout(`oep-server: ready on http://127.0.0.1:${server.port}\n`);
    const out = server.stdout;
    assert.match(out, /Entry Script Name: .*test\/fixtures\/server\/plain\/score\.py\n/);
    assert.match(out, /Model Directory: \/models\/demo\/1\n/);
    assert.match(out, /Worker Count: 1\n/);
    assert.match(out, new RegExp(`Server Port: ${server.port}\\n`));
    assert.match(out, new RegExp(`Inferencing HTTP server version: ${SERVER_VERSION}\\n`));
    assert.match(out, new RegExp(`Liveness Probe: GET   127\\.0\\.0\\.1:${server.port}/\\n`));
    assert.match(out, new RegExp(`Score:          POST  127\\.0\\.0\\.1:${server.port}/score\\n`));
    const inits = out.match(/plain: init called pid=\d+ count=\d+ model_dir=\/models\/demo\/1\n/g) ?? [];
    assert.equal(inits.length, 1);
    assert.match(out, /count=1 /);
    // init() output comes before the ready line: nothing is served before init() returned
    assert.ok(out.indexOf('plain: init called') < out.indexOf('oep-server: ready on'));
  });

  it('writes one access line per request to stdout', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    await server.request({ method: 'POST', path: '/score?x=1', body: '{}', headers: { 'x-request-id': 'access-1' } });
    await server.request({ path: '/missing' });
    await server.request({ method: 'DELETE', path: '/score', headers: { 'x-request-id': 'access-2' } });
    await server.waitForStdout(' access-2\n');
    const lines = server.stdout.split('\n').filter((line) => /^\d{4}-\d{2}-\d{2}T/.test(line));
    const time = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';
    assert.equal(lines.length, 3); // the readiness probe's GET / is not logged, as in azmlinfsrv
    assert.match(lines[0], new RegExp(`^${time} POST /score 200 \\d+\\.\\d{3}ms access-1$`));
    assert.match(lines[1], new RegExp(`^${time} GET /missing 404 \\d+\\.\\d{3}ms -$`));
    assert.match(lines[2], new RegExp(`^${time} DELETE /score 405 \\d+\\.\\d{3}ms access-2$`));
  });

  it('keeps exec time out of non-score routes', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'POST', path: '/score', body: '{}' });
    assert.match(String(res.headers['x-ms-run-fn-exec-ms']), EXEC_MS);
    const health = await server.request({ path: '/' });
    assert.equal(health.headers['x-ms-run-fn-exec-ms'], undefined);
  });
});
