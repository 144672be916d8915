/** GET /swagger.json of an MLflow no-code deployment: built from the model's signature. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { MLFLOW_FIXTURES, MlflowServer, ModelDir, needSklearnPython, stopMlflowServers } from './mlflow-support.js';

const WITHOUT_MLFLOW = { PYTHONPATH: join(MLFLOW_FIXTURES, 'hide-mlflow') };

describe('MLflow no-code scoring: swagger.json from the signature', () => {
  const dirs: ModelDir[] = [];
  const newDir = (): ModelDir => {
    const dir = new ModelDir();
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((dir) => dir.remove()));
  afterEach(stopMlflowServers);

  it('describes input_data as the signature\'s DataFrame, with the saved input example, in versions 2, 3 and 3.1', async (t) => {
    const python = await needSklearnPython(t);
    if (!python) return;
    const dir = newDir();
    await dir.write(python, ['--signature', 'columns']);
    const server = await MlflowServer.start({ python, modelDir: dir.modelDir, env: WITHOUT_MLFLOW });
    await server.expectStdout(/swagger: 2 \(generated\), 3 \(generated\), 3\.1 \(generated\)/);

    const v2 = await server.request({ path: '/swagger.json' });
    assert.equal(v2.status, 200);
    assert.equal(v2.headers['content-type'], 'application/json');
    const doc = v2.json() as { swagger: string; definitions: Record<string, Record<string, unknown>> };
    assert.equal(doc.swagger, '2.0');
    const input = doc.definitions.ServiceInput as { required: string[]; properties: Record<string, Record<string, unknown>>; example: unknown };
    assert.deepEqual(input.required, ['input_data']);
    const example = { columns: ['age', 'bmi', 'bp'], data: [[40, 25.0, 80.0]], index: [0] };
    assert.deepEqual(input.example, { input_data: example });
    const inputData = input.properties.input_data!;
    assert.equal(inputData.format, 'pandas.DataFrame:split');
    assert.deepEqual(inputData.required, ['columns', 'index', 'data']);
    assert.deepEqual(inputData.example, example);
    assert.deepEqual(inputData['x-oep-columns'], [
      { name: 'age', type: 'integer', format: 'int64', required: true },
      { name: 'bmi', type: 'number', format: 'double', required: true },
      { name: 'bp', type: 'number', format: 'double', required: true },
    ]);
    assert.deepEqual(doc.definitions.ServiceOutput, {
      type: 'array',
      items: { type: 'number', format: 'double' },
      format: 'numpy.ndarray',
      description: 'A tensor of float64 with shape (-1); -1 is any size.',
      example: [0.0],
    });

    const v3 = (await server.request({ path: '/swagger.json?version=3' })).json() as {
      openapi: string;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(v3.openapi, '3.0.3');
    assert.deepEqual(v3.components.schemas.ServiceInput, doc.definitions.ServiceInput);
    assert.equal(((await server.request({ path: '/swagger.json?version=3.1' })).json() as { openapi: string }).openapi, '3.1.0');
  });

  it('describes a tensor input as nested arrays', async (t) => {
    const python = await needSklearnPython(t);
    if (!python) return;
    const dir = newDir();
    await dir.write(python, ['--signature', 'tensor']);
    const server = await MlflowServer.start({ python, modelDir: dir.modelDir, env: WITHOUT_MLFLOW });
    const doc = (await server.request({ path: '/swagger.json' })).json() as { definitions: { ServiceInput: { properties: Record<string, unknown> } } };
    assert.deepEqual(doc.definitions.ServiceInput.properties.input_data, {
      type: 'array',
      items: { type: 'array', items: { type: 'number', format: 'double' }, minItems: 3, maxItems: 3 },
      format: 'numpy.ndarray',
      description: 'A tensor of float64 with shape (-1, 3); -1 is any size.',
      example: [[1.0, 2.0, 3.0]],
    });
  });
});
