import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { OepError } from '../../../errors.js';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../../../model/runtime-kind.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { setOption } from '../../options.js';
import type { RunCommand } from '../../run-command.js';

interface Flags extends OutputFlags {
  name: string;
  deploymentName?: string;
  input: string;
  inputType?: string;
  jobName?: string;
  experimentName?: string;
  miniBatchSize?: string;
  instanceCount?: string;
  runtime?: RuntimeChoice;
  set: string[];
  outputPath?: string;
}

export interface BatchEndpointInvokeOptions extends OutputFlags {
  name: string;
  deploymentName?: string;
  input: string;
  inputType?: string;
  jobName?: string;
  experimentName?: string;
  miniBatchSize?: number;
  instanceCount?: number;
  /** Where the workers run (oep's own flag, as deployment create's); absent: the runtime setting. */
  runtime?: RuntimeChoice;
  /** --set key=value: deployment settings for this job (output_file_name, mini_batch_size, ...). */
  set: string[];
  outputPath?: string;
}

/** Starts a job and prints it at once (Queued), as az does: `--query name -o tsv` gives its name. */
export async function runBatchEndpointInvoke(ctx: CliContext, options: BatchEndpointInvokeOptions): Promise<void> {
  const { invokeBatchEndpoint } = await import('../../../engine/batch-jobs.js');
  const job = await invokeBatchEndpoint(
    {
      endpoint: options.name,
      deployment: options.deploymentName,
      input: options.input,
      inputType: options.inputType,
      jobName: options.jobName,
      experimentName: options.experimentName,
      miniBatchSize: options.miniBatchSize,
      instanceCount: options.instanceCount,
      runtime: options.runtime,
      set: options.set,
      outputPath: options.outputPath,
    },
    { client: ctx.client, cwd: ctx.cwd },
  );
  if (options.outputPath !== undefined) {
    const score = (job as { outputs?: { score?: { path?: string } } }).outputs?.score?.path;
    ctx.stderr.write(`notice: --output-path ${options.outputPath} is recorded; the output is written on this machine to ${score} (oep job download copies it).\n`);
  }
  await printData(ctx, job, options);
}

/** A flag that must be a whole number >= 1, or a usage error naming it. */
function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < 1) throw new OepError('OEP_ERR_USAGE', `${flag} must be a whole number >= 1, not "${text}".`);
  return value;
}

export function batchEndpointInvokeCommand(ctx: CliContext, run: RunCommand<BatchEndpointInvokeOptions> = runBatchEndpointInvoke): Command {
  return withOutputOptions(
    new Command('invoke')
      .description("Run a batch job: the endpoint's default deployment (or --deployment-name) over a local folder, file or registered data asset.")
      .requiredOption('-n, --name <name>', 'batch endpoint name')
      .option('-d, --deployment-name <name>', "deployment to run (default: the endpoint's defaults.deployment_name)")
      .requiredOption('--input <path>', 'a local folder or file, or a data asset: azureml:<name>:<version> or azureml:<name>@latest')
      .addOption(new Option('--input-type <type>', 'what --input is (default: the asset\'s type, or what the path is)').choices(['uri_folder', 'uri_file']))
      .option('--job-name <name>', 'the job\'s name (default: batchjob-<uuid>)')
      .option('--experiment-name <name>', "the job's experiment (default: the endpoint's name)")
      .option('--mini-batch-size <n>', "files per mini-batch (default: the deployment's mini_batch_size)")
      .option('--instance-count <n>', "instances (default: the deployment's resources.instance_count)")
      .option('--output-path <path>', "where the output goes in Azure (a datastore path): recorded; locally the output stays in the job's folder")
      .addOption(setOption('a deployment setting for this job: output_file_name, mini_batch_size, instance_count, error_threshold, retry_settings.max_retries, retry_settings.timeout, logging_level'))
      .addOption(new Option('--runtime <runtime>', 'where the workers run (default: the runtime setting: docker when an engine answers)').choices(RUNTIME_CHOICES)),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    await run(ctx, {
      name: flags.name,
      deploymentName: flags.deploymentName,
      input: flags.input,
      inputType: flags.inputType,
      jobName: flags.jobName,
      experimentName: flags.experimentName,
      miniBatchSize: positiveInteger('--mini-batch-size', flags.miniBatchSize),
      instanceCount: positiveInteger('--instance-count', flags.instanceCount),
      ...(flags.runtime !== undefined && { runtime: flags.runtime }),
      set: flags.set,
      ...(flags.outputPath !== undefined && { outputPath: flags.outputPath }),
      output: flags.output,
      query: flags.query,
    });
  });
}
