/**
 * Microsoft's binary-payloads and inference-schema samples through oep, end to end: the real CLI
 * and daemon, the process runtime, oep's router in front. (a) A @rawhttp script gets a multipart
 * upload (as `curl -F file=@input.png` sends it) and answers a PNG with `resp.mimetype`; (b) an
 * @input_schema script gets a numpy array, and the endpoint's swagger carries its schemas. Neither
 * azureml-inference-server-http nor inference-schema needs to be installed: oep-server's stand-ins serve.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prerequisiteSkip } from '../prerequisites.js';
import { INPUT_PNG, NEGATIVE_PIXELS } from '../server/binary-payload-support.js';
import { readGrayPng } from '../server/png.js';
import { OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'scoring-samples');

/** A python3 with numpy (the inference-schema sample's NumpyParameterType): python3, else Debian's. */
function numpyPython(): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import numpy'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

const python = numpyPython();
const skip = prerequisiteSkip('scoring-samples e2e tests', !python && 'no python3 with numpy here (apt-get install python3-numpy)');

describe("Microsoft's binary-payload and inference-schema patterns on the process runtime", { skip }, () => {
  const oep = new OepSandbox({ OEP_PYTHON: python ?? 'python3' });
  let scoringUri = '';
  let openapiUri = '';
  let key = '';

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'binary-deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'schema-deployment.yml'), '--runtime', 'process', '-o', 'none']);
    const shown = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'samples'])) as { scoring_uri: string; openapi_uri: string };
    scoringUri = shown.scoring_uri;
    openapiUri = shown.openapi_uri;
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'samples', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(() => oep.close());

  it('(a) answers the PNG the script made from an uploaded one, as image/png', async () => {
    // what `curl -F "file=@input.png" -F "file=@notes.txt"` sends: multipart/form-data
    const form = new FormData();
    form.append('file', new Blob([INPUT_PNG], { type: 'image/png' }), 'input.png');
    form.append('file', new Blob(['second file'], { type: 'text/plain' }), 'notes.txt');
    const res = await fetch(scoringUri, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200, body.toString());
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-image-size'), '4x3');
    assert.equal(res.headers.get('azureml-model-deployment'), 'binary');
    assert.deepEqual(readGrayPng(body), { width: 4, height: 3, pixels: NEGATIVE_PIXELS });
  });

  it('(b) converts the JSON input to a numpy array for an @input_schema run()', async () => {
    const res = await fetch(scoringUri, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'azureml-model-deployment': 'schema' },
      body: JSON.stringify({ iris: [[7.2, 3.2, 6.0, 1.8], [4, 3, 1, 3]] }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), { type: 'ndarray', dtype: 'float64', shape: [2, 4], Category: ['Virginica', 'Setosa'] });
  });

  it("(b) serves the script's swagger at the endpoint's openapi_uri, with the decorators' schemas", async () => {
    assert.match(openapiUri, /^http:\/\/127\.0\.0\.1:\d+\/swagger\.json$/);
    const expected = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'server', 'schema_samples', 'expected', 'numpy.json'), 'utf8')) as Record<string, unknown>;
    const headers = { authorization: `Bearer ${key}`, 'azureml-model-deployment': 'schema' };
    const v2 = await fetch(openapiUri, { headers });
    assert.equal(v2.status, 200);
    const document = (await v2.json()) as { swagger: string; definitions: Record<string, unknown> };
    assert.equal(document.swagger, '2.0');
    assert.deepEqual(document.definitions.ServiceInput, expected.ServiceInput);
    assert.deepEqual(document.definitions.ServiceOutput, expected.ServiceOutput);
    const v3 = (await (await fetch(`${openapiUri}?version=3`, { headers })).json()) as { openapi: string; components: { schemas: Record<string, unknown> } };
    assert.equal(v3.openapi, '3.0.3');
    assert.deepEqual(v3.components.schemas.ServiceInput, expected.ServiceInput);
    assert.equal((await fetch(openapiUri)).status, 401);
  });
});
