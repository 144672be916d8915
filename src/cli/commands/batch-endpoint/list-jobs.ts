import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { JOB_COLUMNS } from '../job/columns.js';

export interface BatchEndpointListJobsOptions extends OutputFlags {
  name: string;
}

/** Prints the endpoint's jobs, newest first. */
export async function runBatchEndpointListJobs(ctx: CliContext, options: BatchEndpointListJobsOptions): Promise<void> {
  await ctx.client.call('batchEndpoint.show', { name: options.name });
  await printData(ctx, await ctx.client.call('job.list', { endpoint: options.name }), options, JOB_COLUMNS);
}

export function batchEndpointListJobsCommand(ctx: CliContext, run: RunCommand<BatchEndpointListJobsOptions> = runBatchEndpointListJobs): Command {
  return withOutputOptions(new Command('list-jobs').description("List a batch endpoint's jobs, newest first.").requiredOption('-n, --name <name>', 'batch endpoint name')).action(
    async (flags: BatchEndpointListJobsOptions) => {
      await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
    },
  );
}
