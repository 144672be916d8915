import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function daemonStartCommand(ctx: CliContext): Command {
  return withOutputOptions(new Command('start').description('Start the daemon (commands start it on demand too).')).action(async (flags: OutputFlags) => {
    await printData(ctx, await ctx.client.call('status'), flags);
  });
}
