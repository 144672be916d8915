import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export type DaemonStartOptions = OutputFlags;

/** Asks the daemon for its status, which starts it when none runs, and prints it. */
export async function runDaemonStart(ctx: CliContext, options: DaemonStartOptions): Promise<void> {
  await printData(ctx, await ctx.client.call('status'), options);
}

export function daemonStartCommand(ctx: CliContext, run: RunCommand<DaemonStartOptions> = runDaemonStart): Command {
  return withOutputOptions(new Command('start').description('Start the daemon (commands start it on demand too).')).action(async (flags: OutputFlags) => {
    await run(ctx, { output: flags.output, query: flags.query });
  });
}
