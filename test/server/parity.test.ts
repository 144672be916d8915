/**
 * Behaviours of azmlinfsrv 1.5.1 that a client or a log reader would notice (issue 15): reason
 * phrases, gunicorn's header limits, CORS, SERVER_VERSION_LOG_RESPONSE_ENABLED, log lines, and
 * a server that answers as soon as its first worker is initialised.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { assertHeaders, generatedIds, ScoringServer, stopAllServers, UUID } from './harness.js';

/** Sends raw bytes, returns everything the server sent until it closed the connection. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => done(text));
    socket.on('error', fail);
    socket.write(data);
  });
}

function statusLine(text: string): string {
  return text.slice(0, text.indexOf('\r\n'));
}

describe('oep-server parity with azmlinfsrv', () => {
  const folders: string[] = [];
  afterEach(async () => {
    await stopAllServers();
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  it('sends werkzeug reason phrases, upper case', async () => {
    const plain = await ScoringServer.start({ fixture: 'plain' });
    const rawhttp = await ScoringServer.start({ fixture: 'rawhttp' });
    const cases: [number, string, string][] = [
      [plain.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'HTTP/1.1 200 OK'],
      [plain.port, 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'HTTP/1.1 404 NOT FOUND'],
      [plain.port, 'PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 405 METHOD NOT ALLOWED'],
      [plain.port, 'POST /score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\n\xff', 'HTTP/1.1 400 BAD REQUEST'],
      [
        plain.port,
        'POST /score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 17\r\n\r\n{"kind": "bytes"}',
        'HTTP/1.1 500 INTERNAL SERVER ERROR',
      ],
      [
        plain.port,
        `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-request-id: ${'r'.repeat(101)}\r\n\r\n`,
        'HTTP/1.1 431 REQUEST HEADER FIELDS TOO LARGE',
      ],
      [rawhttp.port, 'GET /score?action=teapot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', "HTTP/1.1 418 I'M A TEAPOT"],
    ];
    for (const [port, request, expected] of cases) {
      assert.equal(statusLine(await rawExchange(port, request)), expected);
    }
  });

  it('answers 431 as gunicorn does to a header line over 8,190 bytes or more than 100 header fields', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const page =
      '<html>\n  <head>\n    <title>Request Header Fields Too Large</title>\n  </head>\n  <body>\n' +
      '    <h1><p>Request Header Fields Too Large</p></h1>\n    Error parsing headers: &#x27;%s&#x27;\n  </body>\n</html>\n';
    const expected = (what: string): string => {
      const body = page.replace('%s', what);
      return (
        'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: text/html\r\n' +
        `Content-Length: ${body.length}\r\n\r\n${body}`
      );
    };
    // "x-big: " + value + CRLF: 8,191 bytes is one too many, 8,190 pass
    const line = (total: number): string => `x-big: ${'v'.repeat(total - 'x-big: '.length - 2)}\r\n`;
    const tooLong = await rawExchange(server.port, `POST /score HTTP/1.1\r\nHost: x\r\n${line(8191)}Content-Length: 2\r\n\r\n{}`);
    assert.equal(tooLong, expected('limit request headers fields size'));
    const fits = await rawExchange(server.port, `POST /score HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${line(8190)}Content-Length: 2\r\n\r\n{}`);
    assert.equal(statusLine(fits), 'HTTP/1.1 200 OK');
    const fields = Array.from({ length: 101 }, (_, i) => `x-h${i}: v\r\n`).join('');
    const tooMany = await rawExchange(server.port, `GET / HTTP/1.1\r\n${fields}\r\n`);
    assert.equal(tooMany, expected('limit request headers fields'));
    // the server goes on serving
    assert.equal((await server.request({ path: '/' })).status, 200);
  });

  it('adds CORS headers for AML_CORS_ORIGINS as flask-cors does, on preflights and requests from allowed origins', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', env: { AML_CORS_ORIGINS: 'https://a.example, https://b.example' } });
    await server.waitForStdout('CORS for the specified origins: Enabling CORS for https://a.example, https://b.example\n');
    const preflight = await server.request({
      method: 'OPTIONS',
      path: '/score',
      headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' },
    });
    assert.equal(preflight.status, 200);
    assertHeaders(preflight, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': '0',
      'x-ms-run-function-failed': 'False',
      'x-ms-run-fn-exec-ms': '0.000',
      'access-control-allow-origin': 'https://a.example',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type',
      vary: 'Origin',
      ...generatedIds(),
    });
    const post = await server.request({ method: 'POST', path: '/score', body: '{}', headers: { Origin: 'https://b.example' } });
    assert.equal(post.status, 200);
    assert.equal(post.headers['access-control-allow-origin'], 'https://b.example');
    assert.equal(post.headers['access-control-allow-methods'], undefined);
    assert.equal(post.headers.vary, 'Origin');
    const other = await server.request({ method: 'POST', path: '/score', body: '{}', headers: { Origin: 'https://evil.example' } });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const wildcard = await ScoringServer.start({ fixture: 'plain', env: { AML_CORS_ORIGINS: '*' } });
    const any = await wildcard.request({ method: 'POST', path: '/score', body: '{}', headers: { Origin: 'https://c.example' } });
    assert.equal(any.headers['access-control-allow-origin'], 'https://c.example');
    const noOrigin = await wildcard.request({ method: 'POST', path: '/score', body: '{}' });
    assert.equal(noOrigin.headers['access-control-allow-origin'], '*');
  });

  it('sends no CORS headers without AML_CORS_ORIGINS', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    await server.waitForStdout('CORS for the specified origins: None\n');
    const preflight = await server.request({
      method: 'OPTIONS',
      path: '/score',
      headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(preflight.headers['access-control-allow-methods'], undefined);
  });

  it('leaves out x-ms-server-version with SERVER_VERSION_LOG_RESPONSE_ENABLED=false', async () => {
    const off = await ScoringServer.start({ fixture: 'plain', env: { SERVER_VERSION_LOG_RESPONSE_ENABLED: 'false' } });
    const res = await off.request({ method: 'POST', path: '/score', body: '{}' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-ms-server-version'], undefined);
    assert.match(String(res.headers['x-request-id']), UUID);
    assert.equal((await off.request({ path: '/' })).headers['x-ms-server-version'], undefined);
    await off.waitForStdout('Inferencing HTTP server version: None\n');
    const on = await ScoringServer.start({ fixture: 'plain', env: { SERVER_VERSION_LOG_RESPONSE_ENABLED: 'True' } });
    assert.equal((await on.request({ path: '/' })).headers['x-ms-server-version'], 'oep-server/0.1.0');
  });

  it('logs what azmlinfsrv logs: x-ms-request-id deprecation, HTTP Response outputs, no health checks', async () => {
    const server = await ScoringServer.start({ fixture: 'rawhttp' });
    await server.request({ path: '/' });
    await server.request({ method: 'POST', path: '/score?action=dict', body: '{}', headers: { 'x-ms-request-id': 'legacy-1' } });
    await server.waitForStderr(
      'oep-server: warning: x-ms-request-id header has been deprecated and will be removed from future versions of the server. Please use x-ms-client-request-id.\n',
    );
    await server.request({ path: '/score?action=teapot', headers: { 'x-request-id': 'teapot-1' } });
    await server.waitForStdout(/oep-server: run\(\) output is HTTP Response\n(.*\n)*.* GET \/score 418 \S+ teapot-1\n/);
    assert.equal((server.stdout.match(/run\(\) output is HTTP Response/g) ?? []).length, 1, 'only AMLResponse returns');
    assert.equal(server.stderr.match(/deprecated/g)?.length, 1, 'only requests that send x-ms-request-id');
    assert.doesNotMatch(server.stdout, / GET \/ /);
  });

  it('lists CORS, App Insights, the health port and the config file in its banner', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    await server.waitForStdout('oep-server: ready on');
    const out = server.stdout;
    assert.match(out, /Config File: None\n/);
    assert.match(out, new RegExp(`Health Port: ${server.port}\\n`));
    assert.match(out, /Application Insights Enabled: false\n/);
    assert.match(out, /Application Insights Key: None\n/);
    assert.match(out, /CORS for the specified origins: None\n/);
    const configured = await ScoringServer.start({
      fixture: 'plain',
      env: {
        AZUREML_CONFIG_FILE: '/conf/config.json',
        AML_APP_INSIGHTS_ENABLED: 'true',
        AML_APP_INSIGHTS_KEY: '00000000-0000-0000-0000-000000000000',
      },
    });
    await configured.waitForStdout('oep-server: ready on');
    assert.match(configured.stdout, /Config File: \/conf\/config\.json\n/);
    assert.match(configured.stdout, /Application Insights Enabled: true\n/);
    assert.match(configured.stdout, /Application Insights Key: AppInsights key provided\n/);
  });

  it('answers with WORKER_COUNT=2 as soon as the first worker ran init()', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'oep-init-'));
    folders.push(folder);
    // start() returns on the first GET / 200: the second worker is still held in its init()
    const server = await ScoringServer.start({ fixture: 'slow_second_init', env: { WORKER_COUNT: '2', OEP_TEST_INIT_DIR: folder } });
    const res = await server.request({ method: 'POST', path: '/score', body: '{}' });
    assert.equal(res.status, 200);
    assert.equal((server.stdout.match(/slow_second_init: fast init/g) ?? []).length, 1);
    assert.doesNotMatch(server.stdout, /slow init/);
    writeFileSync(join(folder, 'release'), '');
    await server.waitForStdout('slow_second_init: slow init');
    await server.waitForWorkers(2);
    assert.equal((await server.request({ method: 'POST', path: '/score', body: '{}' })).status, 200);
  });
});
