/**
 * Scripts decorated with inference-schema's @input_schema / @output_schema when the package is not
 * installed: oep-server's stand-in (server/oep_shims/inference_schema) converts the inputs as the
 * package does and the swagger documents carry the schemas the package makes. The expected schemas
 * (test/fixtures/server/schema_samples/expected) are written from the package's documented
 * behaviour; the scripts follow Microsoft's inference-schema and openapi samples.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IN_TEST_IMAGE, prerequisiteSkip } from '../prerequisites.js';
import { FIXTURES, PYTHON, ScoringServer, stopAllServers } from './harness.js';

const FIXTURE = 'schema_samples';

interface Expected {
  versions: string[];
  ServiceInput: unknown;
  ServiceOutput: unknown;
}

function expected(name: string): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, FIXTURE, 'expected', `${name}.json`), 'utf8')) as Expected;
}

/** Checks every swagger version: the expected schemas in the supported ones, azmlinfsrv's 404 in the others. */
async function assertSwaggers(server: ScoringServer, want: Expected): Promise<void> {
  for (const version of ['2', '3', '3.1']) {
    const res = await server.request({ path: `/swagger.json?version=${version}` });
    if (!want.versions.includes(version)) {
      assert.equal(res.status, 404, version);
      assert.equal(
        res.text,
        `{"message": "Swagger version [${version}] is not supported for the scoring script. Supported swagger versions: [${want.versions.join(', ')}]."}`,
      );
      continue;
    }
    assert.equal(res.status, 200, `${version}: ${res.text}`);
    const document = JSON.parse(res.text) as {
      swagger?: string;
      openapi?: string;
      definitions?: Record<string, unknown>;
      components?: { schemas: Record<string, unknown> };
    };
    const schemas = version === '2' ? document.definitions : document.components?.schemas;
    assert.equal(document.swagger ?? document.openapi, { '2': '2.0', '3': '3.0.3', '3.1': '3.1.0' }[version]);
    assert.deepEqual(schemas?.ServiceInput, want.ServiceInput, `ServiceInput, version ${version}`);
    assert.deepEqual(schemas?.ServiceOutput, want.ServiceOutput, `ServiceOutput, version ${version}`);
  }
}

function score(server: ScoringServer, body: unknown) {
  return server.request({ method: 'POST', path: '/score', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
}

describe('inference-schema stand-in: standard Python types', () => {
  after(stopAllServers);

  it('is used because the package is not installed', () => {
    const probe = spawnSync(PYTHON, ['-c', 'import inference_schema'], { encoding: 'utf8' });
    assert.notEqual(probe.status, 0, 'this test needs an interpreter without inference-schema');
  });

  it('makes the swagger schemas the package makes, for every version', async () => {
    const server = await ScoringServer.start({ fixture: FIXTURE, entryScript: 'score_standard.py' });
    await assertSwaggers(server, expected('standard'));
  });

  it('passes the JSON values by name, ints for floats, and answers 500 for a value of another type', async () => {
    const server = await ScoringServer.start({ fixture: FIXTURE, entryScript: 'score_standard.py' });
    const res = await score(server, { data: { sepal_length: [7, 4.2], label: 'x', count: 2, strict: false }, scale: 2 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), {
      Category: ['Virginica', 'Virginica'],
      types: { count: 'int', label: 'str', sepal_length: 'list', strict: 'bool' },
      scale: ['int', 2],
    });
    const defaulted = await score(server, { data: { sepal_length: [1] } });
    assert.deepEqual(JSON.parse(defaulted.text).scale, ['float', 1.0]);
    const wrong = await score(server, { data: 'not an object' });
    assert.equal(wrong.status, 500);
    assert.equal(wrong.text, '{"message": "An unexpected error occurred in scoring script. Check the logs for more info."}');
    await server.waitForStderr("ValueError: Invalid input data type to parse. Expected: <class 'dict'> but got <class 'str'>");
  });
});

/** An interpreter with numpy and pandas: the suite's, else Debian's (apt-get install python3-pandas). */
function numpyPandasPython(): string | undefined {
  const candidates = [PYTHON];
  if (!IN_TEST_IMAGE && PYTHON !== '/usr/bin/python3' && existsSync('/usr/bin/python3')) candidates.push('/usr/bin/python3');
  return candidates.find((candidate) => spawnSync(candidate, ['-c', 'import numpy, pandas'], { stdio: 'ignore' }).status === 0);
}

const python = numpyPandasPython();
const skip = prerequisiteSkip(
  'inference-schema numpy/pandas tests',
  !python && 'no python3 with numpy and pandas (apt-get install python3-pandas)',
  IN_TEST_IMAGE && 'the test image has no numpy or pandas',
);

describe('inference-schema stand-in: numpy, pandas and nested types', { skip }, () => {
  after(stopAllServers);
  const start = (entryScript: string) => ScoringServer.start({ fixture: FIXTURE, entryScript, python });

  it('NumpyParameterType: the schema, and arrays of the sample dtype whose shape is checked', async () => {
    const server = await start('score_numpy.py');
    await assertSwaggers(server, expected('numpy'));
    const res = await score(server, { iris: [[7.2, 3.2, 6.0, 1.8], [4, 3, 1, 3]] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), { type: 'ndarray', dtype: 'float64', shape: [2, 4], Category: ['Virginica', 'Setosa'] });
    const wrong = await score(server, { iris: [[1, 2, 3]] });
    assert.equal(wrong.status, 500);
    await server.waitForStderr('ValueError: Invalid input array: array has size 3 on dimension #1, while expected value is 4');
  });

  it('PandasParameterType: the schema, and DataFrames with the sample column types, records or columns', async () => {
    const server = await start('score_pandas.py');
    await assertSwaggers(server, expected('pandas'));
    const records = await score(server, { iris: [{ sepal_length: 7, sepal_width: 3, species: 'v', petals: 4 }] });
    assert.equal(records.status, 200, records.text);
    assert.deepEqual(JSON.parse(records.text), {
      type: 'DataFrame',
      columns: ['sepal_length', 'sepal_width', 'species', 'petals'],
      dtypes: ['float64', 'float64', 'object', 'int64'],
      rows: 1,
      Category: ['Virginica'],
    });
    // Microsoft's sample input is column-oriented; pandas reads it so in the 'records' orient too
    const columns = await score(server, {
      iris: {
        sepal_length: { 0: 7.2, 1: 4.2 },
        sepal_width: { 0: 3.2, 1: 3.5 },
        species: { 0: 'a', 1: 'b' },
        petals: { 0: 1, 1: 2 },
      },
    });
    assert.equal(columns.status, 200, columns.text);
    assert.deepEqual(JSON.parse(columns.text).Category, ['Virginica', 'Setosa']);
    const wrong = await score(server, { iris: [{ sepal_length: 1 }] });
    assert.equal(wrong.status, 500);
    await server.waitForStderr('ValueError: Invalid input data frame: data frame has size 1 on dimension #1, while expected value is 4');
  });

  it('nested types: the schema (no swagger 2 for an array of mixed items), each item converted to its own type', async () => {
    const server = await start('score_nested.py');
    await assertSwaggers(server, expected('nested'));
    const res = await score(server, {
      payload: { features: [[1, 2], [3, 5]], table: [{ name: 'b', weight: 1 }], options: { threshold: 1, tags: [] }, pair: [2, 'two'] },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), {
      kinds: { features: 'ndarray', options: 'dict', pair: 'list', table: 'DataFrame' },
      features_dtype: 'int32',
      total: 11,
    });
  });
});
