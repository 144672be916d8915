import { Command } from '../../commander.js';
import { OepError } from '../../../errors.js';
import type { CliContext } from '../../context.js';
import { readKeeperRecord } from '../../../daemon/keeper-files.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export type DaemonStatusOptions = OutputFlags;

/** Prints the running daemon's status; starts none, and says why none runs. */
export async function runDaemonStatus(ctx: CliContext, options: DaemonStatusOptions): Promise<void> {
  const status = await ctx.client.callIfRunning('status');
  if (status === undefined) {
    // A keeper that gave up on a crash loop says so (keeper.json); the log has each crash.
    const keeper = readKeeperRecord(ctx.home);
    if (keeper?.state === 'gave-up') {
      throw new OepError(
        'OEP_ERR_DAEMON_UNAVAILABLE',
        `The oep daemon is not running: it ended ${keeper.crashes ?? 'several'} times within ${keeper.window_s ?? '?'} s (last: ${keeper.last_exit ?? 'unknown'}), and its keeper stopped starting it again at ${keeper.at}.`,
        { hint: `See why in its log: ${ctx.client.paths.daemonLog}; then start it again with: oep daemon start` },
      );
    }
    throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `The oep daemon is not running (home: ${ctx.home}).`, {
      hint: 'Start it with: oep daemon start',
    });
  }
  await printData(ctx, status, options);
}

export function daemonStatusCommand(ctx: CliContext, run: RunCommand<DaemonStatusOptions> = runDaemonStatus): Command {
  return withOutputOptions(new Command('status').description('Show whether the daemon runs, its pid, home and metrics URL.')).action(
    async (flags: OutputFlags) => {
      await run(ctx, { output: flags.output, query: flags.query });
    },
  );
}
