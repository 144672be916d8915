import { Command } from 'commander';
import { OepError } from '../../../errors.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';

export function daemonStatusCommand(ctx: CliContext): Command {
  return withOutputOptions(new Command('status').description('Show whether the daemon runs, its pid, home and metrics URL.')).action(
    async (flags: OutputFlags) => {
      const status = await ctx.client.callIfRunning('status');
      if (status === undefined) {
        throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `The oep daemon is not running (home: ${ctx.home}).`, {
          hint: 'Start it with: oep daemon start',
        });
      }
      await printData(ctx, status, flags);
    },
  );
}
