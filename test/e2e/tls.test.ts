import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { prerequisiteSkip } from '../prerequisites.js';
import { assertPredictions, example, OepSandbox } from './harness.js';

// HTTPS scoring URIs end to end: the quickstart run with `oep config set tls on` on the process
// runtime, called with curl --cacert, Python requests (REQUESTS_CA_BUNDLE) and oep's own invoke.

const PREDICTION = [224.5, 353.3];
const SAMPLE = example('quickstart', 'sample-request.json');
const PYTHON = '/usr/bin/python3';
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const hasRequests = spawnSync(PYTHON, ['-c', 'import requests']).status === 0;

const run = promisify(execFile);

/** The base64 lines of a PEM private key: what must never be shown or logged. */
function keyLines(pemFile: string): string[] {
  const text = readFileSync(pemFile, 'utf8');
  const key = /-----BEGIN (?:RSA )?PRIVATE KEY-----\n([\s\S]+?)-----END/.exec(text)?.[1];
  assert.ok(key, `${pemFile} holds a private key`);
  return key.trim().split('\n');
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('HTTPS endpoints: the quickstart with tls on, on the process runtime', { skip: prerequisiteSkip('HTTPS end-to-end tests', !hasCurl && 'curl is not on PATH') }, () => {
  const oep = new OepSandbox();
  let quickstartOutput = '';
  let scoringUri = '';
  let port = '';
  let key = '';
  let caFile = '';

  before(async () => {
    await oep.ok(['config', 'set', 'tls', 'on']);
    quickstartOutput = execFileSync('bash', [example('quickstart', 'run.sh')], {
      env: { ...process.env, NO_COLOR: '1', OEP_HOME: oep.home, ...oep.env, OEP_QUICKSTART_RUNTIME: 'process' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    port = new URL(scoringUri).port;
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    caFile = (await oep.ok(['ca', 'path'])).trim();
  });
  after(() => oep.close());

  it('scoring_uri and openapi_uri are https on 127.0.0.1; oep ca path names OEP_HOME/tls/ca.pem', async () => {
    assert.match(scoringUri, /^https:\/\/127\.0\.0\.1:\d+\/score$/);
    assert.equal((await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'openapi_uri', '-o', 'tsv'])).trim(), `https://127.0.0.1:${port}/swagger.json`);
    const list = JSON.parse(await oep.ok(['endpoint', 'list'])) as { name: string; scoring_uri: string }[];
    assert.equal(list.find((item) => item.name === 'quickstart')?.scoring_uri, scoringUri);
    assert.equal(caFile, join(oep.home, 'tls', 'ca.pem'));
    assert.ok(new X509Certificate(readFileSync(caFile)).ca);
  });

  it("the quickstart's curl line has --cacert and answers", async () => {
    const line = /^ {2}(curl .*)$/m.exec(quickstartOutput)?.[1];
    assert.equal(line, `curl -s --cacert '${caFile}' -X POST '${scoringUri}' -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d @${SAMPLE}`);
    const { stdout } = await run('bash', ['-c', line!]);
    assertPredictions(JSON.parse(stdout), PREDICTION);
  });

  it('curl --cacert answers 200; curl without it refuses the certificate (exit 60)', async () => {
    const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '-X', 'POST', scoringUri, '-H', `Authorization: Bearer ${key}`, '-H', 'Content-Type: application/json', '-d', `@${SAMPLE}`, '-w', '\n%{http_code}']);
    const [body, status] = stdout.split('\n');
    assert.equal(status, '200');
    assertPredictions(JSON.parse(body!), PREDICTION);
    const untrusted = spawnSync('curl', ['-sS', '-X', 'POST', scoringUri, '-d', '{}'], { encoding: 'utf8' });
    assert.equal(untrusted.status, 60);
  });

  it('Python requests with REQUESTS_CA_BUNDLE', { skip: prerequisiteSkip('the Python requests test', !hasRequests && `${PYTHON} cannot import requests (apt-get install python3-requests)`) }, async () => {
    const script = [
      'import json, sys, requests',
      'body = open(sys.argv[3], "rb").read()',
      'r = requests.post(sys.argv[1], data=body, headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})',
      'print(r.status_code)',
      'print(r.text)',
    ].join('\n');
    const { stdout } = await run(PYTHON, ['-c', script, scoringUri, key, SAMPLE], { env: { ...process.env, REQUESTS_CA_BUNDLE: caFile } });
    const [status, body] = stdout.split('\n');
    assert.equal(status, '200');
    assertPredictions(JSON.parse(body!), PREDICTION);
    // Without the bundle, requests refuses the certificate.
    const refused = spawnSync(PYTHON, ['-c', script, scoringUri, key, SAMPLE], { encoding: 'utf8', env: { ...process.env, REQUESTS_CA_BUNDLE: '' } });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /CERTIFICATE_VERIFY_FAILED/);
  });

  it('oep endpoint invoke and oep deployment invoke work over HTTPS', async () => {
    assertPredictions(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', SAMPLE])), PREDICTION);
    assertPredictions(JSON.parse(await oep.ok(['deployment', 'invoke', '-n', 'blue', '-e', 'quickstart', '--request-file', SAMPLE])), PREDICTION);
  });

  it('a plain HTTP request to the port: 400 that says it is an HTTPS port', async () => {
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.once('error', reject);
      req.end('{}');
    });
    assert.deepEqual(reply, {
      status: 400,
      body: JSON.stringify({
        message: `This endpoint speaks HTTPS: the plain HTTP request was sent to an HTTPS port. Use https://127.0.0.1:${port}/ and trust oep's local CA (oep ca path).`,
      }),
    });
  });

  it('private keys are 0600 (in a 0700 folder) and appear nowhere in show, list, logs, state or the daemon log', async () => {
    const caKey = join(oep.home, 'tls', 'ca-key.pem');
    const endpointKey = join(oep.home, 'tls', 'endpoints', 'quickstart.pem');
    assert.equal(modeOf(join(oep.home, 'tls')), '700');
    assert.equal(modeOf(caKey), '600');
    assert.equal(modeOf(endpointKey), '600');
    const secrets = [...keyLines(caKey), ...keyLines(endpointKey)];
    const shown = [
      await oep.ok(['endpoint', 'show', '-n', 'quickstart']),
      await oep.ok(['endpoint', 'list']),
      await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart']),
      await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'quickstart']),
      await oep.ok(['traffic', 'show', '-n', 'quickstart']),
      await oep.ok(['endpoint', 'export', '-n', 'quickstart']),
      await oep.ok(['daemon', 'status']),
    ].join('\n');
    const stored = filesUnder(oep.home)
      .filter((file) => !file.startsWith(join(oep.home, 'tls')))
      .map((file) => readFileSync(file, 'latin1'))
      .join('\n');
    for (const line of secrets) {
      assert.ok(!shown.includes(line), 'a private key line is in the CLI output');
      assert.ok(!stored.includes(line), 'a private key line is in a file outside OEP_HOME/tls');
    }
    assert.ok(!readFileSync(caFile, 'utf8').includes('PRIVATE KEY'));
  });

  it('--tls off and on again: the same port speaks HTTP, then HTTPS with the same certificate', async () => {
    const certificate = readFileSync(join(oep.home, 'tls', 'endpoints', 'quickstart.pem'), 'utf8');
    assert.equal((await oep.ok(['endpoint', 'update', '-n', 'quickstart', '--tls', 'off', '--query', 'scoring_uri', '-o', 'tsv'])).trim(), `http://127.0.0.1:${port}/score`);
    assertPredictions(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', SAMPLE])), PREDICTION);
    assert.equal((await oep.ok(['endpoint', 'update', '-n', 'quickstart', '--tls', 'on', '--query', 'scoring_uri', '-o', 'tsv'])).trim(), scoringUri);
    assertPredictions(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', SAMPLE])), PREDICTION);
    assert.equal(readFileSync(join(oep.home, 'tls', 'endpoints', 'quickstart.pem'), 'utf8'), certificate);
  });

  // --tls with another value than on or off is refused before the daemon is asked: a row of
  // test/unit/cli-table.test.ts.

  it('a daemon restart keeps the CA and the certificate; the endpoint answers HTTPS on its port', async () => {
    const ca = readFileSync(caFile, 'utf8');
    const certificate = readFileSync(join(oep.home, 'tls', 'endpoints', 'quickstart.pem'), 'utf8');
    await oep.ok(['daemon', 'stop']);
    assertPredictions(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', SAMPLE])), PREDICTION);
    assert.equal(readFileSync(caFile, 'utf8'), ca);
    assert.equal(readFileSync(join(oep.home, 'tls', 'endpoints', 'quickstart.pem'), 'utf8'), certificate);
    const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '-X', 'POST', scoringUri, '-H', `Authorization: Bearer ${key}`, '-H', 'Content-Type: application/json', '-d', `@${SAMPLE}`]);
    assertPredictions(JSON.parse(stdout), PREDICTION);
  });

  it('--tls off on create overrides the setting; deleting an endpoint removes its certificate, the CA stays', async () => {
    const plain = JSON.parse(await oep.ok(['endpoint', 'create', '-n', 'plain-one', '--tls', 'off'])) as { scoring_uri: string };
    assert.match(plain.scoring_uri, /^http:\/\/127\.0\.0\.1:\d+\/score$/);
    assert.equal(existsSync(join(oep.home, 'tls', 'endpoints', 'plain-one.pem')), false);
    await oep.ok(['endpoint', 'delete', '-n', 'quickstart', '--yes']);
    assert.equal(existsSync(join(oep.home, 'tls', 'endpoints', 'quickstart.pem')), false);
    assert.equal(existsSync(caFile), true);
  });
});
