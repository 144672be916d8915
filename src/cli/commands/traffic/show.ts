import { Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { printData, type OutputFlags } from '../../print.js';
import { drawTraffic, type TrafficView } from '../../traffic-chart.js';

export function trafficShowCommand(ctx: CliContext): Command {
  return new Command('show')
    .description("Draw an endpoint's traffic allocation with live request counts per deployment.")
    .requiredOption('-n, --name <name>', 'endpoint name')
    .addOption(new Option('-o, --output <format>', 'chart (default), json, yaml, table, tsv or none').default('chart'))
    .option('--query <jmespath>', 'JMESPath query (with -o other than chart)')
    .action(async (flags: OutputFlags & { name: string }) => {
      const view = await ctx.client.call<TrafficView>('endpoint.traffic', { name: flags.name });
      if (flags.output === 'chart' && !flags.query) ctx.stdout.write(drawTraffic(view));
      else await printData(ctx, view, { ...flags, output: flags.output === 'chart' ? 'json' : flags.output });
    });
}
