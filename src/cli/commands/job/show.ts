import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface JobShowOptions extends OutputFlags {
  name: string;
  /** az's --web (open the job in the studio): there is none locally, so a notice says where things are. */
  web?: boolean;
}

/** Prints the job: status, times, input, the `score` output and oep's mini-batch counts. */
export async function runJobShow(ctx: CliContext, options: JobShowOptions): Promise<void> {
  const job = (await ctx.client.call('job.show', { name: options.name })) as { batch?: { log?: string }; outputs?: { score?: { path?: string } } };
  if (options.web) {
    ctx.stderr.write(`notice: --web: there is no studio on this machine; the job's log is ${job.batch?.log} (oep job stream -n ${options.name}), its output ${job.outputs?.score?.path}.\n`);
  }
  await printData(ctx, job, options);
}

export function jobShowCommand(ctx: CliContext, run: RunCommand<JobShowOptions> = runJobShow): Command {
  return withOutputOptions(
    new Command('show')
      .description('Show a batch job.')
      .requiredOption('-n, --name <name>', 'job name')
      .option('--web', "az opens the job in the studio: locally, a notice says where its log and output are"),
  ).action(async (flags: JobShowOptions) => {
    await run(ctx, { name: flags.name, output: flags.output, query: flags.query, ...(flags.web === true && { web: true }) });
  });
}
