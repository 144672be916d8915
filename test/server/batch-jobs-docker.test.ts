/**
 * The daemon's job runner with workers in containers: BatchJobs (src/supervisor/batch-jobs.ts)
 * driving server/oep_batch.py in `oep-test/python:bookworm` containers through the docker
 * runtime's launcher (src/runtimes/docker/batch-worker.ts), laid out as batchDockerLaunch lays a
 * batch deployment out. What a user sees: the job's record, its output file, its logs; and that no
 * container is left behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createJob, jobLogDir, jobLogFile, jobOutputDir, readJob, type BatchJobRecord, type JobSettings } from '../../src/registry/jobs.js';
import { batchDockerLaunch } from '../../src/runtimes/docker/batch-launch.js';
import { dockerWorkerLauncher } from '../../src/runtimes/docker/batch-worker.js';
import { DockerEngine } from '../../src/runtimes/docker/engine.js';
import { ImageService } from '../../src/runtimes/docker/images.js';
import type { BatchDeploymentSpec, BatchLoggingLevel } from '../../src/spec/batch-types.js';
import { BatchJobs } from '../../src/supervisor/batch-jobs.js';
import { BASE_IMAGE, docker, dockerSkipReason, eventually, TEST_RUN } from '../e2e/docker-harness.js';
import { BATCH_FIXTURES, jobSetUp } from './batch-support.js';

const skip = await dockerSkipReason([BASE_IMAGE]);

const homes: string[] = [];
after(async () => {
  // Whatever a failed test left: this run's batch workers of these homes.
  for (const home of homes) {
    const left = await docker.listContainers({ all: true, filters: { label: [`oep.home-path=${home}`, 'oep.batch-job'] } }).catch(() => []);
    for (const container of left) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
});

/** A home with input files (name -> line count), a model folder, and the job's record. */
function setUp(files: Record<string, number>, settings: Partial<JobSettings> = {}) {
  const made = jobSetUp('oep-batch-docker-', `batchjob-docker-${homes.length + 1}`, 'docker', files, settings);
  homes.push(made.home);
  const model = join(made.home, 'heart-model');
  mkdirSync(model);
  writeFileSync(join(model, 'model.txt'), 'a model\n');
  return { ...made, model };
}

function deploymentSpec(model: string, code: string, settings: JobSettings): BatchDeploymentSpec {
  return {
    name: 'classifier',
    endpoint_name: 'heart',
    tags: {},
    model: { name: 'heart-model', version: '3', path: model },
    code_configuration: { code, scoring_script: 'batch_driver.py' },
    environment: { image: BASE_IMAGE },
    compute: 'azureml:cpu-cluster',
    resources: { instance_count: 1 },
    max_concurrency_per_instance: settings.max_concurrency_per_instance,
    mini_batch_size: settings.mini_batch_size,
    output_action: settings.output_action,
    output_file_name: settings.output_file_name,
    retry_settings: { max_retries: settings.max_retries, timeout: settings.timeout },
    error_threshold: settings.error_threshold,
    logging_level: settings.logging_level as BatchLoggingLevel,
    environment_variables: { GREETING: 'hello from the deployment' },
  };
}

const engine = new DockerEngine();
const images = new ImageService(engine);

function launcherFor(home: string, model: string, record: BatchJobRecord, code: string) {
  const launch = batchDockerLaunch(
    { engine, images, home, version: 'test' },
    { job: record.name, endpoint: record.endpoint, spec: deploymentSpec(model, code, record.settings), input: record.input, outputDir: jobOutputDir(home, record.name), logDir: jobLogDir(home, record.name) },
  );
  return dockerWorkerLauncher(launch);
}

async function ended(home: string, name: string, jobs: BatchJobs): Promise<BatchJobRecord> {
  while (jobs.isRunning(name)) await new Promise((resolve) => setTimeout(resolve, 50));
  return (await readJob(home, name))!;
}

/** The job's worker containers still on the engine, running or not. */
async function jobContainers(job: string) {
  return docker.listContainers({ all: true, filters: { label: [`oep.batch-job=${job}`, `oep.test-run=${TEST_RUN}`] } });
}

describe('batch jobs with workers in containers (docker runtime)', { skip }, () => {
  it('runs every mini-batch in containers laid out as in the cloud, writes the rows, and leaves no container', async () => {
    const { home, model, record, paths } = setUp({ 'a.csv': 1, 'b.csv': 2, 'c.csv': 3, 'd.csv': 4, 'e.csv': 5 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, model, record, join(BATCH_FIXTURES, 'list-driver')) });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Completed', readFileSync(jobLogFile(home, record.name), 'utf8'));
    assert.deepEqual(done.counts, { mini_batches: 3, succeeded: 3, failed: 0, running: 0, waiting: 0, succeeded_items: 5, failed_items: 0 });
    const rows = readFileSync(join(jobOutputDir(home, record.name), 'predictions.csv'), 'utf8').trim().split('\n').sort();
    assert.deepEqual(rows, ['a.csv,1', 'b.csv,2', 'c.csv,3', 'd.csv,4', 'e.csv,5']);
    // shutdown() wrote through the read-write output mount (AZUREML_BI_OUTPUT_PATH inside).
    assert.equal(readFileSync(join(jobOutputDir(home, record.name), 'shutdown.txt'), 'utf8'), 'shutdown called\n');
    // Both workers start; which one runs which mini-batches is up to which is ready first.
    const workerLog = readFileSync(join(jobLogDir(home, record.name), 'worker-0.log'), 'utf8');
    assert.match(workerLog, /init: logging_level=INFO cwd=\/var\/azureml-app\/list-driver\n/);
    assert.match(workerLog, /init: model dir \/var\/azureml-app\/azureml-models\/heart-model\/3\n/);
    const bothLogs = workerLog + readFileSync(join(jobLogDir(home, record.name), 'worker-1.log'), 'utf8');
    assert.match(bothLogs, /a child process writing to its stdout/);
    assert.match(readFileSync(join(jobLogDir(home, record.name), 'image.log'), 'utf8'), /using image oep-test\/python:bookworm as it is/);
    assert.deepEqual(await jobContainers(record.name), []);
  });

  it('a failing mini-batch is tried again and counted failed when its tries are used up', async () => {
    const { home, model, record, paths } = setUp({ 'a.csv': 1, 'bad1.csv': 1, 'c.csv': 1 }, { max_retries: 1, max_concurrency_per_instance: 1 });
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, model, record, join(BATCH_FIXTURES, 'list-driver')) });
    const done = await ended(home, record.name, jobs);
    assert.equal(done.status, 'Completed');
    assert.equal(done.counts.failed_items, 2);
    assert.equal(done.counts.succeeded_items, 1);
    const log = readFileSync(jobLogFile(home, record.name), 'utf8');
    assert.match(log, /mini-batch 0 failed \(worker 0, try 1, will be tried again\): ValueError: cannot score bad1.csv/);
    assert.match(log, /mini-batch 0 failed \(worker 0, try 2, no tries left\): ValueError: cannot score bad1.csv/);
    assert.equal(readFileSync(join(jobOutputDir(home, record.name), 'predictions.csv'), 'utf8'), 'c.csv,1\n');
    assert.deepEqual(await jobContainers(record.name), []);
  });

  it('a mini-batch past retry_settings.timeout: its container is killed and a new one runs the retry', async () => {
    const { home, model, record, paths } = setUp({ 'slow.csv': 1 }, { mini_batch_size: 1, max_retries: 1, max_concurrency_per_instance: 1, timeout: 5 });
    const code = join(home, 'slow-code');
    mkdirSync(code);
    // The first try hangs; the retry (the marker is in the output folder, which outlives a container) returns.
    writeFileSync(
      join(code, 'batch_driver.py'),
      [
        'import os, socket, time',
        '',
        'OUT = os.environ["AZUREML_BI_OUTPUT_PATH"]',
        '',
        'def init():',
        '    with open(os.path.join(OUT, "inits.txt"), "a") as handle:',
        '        handle.write(socket.gethostname() + "\\n")',
        '',
        'def run(mini_batch):',
        '    marker = os.path.join(OUT, "tried")',
        '    if not os.path.exists(marker):',
        '        open(marker, "w").close()',
        '        time.sleep(600)',
        '    return [os.path.basename(path) + ",scored" for path in mini_batch]',
        '',
      ].join('\n'),
    );
    await createJob(home, record);
    const jobs = new BatchJobs(home);
    jobs.submit(record, { files: paths, launcher: launcherFor(home, model, record, code) });
    // While the first try hangs: one container, labelled as oep's containers are, plus the job's labels.
    await eventually('the first try to start', async () => (existsSync(join(jobOutputDir(home, record.name), 'tried')) ? true : undefined));
    const running = await jobContainers(record.name);
    assert.equal(running.length, 1);
    assert.equal(running[0]!.State, 'running');
    const labels = running[0]!.Labels;
    assert.deepEqual(
      [labels['oep.batch-endpoint'], labels['oep.batch-deployment'], labels['oep.batch-worker'], labels['oep.home-path'], labels['oep.version']],
      ['heart', 'classifier', '0', home, 'test'],
    );
    // No online deployment's labels: a batch worker is never taken for a replica.
    assert.equal(labels['oep.endpoint'], undefined);
    const done = await ended(home, record.name, jobs);
    const log = readFileSync(jobLogFile(home, record.name), 'utf8');
    assert.equal(done.status, 'Completed', log);
    assert.match(log, /mini-batch 0 failed \(worker 0, try 1, will be tried again\): run\(\) did not return within 5 s \(retry_settings.timeout\)/);
    assert.match(log, /mini-batch 0: 1 of 1 items \(worker 0, try 2\)/);
    assert.equal(readFileSync(join(jobOutputDir(home, record.name), 'predictions.csv'), 'utf8'), 'slow.csv,scored\n');
    // Two containers (their hostnames), one init() each.
    const hosts = readFileSync(join(jobOutputDir(home, record.name), 'inits.txt'), 'utf8').trim().split('\n');
    assert.equal(hosts.length, 2);
    assert.notEqual(hosts[0], hosts[1]);
    assert.deepEqual(await jobContainers(record.name), []);
  });
});
