import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { OutputFlags } from '../../print.js';
import { printTraffic, withTrafficOutput } from './output.js';

/** `oep traffic set -n E blue=90 green=10` and `oep traffic mirror -n E green=10` (0 removes the mirror). */
export function trafficSetCommand(ctx: CliContext, kind: 'set' | 'mirror' = 'set'): Command {
  const what = kind === 'set' ? 'live traffic' : 'mirrored traffic';
  return withTrafficOutput(
    new Command(kind)
      .description(`Set an endpoint's ${what}, e.g. ${kind === 'set' ? 'blue=90 green=10' : 'green=10 (green=0 stops mirroring)'}.`)
      .requiredOption('-n, --name <name>', 'endpoint name')
      .argument('<rules...>', 'name=percent pairs'),
  ).action(async (rules: string[], flags: OutputFlags & { name: string }) => {
    const { updateEndpoint } = await import('../../../engine/endpoint-update.js');
    const rule = rules.join(' ');
    await updateEndpoint(
      { name: flags.name, set: [], ...(kind === 'set' ? { traffic: rule } : { mirrorTraffic: rule }) },
      { client: ctx.client, cwd: ctx.cwd },
    );
    await printTraffic(ctx, flags.name, flags);
  });
}

export function trafficMirrorCommand(ctx: CliContext): Command {
  return trafficSetCommand(ctx, 'mirror');
}
