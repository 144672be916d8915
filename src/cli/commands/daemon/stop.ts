import { Command } from '../../commander.js';
import { existsSync } from 'node:fs';
import type { CliContext } from '../../context.js';
import { keeperRunning } from '../../../daemon/keeper-files.js';
import type { RunCommand } from '../../run-command.js';

/** `oep daemon stop` takes no flags of its own. */
export type DaemonStopOptions = Record<string, never>;

/** Asks the daemon to shut down and waits until it and its keeper have gone. */
export async function runDaemonStop(ctx: CliContext, _options: DaemonStopOptions): Promise<void> {
  const answered = await ctx.client.callIfRunning('shutdown');
  if (answered === undefined) {
    ctx.stderr.write('The oep daemon is not running.\n');
    return;
  }
  // The pid file disappears once the daemon has stopped its replicas (and removed their
  // containers) and released its lock; the socket goes earlier, when the server closes.
  // Then the keeper closes the endpoints' ports and goes.
  const deadline = Date.now() + 30_000;
  while ((existsSync(ctx.client.paths.pidFile) || keeperRunning(ctx.client.paths.home)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function daemonStopCommand(ctx: CliContext, run: RunCommand<DaemonStopOptions> = runDaemonStop): Command {
  return new Command('stop')
    .description('Stop the daemon and every replica it runs; state is kept and restored on the next start.')
    .action(async () => {
      await run(ctx, {});
    });
}
