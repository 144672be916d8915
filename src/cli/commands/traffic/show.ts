import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { printTraffic, withTrafficOutput } from './output.js';

export interface TrafficShowOptions extends OutputFlags {
  /** The endpoint. */
  name: string;
}

/** Draws the endpoint's traffic (or prints it in the format asked for). */
export async function runTrafficShow(ctx: CliContext, options: TrafficShowOptions): Promise<void> {
  await printTraffic(ctx, options.name, options);
}

export function trafficShowCommand(ctx: CliContext, run: RunCommand<TrafficShowOptions> = runTrafficShow): Command {
  return withTrafficOutput(
    new Command('show')
      .description("Draw an endpoint's traffic allocation with live request counts per deployment.")
      .requiredOption('-n, --name <name>', 'endpoint name'),
  ).action(async (flags: TrafficShowOptions) => {
    await run(ctx, { name: flags.name, output: flags.output, query: flags.query });
  });
}
