import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { OepError } from '../../../errors.js';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../../../model/runtime-kind.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
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
    },
    { client: ctx.client, cwd: ctx.cwd },
  );
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
      output: flags.output,
      query: flags.query,
    });
  });
}
