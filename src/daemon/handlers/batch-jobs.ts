import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../../errors.js';
import { createJob, jobDir, jobLogDir, jobOutputDir, JOB_NAME, listJobs, readJob, saveJob, type BatchJobRecord, type JobInput } from '../../registry/jobs.js';
import { batchProcessLaunch } from '../../runtimes/process/batch-launch.js';
import { processWorkerLauncher } from '../../runtimes/process/batch-worker.js';
import { batchDockerLaunch } from '../../runtimes/docker/batch-launch.js';
import { dockerWorkerLauncher } from '../../runtimes/docker/batch-worker.js';
import { parseRuntimeChoice, type RuntimeKind } from '../../model/runtime-kind.js';
import { requireBatchDeployment, requireBatchEndpoint } from '../batch-rules.js';
import { batchJobView } from '../batch-job-views.js';
import type { CallContext, Handlers } from '../server.js';
import type { HandlerContext } from './context.js';

export type BatchJobHandlers = Pick<Handlers, 'batchEndpoint.invoke' | 'job.show' | 'job.list' | 'job.cancel'>;

/**
 * Invoking a batch endpoint and its jobs (docs/batch.md): an invoke checks its input, writes the
 * job's record (Queued) and returns it at once; the job runs in the daemon (BatchJobs,
 * src/supervisor/batch-jobs.ts) on workers of the process or the docker runtime.
 */
export function batchJobHandlers(ctx: HandlerContext): BatchJobHandlers {
  const { store, paths } = ctx.deps;
  const home = paths.home;

  const requireJob = async (name: string): Promise<BatchJobRecord> => {
    const record = await readJob(home, name);
    if (!record) {
      throw new OepError('OEP_ERR_JOB_NOT_FOUND', `Job ${name} does not exist.`, { hint: 'List jobs with: oep job list' });
    }
    return record;
  };

  return {
    async 'batchEndpoint.invoke'(params, context) {
      const jobs = ctx.deps.batchJobs;
      if (!jobs) throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'This daemon runs no batch jobs.');
      const state = store.snapshot();
      const endpoint = requireBatchEndpoint(state, params.endpoint);
      const deploymentName = params.deployment ?? endpoint.spec.defaults.deployment_name;
      if (deploymentName === undefined) {
        throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Batch endpoint ${params.endpoint} has no default deployment and no --deployment-name was given.`, {
          hint: `Create one with oep batch-deployment create -e ${params.endpoint} (the first becomes the default), or name one with --deployment-name.`,
        });
      }
      const deployment = requireBatchDeployment(state, params.endpoint, deploymentName).spec;
      const files = await inputFiles(params.input);
      const name = params.jobName ?? `batchjob-${randomUUID()}`;
      if (!JOB_NAME.test(name)) {
        throw new OepError('OEP_ERR_USAGE', `--job-name "${name}" is not a job name: lower-case letters, digits, "-" and "_", starting with a letter or digit.`);
      }
      const runtime = await chooseJobRuntime(ctx, params.runtime, context);
      // Docker: refused here, before the job exists, when the deployment cannot run in a container.
      const dockerLaunch =
        runtime === 'docker' && jobs.docker
          ? batchDockerLaunch(jobs.docker, { job: name, endpoint: params.endpoint, spec: deployment, input: params.input, outputDir: jobOutputDir(home, name), logDir: jobLogDir(home, name) })
          : undefined;
      const record: BatchJobRecord = {
        name,
        endpoint: params.endpoint,
        deployment: deploymentName,
        runtime,
        status: 'Queued',
        created_at: new Date(ctx.now()).toISOString(),
        ...(params.experimentName !== undefined && { experiment_name: params.experimentName }),
        input: params.input,
        settings: {
          mini_batch_size: deployment.mini_batch_size,
          max_retries: deployment.retry_settings.max_retries,
          timeout: deployment.retry_settings.timeout,
          error_threshold: deployment.error_threshold,
          output_action: deployment.output_action,
          output_file_name: deployment.output_file_name,
          instance_count: deployment.resources.instance_count,
          max_concurrency_per_instance: deployment.max_concurrency_per_instance,
          logging_level: deployment.logging_level,
          // --set, then --mini-batch-size and --instance-count (az's own flags win over its --set).
          ...params.overrides,
          ...(params.miniBatchSize !== undefined && { mini_batch_size: params.miniBatchSize }),
          ...(params.instanceCount !== undefined && { instance_count: params.instanceCount }),
        },
        ...(params.outputPath !== undefined && { output_path: params.outputPath }),
        counts: { mini_batches: 0, succeeded: 0, failed: 0, running: 0, waiting: 0, succeeded_items: 0, failed_items: 0 },
      };
      await createJob(home, record);
      let launcher;
      try {
        launcher = dockerLaunch
          ? dockerWorkerLauncher(dockerLaunch)
          : processWorkerLauncher(
              await batchProcessLaunch({
                spec: deployment,
                python: await jobs.python(),
                jobDir: jobDir(home, name),
                outputDir: jobOutputDir(home, name),
                logDir: jobLogDir(home, name),
              }),
            );
      } catch (error) {
        // The job exists (its folder holds the model's link): it ends Failed, saying why, never left Queued.
        await saveJob(home, { ...record, status: 'Failed', ended_at: new Date(ctx.now()).toISOString(), error: (error as Error).message });
        throw error;
      }
      jobs.runner.submit(record, { files, launcher });
      return batchJobView(record, home);
    },

    async 'job.show'(params) {
      return batchJobView(await requireJob(params.name), home);
    },

    async 'job.list'(params) {
      const records = await listJobs(home);
      return records
        .filter((record) => (params.endpoint === undefined || record.endpoint === params.endpoint) && (params.deployment === undefined || record.deployment === params.deployment))
        .map((record) => batchJobView(record, home));
    },

    async 'job.cancel'(params) {
      const record = await requireJob(params.name);
      const jobs = ctx.deps.batchJobs;
      if (!jobs?.runner.cancel(params.name)) {
        throw new OepError('OEP_ERR_USAGE', `Job ${params.name} is ${record.status}, not running: there is nothing to cancel.`);
      }
      return null;
    },
  };
}

/**
 * The files a job scores, in the order of their mini-batches: a uri_file is itself; a uri_folder
 * every file below it, at any depth, in path order (Azure lists a folder's files the same way).
 */
async function inputFiles(input: JobInput): Promise<string[]> {
  let info;
  try {
    info = await stat(input.path);
  } catch {
    throw new OepError('OEP_ERR_USAGE', `The input ${input.path} does not exist.`, { hint: 'Give --input a local folder or file, or a registered data asset (azureml:<name>:<version>).' });
  }
  if (input.type === 'uri_file') {
    if (!info.isFile()) throw new OepError('OEP_ERR_USAGE', `The input ${input.path} is a folder, but --input-type is uri_file.`, { hint: 'Use --input-type uri_folder for a folder.' });
    return [input.path];
  }
  if (!info.isDirectory()) throw new OepError('OEP_ERR_USAGE', `The input ${input.path} is a file, but --input-type is uri_folder.`, { hint: 'Use --input-type uri_file for one file.' });
  const entries = await readdir(input.path, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/**
 * Where a job's workers run: the invoke's runtime, else the `runtime` setting (auto: docker when
 * an engine answers), as an online deployment without --runtime. Docker must answer now.
 */
async function chooseJobRuntime(ctx: HandlerContext, requested: unknown, context: CallContext): Promise<RuntimeKind> {
  const choice = parseRuntimeChoice(requested);
  const runtime = choice === 'auto' ? await ctx.deps.defaultRuntime(context.emit) : choice;
  if (runtime === 'docker') {
    if (!ctx.deps.batchJobs?.docker) throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', 'This daemon runs no batch jobs on the docker runtime.', { hint: 'Run the job on the process runtime (the runtime setting: oep config set runtime process).' });
    await ctx.deps.checkRuntime?.('docker');
  }
  return runtime;
}
