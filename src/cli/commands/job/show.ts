import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface JobShowOptions extends OutputFlags {
  name: string;
}

/** Prints the job: status, times, input, the `score` output and oep's mini-batch counts. */
export async function runJobShow(ctx: CliContext, options: JobShowOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('job.show', { name: options.name }), options);
}

export function jobShowCommand(ctx: CliContext, run: RunCommand<JobShowOptions> = runJobShow): Command {
  return withOutputOptions(new Command('show').description('Show a batch job.').requiredOption('-n, --name <name>', 'job name')).action(async (flags: JobShowOptions) => {
    await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
  });
}
