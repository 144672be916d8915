/**
 * The batch worker (server/oep_batch.py) where pandas is needed: a scoring script returning a
 * DataFrame (written as ParallelRunStep writes it, with parallel_run_step.settings.json's
 * separator), and an MLflow model deployed without a scoring script, scored from CSV (and Parquet)
 * files as Azure's generated driver does, on a scikit-learn model the test writes in MLflow's layout
 * and loads without the mlflow package. Host only: the plain test image has no pandas.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { BATCH_FIXTURES, BatchWorker, stopBatchWorkers, type BatchEvent } from './batch-support.js';
import { MLFLOW_FIXTURES, ModelDir, needSklearnPython, type Interpreter } from './mlflow-support.js';

/** The columns model's function (test/fixtures/mlflow/make_model.py): y = 0.5 * age + 2 * bmi - bp + 10. */
const columnsModel = (age: number, bmi: number, bp: number): number => 0.5 * age + 2 * bmi - bp + 10;
/** Loads models without mlflow even where it is installed. */
const WITHOUT_MLFLOW = { PYTHONPATH: join(MLFLOW_FIXTURES, 'hide-mlflow') };

/** The interpreter the model is written with and the worker runs (pandas, scikit-learn), once found. */
let python: Interpreter | undefined;

/** That interpreter, or undefined after skipping the test (failing under CI). */
async function pandasPython(t: TestContext): Promise<Interpreter | undefined> {
  python = await needSklearnPython(t);
  return python;
}

let data: string;
const file = (name: string): string => join(data, name);

before(() => {
  data = mkdtempSync(join(tmpdir(), 'oep-batch-data-'));
  writeFileSync(file('a.csv'), 'age,bmi,bp\n40,25.0,80.0\n30,20.5,100\n');
  // Columns in another order and one the model does not take, as Azure's driver accepts them.
  writeFileSync(file('b.csv'), 'bp,note,bmi,age\n90,x,30.0,50\n');
  writeFileSync(file('bad.csv'), 'age,bmi,bp\nold,25.0,80.0\n');
  writeFileSync(file('notes.json'), '{}\n');
});

after(() => rmSync(data, { recursive: true, force: true }));
afterEach(() => stopBatchWorkers());

describe('a scoring script that returns a pandas DataFrame', () => {
  const images = ['/data/x y.png', '/data/b.png'];

  it('is written as to_csv(sep=" ", header=False, index=False): one row per line, no header', async (t) => {
    const py = await pandasPython(t);
    if (!py) return;
    const worker = BatchWorker.start({ script: join(BATCH_FIXTURES, 'dataframe-driver', 'batch_driver.py'), python: py });
    assert.deepEqual(await worker.next(), { event: 'ready' });
    assert.deepEqual(await worker.score(0, images), { event: 'done', mini_batch: 0, rows: ['"x y.png" 0 0.25', 'b.png 1 0.5'], succeeded: 2 });
  });

  it("takes to_csv's keywords from the code folder's parallel_run_step.settings.json", async (t) => {
    const py = await pandasPython(t);
    if (!py) return;
    const worker = BatchWorker.start({ script: join(BATCH_FIXTURES, 'dataframe-comma', 'batch_driver.py'), python: py });
    await worker.next();
    assert.deepEqual(await worker.score(3, images), { event: 'done', mini_batch: 3, rows: ['x y.png,0,0.25', 'b.png,1,0.5'], succeeded: 2 });
  });

  it('does not start with a parallel_run_step.settings.json that is not JSON, and says which file', async (t) => {
    const py = await pandasPython(t);
    if (!py) return;
    const code = mkdtempSync(join(tmpdir(), 'oep-batch-code-'));
    t.after(() => rmSync(code, { recursive: true, force: true }));
    copyFileSync(join(BATCH_FIXTURES, 'dataframe-driver', 'batch_driver.py'), join(code, 'batch_driver.py'));
    writeFileSync(join(code, 'parallel_run_step.settings.json'), '{"append_row": ');
    const worker = BatchWorker.start({ script: join(code, 'batch_driver.py'), python: py });
    const event = await worker.next();
    assert.equal(event.event, 'init_failed');
    assert.match(event.error!, new RegExp(`^${join(code, 'parallel_run_step.settings.json')} is not valid JSON: `));
    assert.deepEqual(await worker.waitForExit(), { code: 3, signal: null });
  });
});

describe('an MLflow model without a scoring script', () => {
  let dir: ModelDir;
  before(() => {
    dir = new ModelDir();
  });
  after(() => dir.remove());

  let written = false;
  async function start(t: TestContext): Promise<BatchWorker | undefined> {
    const py = await pandasPython(t);
    if (!py) return undefined;
    if (!written) await dir.write(py, ['--serialization', 'cloudpickle', '--signature', 'columns']);
    written = true;
    const worker = BatchWorker.start({
      python: py,
      cwd: dir.root,
      env: { ...WITHOUT_MLFLOW, AZUREML_MODEL_DIR: dir.modelDir, OEP_BATCH_MLFLOW_MODEL: dir.modelDir },
    });
    assert.deepEqual(await worker.next(), { event: 'ready' });
    return worker;
  }

  /** A row split into its columns, the prediction compared within a tolerance. */
  function assertRows(event: BatchEvent, expected: [string, number, string][]): void {
    assert.equal(event.event, 'done', JSON.stringify(event));
    const rows = event.rows!.map((row) => row.split(','));
    assert.equal(rows.length, expected.length, JSON.stringify(event.rows));
    rows.forEach((columns, i) => {
      const [row, prediction, name] = expected[i]!;
      assert.equal(columns.length, 3, event.rows![i]);
      assert.equal(columns[0], row);
      assert.ok(Math.abs(Number(columns[1]) - prediction) < 1e-6, `${event.rows![i]}: prediction ${prediction} expected`);
      assert.equal(columns[2], name);
    });
  }

  it('scores CSV files: row, prediction and file name, comma-separated, one file counting as one item', async (t) => {
    const worker = await start(t);
    if (!worker) return;
    const event = await worker.score(0, [file('a.csv'), file('b.csv')]);
    assertRows(event, [
      ['0', columnsModel(40, 25, 80), 'a.csv'],
      ['1', columnsModel(30, 20.5, 100), 'a.csv'],
      ['0', columnsModel(50, 30, 90), 'b.csv'],
    ]);
    assert.equal(event.succeeded, 2);
    assert.match(worker.stderr, /^oep-batch: loaded the MLflow model in \S+\/model without mlflow: python_function flavour \(loader_module mlflow\.sklearn\), cloudpickle$/m);
    assert.match(worker.stderr, /^oep-batch: input signature: columns age \(long\), bmi \(double\), bp \(double\)$/m);
    assert.deepEqual(await worker.finish(), { code: 0, signal: null });
  });

  it("fails a mini-batch whose file does not fit the signature, naming the file and the column, and scores the next", async (t) => {
    const worker = await start(t);
    if (!worker) return;
    assert.deepEqual(await worker.score(0, [file('a.csv'), file('bad.csv')]), {
      event: 'failed',
      mini_batch: 0,
      error: `Error processing input file: '${file('bad.csv')}'. Exception: Incompatible input types for column age: expected long, got "old".`,
    });
    assertRows(await worker.score(1, [file('a.csv')]), [
      ['0', columnsModel(40, 25, 80), 'a.csv'],
      ['1', columnsModel(30, 20.5, 100), 'a.csv'],
    ]);
  });

  it('fails a mini-batch with a file type it cannot read, as Azure does', async (t) => {
    const worker = await start(t);
    if (!worker) return;
    const event = await worker.score(0, [file('notes.json')]);
    assert.equal(event.event, 'failed');
    assert.equal(
      event.error,
      `Error processing input file: '${file('notes.json')}'. File type 'json' is not supported: an MLflow model without a scoring script reads .csv, .parquet and .pqt files here; add a scoring script (code_configuration) for others.`,
    );
  });

  it('scores Parquet files with pyarrow, and without it fails the mini-batch saying what to add', async (t) => {
    const worker = await start(t);
    if (!worker) return;
    const parquet = file('c.parquet');
    const hasPyarrow = await pythonCan(python!, 'import pyarrow');
    if (hasPyarrow) {
      await pythonCan(python!, `import pandas; pandas.DataFrame({"age": [40], "bmi": [25.0], "bp": [80.0]}).to_parquet(${JSON.stringify(parquet)})`);
      assertRows(await worker.score(0, [parquet]), [['0', columnsModel(40, 25, 80), 'c.parquet']]);
      return;
    }
    writeFileSync(parquet, 'PAR1');
    const event = await worker.score(0, [parquet]);
    assert.equal(event.event, 'failed');
    assert.match(
      event.error!,
      new RegExp(`^Cannot read '${parquet}': reading Parquet files needs pyarrow \\(or fastparquet\\), and this environment \\(\\S+\\) has neither\\. Add pyarrow to the deployment's environment \\(its conda file\\), or send CSV files\\.$`),
    );
  });

  it('does not start when there is no MLflow model where it points: init_failed saying so, exit 3', async (t) => {
    const py = await pandasPython(t);
    if (!py) return;
    const empty = join(dir.root, 'empty');
    mkdirSync(empty, { recursive: true });
    const worker = BatchWorker.start({ python: py, cwd: dir.root, env: { ...WITHOUT_MLFLOW, OEP_BATCH_MLFLOW_MODEL: empty } });
    const event = await worker.next();
    assert.deepEqual(event, {
      event: 'init_failed',
      error: `MLflow model: No MLflow model under ${empty}: no MLmodel file was found there (model.type mlflow_model needs the folder that MLflow saved, with its MLmodel file).`,
    });
    assert.deepEqual(await worker.waitForExit(), { code: 3, signal: null });
  });
});

/** Whether `code` runs without error in the interpreter (e.g. an import). */
async function pythonCan(interpreter: Interpreter, code: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(interpreter.command, ['-c', code], { env: { ...process.env, ...interpreter.env } }, (error) => resolve(!error));
  });
}
