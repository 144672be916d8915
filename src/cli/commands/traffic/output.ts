import { Command, Option } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { printData, type OutputFlags } from '../../print.js';
import { drawTraffic } from '../../traffic-chart.js';

/** The `-o` and `--query` flags every `oep traffic` command takes: a chart unless asked otherwise. */
export function withTrafficOutput(command: Command): Command {
  return command
    .addOption(new Option('-o, --output <format>', 'chart (default), json, yaml, table, tsv or none').default('chart'))
    .option('--query <jmespath>', 'JMESPath query (with -o other than chart)');
}

/** Fetches the endpoint's traffic view and prints it as a chart or in the format asked for. */
export async function printTraffic(ctx: CliContext, endpoint: string, flags: OutputFlags): Promise<void> {
  const view = await ctx.client.call('endpoint.traffic', { name: endpoint });
  if (flags.output === 'chart' && !flags.query) ctx.stdout.write(drawTraffic(view));
  else await printData(ctx, view, { ...flags, output: flags.output === 'chart' ? 'json' : flags.output });
}
