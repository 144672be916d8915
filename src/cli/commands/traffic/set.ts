import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { drawTraffic, type TrafficView } from '../../traffic-chart.js';

/** `oep traffic set -n E blue=90 green=10` and `oep traffic mirror -n E green=10` (0 removes the mirror). */
export function trafficSetCommand(ctx: CliContext, kind: 'set' | 'mirror' = 'set'): Command {
  const what = kind === 'set' ? 'live traffic' : 'mirrored traffic';
  return new Command(kind)
    .description(`Set an endpoint's ${what}, e.g. ${kind === 'set' ? 'blue=90 green=10' : 'green=10 (green=0 stops mirroring)'}.`)
    .requiredOption('-n, --name <name>', 'endpoint name')
    .argument('<rules...>', 'name=percent pairs')
    .action(async (rules: string[], flags: { name: string }) => {
      const { updateEndpoint } = await import('../../../engine/endpoint-update.js');
      const rule = rules.join(' ');
      await updateEndpoint(
        { name: flags.name, set: [], ...(kind === 'set' ? { traffic: rule } : { mirrorTraffic: rule }) },
        { client: ctx.client, cwd: ctx.cwd },
      );
      ctx.stdout.write(drawTraffic(await ctx.client.call<TrafficView>('endpoint.traffic', { name: flags.name })));
    });
}

export function trafficMirrorCommand(ctx: CliContext): Command {
  return trafficSetCommand(ctx, 'mirror');
}
