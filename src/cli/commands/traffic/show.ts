import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { OutputFlags } from '../../print.js';
import { printTraffic, withTrafficOutput } from './output.js';

export function trafficShowCommand(ctx: CliContext): Command {
  return withTrafficOutput(
    new Command('show')
      .description("Draw an endpoint's traffic allocation with live request counts per deployment.")
      .requiredOption('-n, --name <name>', 'endpoint name'),
  ).action(async (flags: OutputFlags & { name: string }) => {
    await printTraffic(ctx, flags.name, flags);
  });
}
