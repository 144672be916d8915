/**
 * Batch jobs end to end on the process runtime, with the real CLI, daemon and Python workers: the
 * heart-classifier flow of Microsoft's samples (a registered MLflow scikit-learn model, a
 * registered folder of CSV files, a deployment without a scoring script, invoke, stream,
 * download), and a custom batch_driver.py whose mini-batches fail, hang and are retried.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findSklearnPython, sklearnSkipReason, writeMlflowModel } from '../server/mlflow-support.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { eventually, OEP_BIN, OepSandbox } from './harness.js';

/** The model's function (test/fixtures/mlflow/make_model.py): y = 0.5 * age + 2 * bmi - bp + 10. */
const predict = (age: number, bmi: number, bp: number): number => 0.5 * age + 2 * bmi - bp + 10;

const skip = await sklearnSkipReason();

describe('batch jobs: the heart-classifier flow with an MLflow model (process runtime)', { skip }, () => {
  let oep: OepSandbox;
  let root = '';
  const rows: Record<string, [number, number, number][]> = {
    'part-000.csv': [[40, 25, 80], [61, 31.5, 95]],
    'part-001.csv': [[35, 22.5, 70]],
    'part-002.csv': [[50, 28, 90], [45, 27, 85], [70, 30, 100]],
  };

  before(async () => {
    const python = (await findSklearnPython())!;
    oep = new OepSandbox(python.env);
    root = join(oep.home, 'heart');
    mkdirSync(join(root, 'data'), { recursive: true });
    await writeMlflowModel(python, join(root, 'model'), ['--serialization', 'cloudpickle', '--signature', 'columns']);
    for (const [file, values] of Object.entries(rows)) {
      writeFileSync(join(root, 'data', file), ['age,bmi,bp', ...values.map((row) => row.join(','))].join('\n') + '\n');
    }
    writeFileSync(join(root, 'endpoint.yml'), '$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\nname: heart-batch\nauth_mode: aad_token\n');
    writeFileSync(
      join(root, 'deployment.yml'),
      [
        '$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json',
        'name: classifier-xgboost-mlflow',
        'endpoint_name: heart-batch',
        'type: model',
        'model: azureml:heart-classifier@latest',
        'compute: azureml:batch-cluster',
        'resources:',
        '  instance_count: 2',
        'settings:',
        '  max_concurrency_per_instance: 1',
        '  mini_batch_size: 2',
        '  output_action: append_row',
        '  output_file_name: predictions.csv',
        '  retry_settings:',
        '    max_retries: 3',
        '    timeout: 300',
        '  error_threshold: -1',
        '  logging_level: info',
        '',
      ].join('\n'),
    );
    await oep.ok(['config', 'set', 'python', python.command]);
    await oep.ok(['model', 'create', '--name', 'heart-classifier', '--version', '1', '--type', 'mlflow_model', '--path', 'model', '-o', 'none'], { cwd: root });
    await oep.ok(['data', 'create', '--name', 'heart-dataset-unlabeled', '--type', 'uri_folder', '--path', 'data', '-o', 'none'], { cwd: root });
    await oep.ok(['batch-endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: root });
    await oep.ok(['batch-deployment', 'create', '-f', 'deployment.yml', '--set-default', '-o', 'none'], { cwd: root });
  });
  after(async () => {
    await oep?.close();
  });

  it('invoke returns the job name at once; stream follows it to Completed; download gives predictions.csv', async () => {
    const name = (await oep.ok(['batch-endpoint', 'invoke', '-n', 'heart-batch', '--input', 'azureml:heart-dataset-unlabeled@latest', '--runtime', 'process', '--query', 'name', '-o', 'tsv'], { cwd: root })).trim();
    assert.match(name, /^batchjob-[0-9a-f-]{36}$/);

    const streamed = await oep.run(['job', 'stream', '-n', name]);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.match(streamed.stdout, /Running: 3 files in 2 mini-batches of up to 2, 2 workers, deployment classifier-xgboost-mlflow of heart-batch/);
    assert.match(streamed.stdout, /Completed: 2 of 2 mini-batches succeeded, 0 failed; 3 items succeeded, 0 failed/);
    assert.equal(streamed.stderr, '', 'no progress bar when stderr is not a terminal');

    const shown = JSON.parse(await oep.ok(['job', 'show', '-n', name])) as Record<string, any>;
    assert.equal(shown.status, 'Completed');
    assert.equal(shown.experiment_name, 'heart-batch');
    assert.equal(shown.inputs.input_data.path, 'azureml:heart-dataset-unlabeled:1');
    assert.deepEqual([shown.batch.mini_batches, shown.batch.succeeded, shown.batch.failed, shown.batch.succeeded_items], [2, 2, 0, 3]);

    const download = await oep.run(['job', 'download', '-n', name, '--output-name', 'score', '--download-path', 'out'], { cwd: root });
    assert.equal(download.code, 0, download.stderr);
    const predictions = readFileSync(join(root, 'out', 'named-outputs', 'score', 'predictions.csv'), 'utf8').trim().split('\n');
    // Azure's MLflow driver: row (in its file), prediction, file name; no header; one line per row of every file.
    assert.equal(predictions.length, 6);
    for (const [file, values] of Object.entries(rows)) {
      values.forEach(([age, bmi, bp], index) => {
        const line = predictions.find((row) => row.startsWith(`${index},`) && row.endsWith(`,${file}`));
        assert.ok(line, `no row ${index} of ${file} in:\n${predictions.join('\n')}`);
        assert.ok(Math.abs(Number(line.split(',')[1]) - predict(age, bmi, bp)) < 1e-6, line);
      });
    }
  });

  it('list-jobs of the endpoint and of the deployment, and job list, name the job', async () => {
    const byEndpoint = JSON.parse(await oep.ok(['batch-endpoint', 'list-jobs', '-n', 'heart-batch', '--query', '[].status'])) as string[];
    assert.deepEqual(byEndpoint, ['Completed']);
    const byDeployment = await oep.ok(['batch-deployment', 'list-jobs', '-n', 'classifier-xgboost-mlflow', '-e', 'heart-batch', '--query', 'length(@)', '-o', 'tsv']);
    assert.equal(byDeployment, '1\n');
    const table = await oep.ok(['job', 'list', '-o', 'table']);
    assert.match(table, /^Name\s+Status\s+Experiment_name\s+Start_time\s+End_time\n/);
    assert.match(table, /batchjob-\S+\s+Completed\s+heart-batch/);
  });

  it('bad input changes nothing: a missing path, a cloud URL, an unknown endpoint or job', async () => {
    const missing = await oep.run(['batch-endpoint', 'invoke', '-n', 'heart-batch', '--input', 'nowhere'], { cwd: root });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--input nowhere: no such file or folder/);
    const cloud = await oep.run(['batch-endpoint', 'invoke', '-n', 'heart-batch', '--input', 'https://azuremlexampledata.blob.core.windows.net/data/heart-disease-uci/data']);
    assert.equal(cloud.code, 2);
    assert.match(cloud.stderr, /is in the cloud; oep runs jobs on local files only/);
    const unknown = await oep.run(['batch-endpoint', 'invoke', '-n', 'nope', '--input', 'data'], { cwd: root });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Batch endpoint nope does not exist/);
    const job = await oep.run(['job', 'show', '-n', 'batchjob-nope']);
    assert.equal(job.code, 2);
    assert.match(job.stderr, /Job batchjob-nope does not exist\.[\s\S]*\(OEP_ERR_JOB_NOT_FOUND\)/);
    assert.equal(await oep.ok(['job', 'list', '--query', 'length(@)', '-o', 'tsv']), '1\n', 'no job was made');
  });
});

/**
 * A driver as Microsoft's custom-output samples write one: returns one line per file. Files named
 * bad* make run() raise; files named slow* make the first try of their mini-batch hang (a marker
 * in the output folder tells the next try); files named sleep* sleep long (for cancel).
 */
const DRIVER = `import os
import time

def init():
    global out
    out = os.environ["AZUREML_BI_OUTPUT_PATH"]

def run(mini_batch):
    results = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name.startswith("bad"):
            raise RuntimeError("cannot score " + name)
        if name.startswith("slow"):
            marker = os.path.join(out, name + ".tried")
            if not os.path.exists(marker):
                open(marker, "w").close()
                time.sleep(120)
        if name.startswith("sleep"):
            time.sleep(600)
        results.append(name + ",scored")
    return results
`;

describe('batch jobs: a custom driver with failures, timeouts, retries and summary_only (process runtime)', () => {
  const oep = new OepSandbox();
  let root = '';

  const deployment = (name: string, settings: string[]): void => {
    writeFileSync(
      join(root, `${name}.yml`),
      [
        `name: ${name}`,
        'endpoint_name: custom-batch',
        'model: {name: dummy, version: 1, path: ./model}',
        'code_configuration: {code: ./code, scoring_script: batch_driver.py}',
        'environment: {image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest}',
        'compute: azureml:batch-cluster',
        'mini_batch_size: 1',
        'max_concurrency_per_instance: 2',
        ...settings,
        '',
      ].join('\n'),
    );
  };
  const inputs = (folder: string, names: string[]): void => {
    mkdirSync(join(root, folder), { recursive: true });
    for (const name of names) writeFileSync(join(root, folder, name), 'x\n');
  };
  const invoke = async (deploymentName: string, folder: string): Promise<string> =>
    (await oep.ok(['batch-endpoint', 'invoke', '-n', 'custom-batch', '-d', deploymentName, '--input', folder, '--runtime', 'process', '--query', 'name', '-o', 'tsv'], { cwd: root })).trim();
  const show = async (name: string): Promise<Record<string, any>> => JSON.parse(await oep.ok(['job', 'show', '-n', name])) as Record<string, any>;

  before(async () => {
    root = join(oep.home, 'custom');
    mkdirSync(join(root, 'code'), { recursive: true });
    mkdirSync(join(root, 'model'), { recursive: true });
    writeFileSync(join(root, 'model', 'weights.txt'), '1\n');
    writeFileSync(join(root, 'code', 'batch_driver.py'), DRIVER);
    await oep.ok(['config', 'set', 'python', process.env.OEP_TEST_PYTHON ?? 'python3']);
    await oep.ok(['batch-endpoint', 'create', '-n', 'custom-batch', '-o', 'none']);
    deployment('tolerant', ['error_threshold: 1', 'retry_settings: {max_retries: 2, timeout: 3}']);
    deployment('strict', ['error_threshold: 0', 'retry_settings: {max_retries: 1, timeout: 30}']);
    deployment('summary', ['output_action: summary_only']);
    for (const name of ['tolerant', 'strict', 'summary']) await oep.ok(['batch-deployment', 'create', '-f', `${name}.yml`, '-o', 'none'], { cwd: root });
  });
  after(() => oep.close());

  it('oep validate knows batch YAML: a valid deployment, and a batch problem at its line', async () => {
    const valid = await oep.run(['validate', '-f', 'tolerant.yml'], { cwd: root });
    assert.equal(valid.code, 0, valid.stderr);
    assert.equal(valid.stdout, 'tolerant.yml: valid batch deployment "tolerant"\n');
    writeFileSync(join(root, 'broken.yml'), 'name: broken\nendpoint_name: custom-batch\nmodel: {path: ./model}\ncode_configuration: {code: ./code, scoring_script: batch_driver.py}\nenvironment: {image: python}\ncompute: azureml:c\noutput_action: append_everything\n');
    const broken = await oep.run(['validate', '-f', 'broken.yml'], { cwd: root });
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /broken\.yml:7:16 output_action: Must be one of: append_row, summary_only\./);
    writeFileSync(join(root, 'escape.yml'), 'name: escape\nendpoint_name: custom-batch\nmodel: {path: ./model}\ncode_configuration: {code: ./code, scoring_script: batch_driver.py}\nenvironment: {image: python}\ncompute: azureml:c\noutput_file_name: ../../../.bashrc\n');
    const escape = await oep.run(['validate', '-f', 'escape.yml'], { cwd: root });
    assert.equal(escape.code, 2, 'an output file outside the job\'s output folder is refused');
    assert.match(escape.stderr, /escape\.yml:7:\d+ output_file_name: Must match/);
  });

  it('a failing mini-batch under error_threshold and one that times out once: Completed, the hang retried', async () => {
    inputs('mixed', ['a.csv', 'bad-1.csv', 'c.csv', 'slow-1.csv']);
    const name = await invoke('tolerant', 'mixed');
    const streamed = await oep.run(['job', 'stream', '-n', name]);
    assert.equal(streamed.code, 0, streamed.stdout + streamed.stderr);
    assert.match(streamed.stdout, /mini-batch 1 failed \(worker \d, try 1, will be tried again\): RuntimeError: cannot score bad-1\.csv/);
    assert.match(streamed.stdout, /mini-batch 1 failed \(worker \d, try 3, no tries left\)/);
    assert.match(streamed.stdout, /mini-batch 3 failed \(worker \d, try 1, will be tried again\): run\(\) did not return within 3 s \(retry_settings\.timeout\)/);
    const job = await show(name);
    assert.equal(job.status, 'Completed');
    assert.deepEqual([job.batch.succeeded_items, job.batch.failed_items, job.batch.failed], [3, 1, 1]);
    const lines = readFileSync(join(job.outputs.score.path, 'predictions.csv'), 'utf8').trim().split('\n').sort();
    assert.deepEqual(lines, ['a.csv,scored', 'c.csv,scored', 'slow-1.csv,scored']);
  });

  it('past error_threshold the job fails; job stream says why and exits 1', async () => {
    inputs('failing', ['a.csv', 'bad-1.csv']);
    const name = await invoke('strict', 'failing');
    const streamed = await oep.run(['job', 'stream', '-n', name]);
    assert.equal(streamed.code, 1);
    assert.match(streamed.stderr, new RegExp(`^error: Job ${name} ended Failed: 1 failed item, more than error_threshold 0 \\(mini-batch 1 failed after 2 tries: RuntimeError: cannot score bad-1\\.csv\\)`));
    assert.match(streamed.stderr, /\(OEP_ERR_JOB_FAILED\)\n$/);
    assert.equal((await show(name)).status, 'Failed');
  });

  it('job stream on a terminal: a progress bar of the mini-batches on stderr', { skip: prerequisiteSkip('the terminal progress test', !existsSync('/usr/bin/script') && 'no script(1) here (util-linux; on Debian the bsdutils package)') }, async () => {
    inputs('terminal', ['a.csv', 'b.csv', 'c.csv', 'd.csv']);
    const name = await invoke('summary', 'terminal');
    const log = join(oep.home, 'stream-terminal.out');
    const command = `stty cols 120 rows 40; ${process.execPath} ${OEP_BIN} job stream -n ${name}`;
    // A terminal as a user has one: ora draws nothing when CI is in the environment at all.
    const { CI: _ci, NO_COLOR: _noColor, ...env } = process.env;
    const code = await new Promise<number>((resolve) => {
      const child = execFile('script', ['-qec', command, log], { env: { ...env, OEP_HOME: oep.home }, timeout: 120_000 }, (error) =>
        resolve(error ? (error.code as number) : 0),
      );
      child.stdin?.end();
    });
    assert.equal(code, 0);
    const terminal = readFileSync(log, 'utf8');
    assert.match(terminal, /mini-batches \[#{30}\] 4\/4/);
    assert.match(terminal, /Completed: 4 of 4 mini-batches succeeded/);
  });

  it("--set output_file_name and --output-path as Microsoft's mnist sample gives them; a bad --set changes nothing", async () => {
    inputs('named', ['a.csv', 'b.csv']);
    const invoked = await oep.run(
      ['batch-endpoint', 'invoke', '-n', 'custom-batch', '-d', 'tolerant', '--input', 'named', '--runtime', 'process', '--output-path', 'azureml://datastores/workspaceblobstore/paths/custom-batch', '--set', 'output_file_name=predictions_7.csv', '--query', 'name', '-o', 'tsv'],
      { cwd: root },
    );
    assert.equal(invoked.code, 0, invoked.stderr);
    assert.match(invoked.stderr, /^notice: --output-path azureml:\/\/datastores\/workspaceblobstore\/paths\/custom-batch is recorded; the output is written on this machine to \S+\/outputs\/score/);
    const name = invoked.stdout.trim();
    assert.equal((await oep.run(['job', 'stream', '-n', name])).code, 0);
    const job = await show(name);
    assert.equal(job.batch.settings.output_file_name, 'predictions_7.csv');
    assert.equal(job.batch.output_path, 'azureml://datastores/workspaceblobstore/paths/custom-batch');
    assert.deepEqual(readFileSync(join(job.outputs.score.path, 'predictions_7.csv'), 'utf8').trim().split('\n').sort(), ['a.csv,scored', 'b.csv,scored']);
    const web = await oep.run(['job', 'show', '-n', name, '--web', '--query', 'status', '-o', 'tsv']);
    assert.equal(web.stdout, 'Completed\n');
    assert.match(web.stderr, /^notice: --web: there is no studio on this machine; the job's log is /);

    const before = await oep.ok(['job', 'list', '--query', 'length(@)', '-o', 'tsv']);
    const bad = await oep.run(['batch-endpoint', 'invoke', '-n', 'custom-batch', '--input', 'named', '--set', 'model=azureml:other:1'], { cwd: root });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--set model=azureml:other:1: an invoke sets one of/);
    assert.equal(await oep.ok(['job', 'list', '--query', 'length(@)', '-o', 'tsv']), before);
  });

  it('summary_only: counts, no output file', async () => {
    inputs('plain', ['a.csv', 'b.csv', 'c.csv']);
    const name = await invoke('summary', 'plain');
    assert.equal((await oep.run(['job', 'stream', '-n', name])).code, 0);
    const job = await show(name);
    assert.equal(job.status, 'Completed');
    assert.equal(job.batch.succeeded_items, 3);
    assert.equal(existsSync(join(job.outputs.score.path, 'predictions.csv')), false);
  });

  it('job cancel ends a running job: Canceled; a second cancel is refused', async () => {
    inputs('sleepy', ['sleep-1.csv']);
    const name = await invoke('summary', 'sleepy');
    await eventually('the job running', async () => ((await show(name)).status === 'Running' ? true : undefined));
    await oep.ok(['job', 'cancel', '-n', name]);
    await eventually('the job canceled', async () => ((await show(name)).status === 'Canceled' ? true : undefined));
    const again = await oep.run(['job', 'cancel', '-n', name]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is Canceled, not running: there is nothing to cancel/);
  });

  it('a job the daemon was running when it stopped is Failed after the next start, never left Running', async () => {
    inputs('sleepy2', ['sleep-2.csv']);
    const name = await invoke('summary', 'sleepy2');
    await eventually('the job running', async () => ((await show(name)).status === 'Running' ? true : undefined));
    await oep.ok(['daemon', 'stop']);
    const job = await show(name);
    assert.equal(job.status, 'Failed');
    assert.match(job.batch.error, /the oep daemon stopped while the job ran/);
  });
});
