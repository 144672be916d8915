import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

export interface JobCancelOptions {
  name: string;
}

/** Cancels a running job: its workers are ended, the job is Canceled. */
export async function runJobCancel(ctx: CliContext, options: JobCancelOptions): Promise<void> {
  await ctx.client.call('job.cancel', { name: options.name });
}

export function jobCancelCommand(ctx: CliContext, run: RunCommand<JobCancelOptions> = runJobCancel): Command {
  return new Command('cancel')
    .description('Cancel a running batch job.')
    .requiredOption('-n, --name <name>', 'job name')
    .action(async (flags: JobCancelOptions) => {
      await run(ctx, { name: flags.name });
    });
}
