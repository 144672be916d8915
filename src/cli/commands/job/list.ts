import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { JOB_COLUMNS } from './columns.js';

export type JobListOptions = OutputFlags;

/** Prints every batch job, newest first. */
export async function runJobList(ctx: CliContext, options: JobListOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('job.list', {}), options, JOB_COLUMNS);
}

export function jobListCommand(ctx: CliContext, run: RunCommand<JobListOptions> = runJobList): Command {
  return withOutputOptions(new Command('list').description('List batch jobs, newest first.')).action(async (flags: JobListOptions) => {
    await run(ctx, { output: flags.output, query: flags.query });
  });
}
