import { Command } from '../../commander.js';
import { existsSync } from 'node:fs';
import { OepError } from '../../../errors.js';
import { DAEMON_ENTRY } from '../../../daemon/client.js';
import type { CliContext } from '../../context.js';
import { printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

const RESTART_TIMEOUT_MS = 180_000;

export type DaemonRestartOptions = OutputFlags;

/**
 * `oep daemon restart`: a new daemon (this oep's: after an upgrade, the new version) takes over
 * from the running one without refusing a connection. The keeper holds the endpoints' ports; the
 * old daemon finishes what is in flight and hands its idle connections over; the replicas keep
 * running and are adopted. A daemon with no keeper (started by an older oep) is stopped and
 * started again instead: its replicas restart and its ports refuse connections meanwhile. With no
 * daemon running, it starts one.
 */
export async function runDaemonRestart(ctx: CliContext, options: DaemonRestartOptions): Promise<void> {
  const before = await ctx.client.callIfRunning('status');
  if (before === undefined) {
    await printData(ctx, await ctx.client.call('status'), options);
    return;
  }
  const answer = await ctx.client.call('restart', { entry: DAEMON_ENTRY });
  if (!answer.restarting) {
    ctx.stderr.write('notice: the running daemon has no keeper (an older oep started it): it is stopped, with its replicas, and started again; its ports refuse connections meanwhile.\n');
    await ctx.client.callIfRunning('shutdown');
    await waitFor(() => !existsSync(ctx.client.paths.pidFile));
    await printData(ctx, await ctx.client.call('status'), options);
    return;
  }
  // The new daemon answers on the socket once it has the ports and has adopted the replicas.
  let after = undefined as Awaited<ReturnType<typeof ctx.client.callIfRunning<'status'>>>;
  await waitFor(async () => {
    after = await ctx.client.callIfRunning('status').catch(() => undefined);
    return after !== undefined && after.pid !== before.pid;
  });
  if (!after || after.pid === before.pid) {
    throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `The new daemon did not answer within ${RESTART_TIMEOUT_MS / 1000} s.`, {
      hint: `See its log: ${ctx.client.paths.daemonLog}`,
    });
  }
  await printData(ctx, after, options);
}

export function daemonRestartCommand(ctx: CliContext, run: RunCommand<DaemonRestartOptions> = runDaemonRestart): Command {
  return withOutputOptions(
    new Command('restart').description(
      "Hand over to a new daemon (this oep's version) without dropping a connection: requests in flight finish, replicas keep running.",
    ),
  ).action(async (flags: OutputFlags) => {
    await run(ctx, { output: flags.output, query: flags.query });
  });
}

async function waitFor(done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + RESTART_TIMEOUT_MS;
  while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
}
