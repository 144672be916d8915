import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { JOB_COLUMNS } from '../job/columns.js';

export interface BatchDeploymentListJobsOptions extends OutputFlags {
  name: string;
  endpointName: string;
}

/** Prints the deployment's jobs, newest first. */
export async function runBatchDeploymentListJobs(ctx: CliContext, options: BatchDeploymentListJobsOptions): Promise<void> {
  await ctx.client.call('batchDeployment.show', { endpoint: options.endpointName, name: options.name });
  await printData(ctx, await ctx.client.call('job.list', { endpoint: options.endpointName, deployment: options.name }), options, JOB_COLUMNS);
}

export function batchDeploymentListJobsCommand(ctx: CliContext, run: RunCommand<BatchDeploymentListJobsOptions> = runBatchDeploymentListJobs): Command {
  return withOutputOptions(
    new Command('list-jobs')
      .description("List a batch deployment's jobs, newest first.")
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'batch endpoint name'),
  ).action(async (flags: BatchDeploymentListJobsOptions) => {
    await run(ctx, { name: flags.name, endpointName: flags.endpointName, output: flags.output, query: flags.query });
  });
}
