/**
 * The batch worker (server/oep_batch.py) with scoring scripts that need only the standard library:
 * the protocol the daemon's job runner speaks with it (docs/batch.md "Worker protocol"), the
 * script's init(), run() and shutdown() as Azure's batch runtime calls them, and a log that takes
 * everything the script writes, never the protocol stream.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { BATCH_FIXTURES, BatchWorker, stopBatchWorkers } from './batch-support.js';

const LIST_DRIVER = join(BATCH_FIXTURES, 'list-driver', 'batch_driver.py');

let inputs: string;
/** An input file of the test's data folder, by name. */
const input = (name: string): string => join(inputs, name);

before(() => {
  inputs = mkdtempSync(join(tmpdir(), 'oep-batch-in-'));
  writeFileSync(input('a.txt'), 'one\ntwo\n');
  writeFileSync(input('b.txt'), 'one\ntwo\nthree\n');
  writeFileSync(input('bad.txt'), 'x\n');
  writeFileSync(input('skip-c.txt'), 'x\n');
});

after(() => rmSync(inputs, { recursive: true, force: true }));
afterEach(() => stopBatchWorkers());

describe('a scoring script that returns a list', () => {
  it('is ready after init() and answers each mini-batch with its rows and the items that succeeded', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER, env: { AZUREML_MODEL_DIR: '/models/m/1' } });
    assert.deepEqual(await worker.next(), { event: 'ready' });
    assert.deepEqual(await worker.score(0, [input('a.txt'), input('b.txt')]), {
      event: 'done',
      mini_batch: 0,
      rows: ['a.txt,2', 'b.txt,3'],
      succeeded: 2,
    });
    assert.deepEqual(await worker.score(1, [input('b.txt')]), { event: 'done', mini_batch: 1, rows: ['b.txt,3'], succeeded: 1 });
    assert.deepEqual(await worker.finish(), { code: 0, signal: null });
  });

  it('keeps prints, logging, writes to fd 1 and child processes in the log, out of the protocol', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER, env: { AZUREML_MODEL_DIR: '/models/m/1' } });
    await worker.next();
    await worker.score(7, [input('a.txt')]);
    await worker.finish();
    assert.equal(
      worker.protocolText,
      '{"event": "ready"}\n{"event": "done", "mini_batch": 7, "rows": ["a.txt,2"], "succeeded": 1}\n',
    );
    const log = worker.stderr;
    assert.match(log, /^init: model dir \/models\/m\/1$/m);
    assert.match(log, /^run: 1 files$/m);
    assert.match(log, /^a partial line without its end$/m);
    assert.match(log, /^written to fd 1 directly$/m);
    assert.match(log, /^a child process writing to its stdout$/m);
  });

  it('runs in the code folder, imports its modules and gets --logging_level info by default', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER });
    await worker.next();
    await worker.finish();
    assert.match(worker.stderr, new RegExp(`^init: logging_level=INFO cwd=${join(BATCH_FIXTURES, 'list-driver')}$`, 'm'));
    assert.match(worker.stderr, / INFO batch_driver: init: an info line$/m);
    assert.doesNotMatch(worker.stderr, /a debug line/);
  });

  it('takes settings.logging_level (OEP_BATCH_LOGGING_LEVEL) as --logging_level and the root logger level', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER, env: { OEP_BATCH_LOGGING_LEVEL: 'debug' } });
    await worker.next();
    await worker.finish();
    assert.match(worker.stderr, /^init: logging_level=DEBUG /m);
    assert.match(worker.stderr, / DEBUG batch_driver: init: a debug line$/m);
  });

  it('counts only the items run() returned as succeeded', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER });
    await worker.next();
    assert.deepEqual(await worker.score(0, [input('a.txt'), input('skip-c.txt')]), {
      event: 'done',
      mini_batch: 0,
      rows: ['a.txt,2'],
      succeeded: 1,
    });
  });

  it('answers a mini-batch whose run() raised with its traceback, and scores the next one', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER });
    await worker.next();
    const failed = await worker.score(0, [input('a.txt'), input('bad.txt')]);
    assert.equal(failed.event, 'failed');
    assert.equal(failed.mini_batch, 0);
    assert.match(failed.error!, /^Traceback \(most recent call last\):\n/);
    assert.match(failed.error!, /batch_driver\.py", line \d+, in run\n/);
    assert.match(failed.error!, /\nValueError: cannot score bad\.txt\n$/);
    assert.match(await worker.stderrMatching(/^oep-batch: mini-batch 0 failed:\nTraceback/m), /^oep-batch: mini-batch 0 failed:\nTraceback/m);
    assert.deepEqual(await worker.score(1, [input('b.txt')]), { event: 'done', mini_batch: 1, rows: ['b.txt,3'], succeeded: 1 });
  });

  it('calls shutdown() at the end of its input and exits 0; the output folder is AZUREML_BI_OUTPUT_PATH', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER });
    await worker.next();
    assert.equal(existsSync(join(worker.outputDir, 'shutdown.txt')), false);
    assert.deepEqual(await worker.finish(), { code: 0, signal: null });
    assert.equal(readFileSync(join(worker.outputDir, 'shutdown.txt'), 'utf8'), 'shutdown called\n');
    assert.match(worker.stderr, /^shutdown: called$/m);
  });

  it('answers a line that is not a request as failed, and goes on', async () => {
    const worker = BatchWorker.start({ script: LIST_DRIVER });
    await worker.next();
    worker.child.stdin!.write('{"files": "a.txt"}\n');
    const failed = await worker.next();
    assert.deepEqual(failed, {
      event: 'failed',
      mini_batch: null,
      error: `oep-batch: the request b'{"files": "a.txt"}' is not a mini-batch request: 'mini_batch'`,
    });
    assert.deepEqual(await worker.score(2, [input('a.txt')]), { event: 'done', mini_batch: 2, rows: ['a.txt,2'], succeeded: 1 });
  });
});

describe('a run() written as a generator', () => {
  it('is drained: one row per value it yields, its output files written', async () => {
    const worker = BatchWorker.start({ script: join(BATCH_FIXTURES, 'generator-driver', 'batch_driver.py') });
    assert.deepEqual(await worker.next(), { event: 'ready' });
    assert.deepEqual(await worker.score(0, [input('a.txt'), input('b.txt')]), {
      event: 'done',
      mini_batch: 0,
      rows: ['True', 'True'],
      succeeded: 2,
    });
    assert.equal(readFileSync(join(worker.outputDir, 'a.txt.out'), 'utf8'), 'scored\n');
    assert.equal(readFileSync(join(worker.outputDir, 'b.txt.out'), 'utf8'), 'scored\n');
  });
});

describe('a worker that cannot start', () => {
  async function startFailure(options: Parameters<typeof BatchWorker.start>[0]): Promise<{ error: string; worker: BatchWorker }> {
    const worker = BatchWorker.start(options);
    const event = await worker.next();
    assert.equal(event.event, 'init_failed', JSON.stringify(event));
    assert.deepEqual(await worker.waitForExit(), { code: 3, signal: null });
    assert.equal(worker.protocolText.split('\n').length, 2, `one line on the protocol stream: ${worker.protocolText}`);
    return { error: event.error!, worker };
  }

  it('init() raised: init_failed with the traceback, exit 3', async () => {
    const { error, worker } = await startFailure({ script: join(BATCH_FIXTURES, 'init-fails', 'batch_driver.py'), env: { AZUREML_MODEL_DIR: '/models/m/1' } });
    assert.match(error, /^Traceback \(most recent call last\):\n/);
    assert.match(error, /\nRuntimeError: no model in \/models\/m\/1\n$/);
    assert.match(worker.stderr, /^oep-batch: the worker did not start:\nTraceback/m);
  });

  it('the script cannot be imported: init_failed with the ImportError, exit 3', async () => {
    const { error } = await startFailure({ script: join(BATCH_FIXTURES, 'import-fails', 'batch_driver.py') });
    assert.match(error, /\nModuleNotFoundError: No module named 'a_module_that_is_not_installed'\n$/);
  });

  it('the script has no run(): init_failed saying so, exit 3', async () => {
    const script = join(BATCH_FIXTURES, 'no-run', 'batch_driver.py');
    const { error } = await startFailure({ script });
    assert.equal(error, `The scoring script ${script} does not define run(): a batch scoring script needs init() and run(mini_batch).`);
  });

  it('the script does not exist: init_failed naming it, exit 3', async () => {
    const { error } = await startFailure({ script: join(inputs, 'missing.py'), cwd: inputs });
    assert.equal(error, `The scoring script ${join(inputs, 'missing.py')} does not exist.`);
  });

  it('neither a script nor an MLflow model: init_failed saying so, exit 3', async () => {
    const { error } = await startFailure({});
    assert.equal(error, 'Neither OEP_BATCH_SCRIPT (a scoring script) nor OEP_BATCH_MLFLOW_MODEL (an MLflow model) is set: the worker has nothing to run.');
  });
});
