/**
 * oep's MLflow scoring script (server/oep_mlflow_score.py) served by oep-server, on scikit-learn
 * MLflow models the tests write themselves, loaded without the mlflow package.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { assertHeaders, EXEC_MS, generatedIds, type HttpResult } from './harness.js';
import {
  assertClose,
  MLFLOW_FIXTURES,
  MlflowServer,
  ModelDir,
  needSklearnPython,
  stopMlflowServers,
  type Interpreter,
} from './mlflow-support.js';

/** The columns model's function: y = 0.5 * age + 2 * bmi - bp + 10. */
const columnsModel = (age: number, bmi: number, bp: number): number => 0.5 * age + 2 * bmi - bp + 10;
/** The tensor model's function: y = x0 + 2 * x1 + 3 * x2 - 1. */
const tensorModel = (x: number[]): number => x[0]! + 2 * x[1]! + 3 * x[2]! - 1;
/** Loads models without mlflow even where it is installed. */
const WITHOUT_MLFLOW = { PYTHONPATH: join(MLFLOW_FIXTURES, 'hide-mlflow') };

function assertJsonAnswer(res: HttpResult, status: number): unknown {
  assert.equal(res.status, status, res.text);
  assertHeaders(res, {
    'content-type': 'application/json',
    'content-length': String(res.body.length),
    'x-ms-run-function-failed': 'False',
    'x-ms-run-fn-exec-ms': EXEC_MS,
    ...generatedIds(),
  });
  return res.json();
}

function assertRefused(res: HttpResult, message: string): void {
  assert.deepEqual(assertJsonAnswer(res, 400), { message });
}

describe('MLflow no-code scoring: a scikit-learn model with a column signature (cloudpickle)', () => {
  let python: Interpreter | undefined;
  let dir: ModelDir;
  let server: MlflowServer;

  before(async () => {
    dir = new ModelDir();
  });
  after(async () => {
    await stopMlflowServers();
    dir.remove();
  });

  const start = async (t: Parameters<typeof needSklearnPython>[0]): Promise<MlflowServer | undefined> => {
    python ??= await needSklearnPython(t);
    if (!python) return undefined;
    if (!server) {
      await dir.write(python, ['--serialization', 'cloudpickle', '--signature', 'columns']);
      server = await MlflowServer.start({ python, modelDir: dir.modelDir, env: WITHOUT_MLFLOW });
    }
    return server;
  };

  it('loads the model from the MLmodel file without mlflow and says how', async (t) => {
    const s = await start(t);
    if (!s) return;
    assert.match(s.stdout, /oep-mlflow: loaded the MLflow model in \S+\/model without mlflow: python_function flavour \(loader_module mlflow\.sklearn\), cloudpickle/);
    assert.match(s.stdout, /oep-mlflow: input signature: columns age \(long\), bmi \(double\), bp \(double\)/);
  });

  it('answers a split-orient DataFrame with the predictions as a JSON list', async (t) => {
    const s = await start(t);
    if (!s) return;
    const res = await s.score({ input_data: { columns: ['age', 'bmi', 'bp'], index: [0, 1], data: [[40, 25.0, 80.0], [30, 20.5, 100]] } });
    assertClose(assertJsonAnswer(res, 200), [columnsModel(40, 25, 80), columnsModel(30, 20.5, 100)]);
  });

  it('takes params, columns in any order, extra columns and numbers sent as strings, as Azure does', async (t) => {
    const s = await start(t);
    if (!s) return;
    const res = await s.score({
      input_data: { columns: ['bp', 'note', 'age', 'bmi'], index: [7], data: [[90, 'x', '60', 30]] },
      params: { threshold: 0.5 },
    });
    assertClose(assertJsonAnswer(res, 200), [columnsModel(60, 30, 90)]);
  });

  it('takes a dict of arrays (named columns) too', async (t) => {
    const s = await start(t);
    if (!s) return;
    const res = await s.score({ input_data: { age: [40, 50], bmi: [25, 26], bp: [80, 70] } });
    assertClose(assertJsonAnswer(res, 200), [columnsModel(40, 25, 80), columnsModel(50, 26, 70)]);
  });

  it('refuses a missing or misspelt column with 400 naming it', async (t) => {
    const s = await start(t);
    if (!s) return;
    assertRefused(
      await s.score({ input_data: { columns: ['age', 'bmi', 'blood_pressure'], index: [0], data: [[40, 25.0, 80.0]] } }),
      "Model is missing inputs ['bp']. Note that there were extra inputs: ['blood_pressure'].",
    );
    assertRefused(await s.score({ input_data: { columns: ['bmi'], index: [0], data: [[25.0]] } }), "Model is missing inputs ['age', 'bp'].");
  });

  it('refuses values that cannot be converted to the column type with 400 naming the column', async (t) => {
    const s = await start(t);
    if (!s) return;
    assertRefused(
      await s.score({ input_data: { columns: ['age', 'bmi', 'bp'], index: [0], data: [[40, 'heavy', 80.0]] } }),
      'Incompatible input types for column bmi: expected double, got "heavy".',
    );
    assertRefused(
      await s.score({ input_data: { columns: ['age', 'bmi', 'bp'], index: [0], data: [[40.5, 25.0, 80.0]] } }),
      'Incompatible input types for column age. Can not safely convert float64 to int64.',
    );
    assertRefused(
      await s.score({ input_data: { columns: ['age', 'bmi', 'bp'], index: [0], data: [[true, 25.0, 80.0]] } }),
      'Incompatible input types for column age: expected long, got boolean values.',
    );
  });

  it('refuses a bare list for a model with named columns, saying what to send', async (t) => {
    const s = await start(t);
    if (!s) return;
    assertRefused(
      await s.score({ input_data: [[40, 25.0, 80.0]] }),
      'input_data is a list, but the model\'s signature expects named columns (age, bmi, bp): send a DataFrame in split orientation, {"input_data": {"columns": [...], "index": [...], "data": [[...]]}}.',
    );
  });

  it('refuses bodies that are not {"input_data": ...} with 400', async (t) => {
    const s = await start(t);
    if (!s) return;
    assertRefused(await s.score({ data: [[1, 2, 3]] }), "A value is not provided for the 'input_data' parameter.");
    assertRefused(await s.score([1, 2]), 'POST body should be a JSON dictionary.');
    assertRefused(await s.score('{"input_data": '), 'POST body could not be decoded as JSON: Expecting value: line 1 column 16 (char 15)');
    assertRefused(
      await s.score({ input_data: { columns: ['age', 'bmi', 'bp'], index: [0], data: [[1, 2]] } }),
      'input_data.data[0] has 2 values, but input_data.columns names 3 columns.',
    );
  });
});

describe('MLflow no-code scoring: a model with a tensor signature (pickle)', () => {
  let dir: ModelDir;
  before(() => {
    dir = new ModelDir();
  });
  after(() => dir.remove());
  afterEach(stopMlflowServers);

  it('answers a list (a numpy array) and refuses the wrong shape with 400', async (t) => {
    const python = await needSklearnPython(t);
    if (!python) return;
    await dir.write(python, ['--serialization', 'pickle', '--signature', 'tensor']);
    const server = await MlflowServer.start({ python, modelDir: dir.modelDir, env: WITHOUT_MLFLOW });
    await server.expectStdout(/without mlflow: python_function flavour \(loader_module mlflow\.sklearn\), pickle/);
    await server.expectStdout(/input signature: tensors float64 \(-1, 3\)/);
    const rows = [
      [1, 2, 3],
      [0.5, 0, 4],
    ];
    assertClose(assertJsonAnswer(await server.score({ input_data: rows }), 200), rows.map(tensorModel));
    assertRefused(await server.score({ input_data: [[1, 2]] }), 'Shape of input_data (1, 2) does not match expected shape (-1, 3).');
    assertRefused(await server.score({ input_data: [['a', 'b', 'c']] }), 'The values of input_data cannot be converted to float64.');
  });
});

describe('MLflow no-code scoring: other model folders', () => {
  let dir: ModelDir;
  before(() => {
    dir = new ModelDir();
  });
  after(() => dir.remove());
  afterEach(stopMlflowServers);

  it('serves the sklearn flavour alone, without a signature, reading MLmodel without pyyaml', async (t) => {
    const python = await needSklearnPython(t);
    if (!python) return;
    await dir.write(python, ['--serialization', 'pickle', '--signature', 'none', '--no-pyfunc'], 'nested/mlflow-model');
    const server = await MlflowServer.start({
      python,
      modelDir: dir.modelDir,
      env: { PYTHONPATH: [join(MLFLOW_FIXTURES, 'hide-mlflow'), join(MLFLOW_FIXTURES, 'hide-pyyaml')].join(':') },
    });
    await server.expectStdout(/loaded the MLflow model in \S+\/nested\/mlflow-model without mlflow: sklearn flavour, pickle/);
    await server.expectStdout(/the model has no input signature: requests are passed to the model unchecked/);
    const res = await server.score({ input_data: { columns: ['age', 'bmi', 'bp'], index: [0], data: [[40, 25, 80]] } });
    assertClose(assertJsonAnswer(res, 200), [columnsModel(40, 25, 80)]);
  });
});
