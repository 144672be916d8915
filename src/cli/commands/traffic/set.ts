import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';
import { printTraffic, withTrafficOutput } from './output.js';

/** `oep traffic set` and `oep traffic mirror`: an endpoint and its rules. */
export interface TrafficSetOptions extends OutputFlags {
  /** The endpoint. */
  name: string;
  /** The name=percent pairs as one rule, e.g. "blue=90 green=10" (the engine parses it before asking the daemon). */
  rules: string;
}

export type TrafficMirrorOptions = TrafficSetOptions;

/** Sets the live traffic, then shows the endpoint's traffic. */
export async function runTrafficSet(ctx: CliContext, options: TrafficSetOptions): Promise<void> {
  const { updateEndpoint } = await import('../../../engine/endpoint-update.js');
  await updateEndpoint({ name: options.name, set: [], traffic: options.rules }, { client: ctx.client, cwd: ctx.cwd });
  await printTraffic(ctx, options.name, options);
}

/** Sets the mirrored traffic (0 removes a mirror), then shows the endpoint's traffic. */
export async function runTrafficMirror(ctx: CliContext, options: TrafficMirrorOptions): Promise<void> {
  const { updateEndpoint } = await import('../../../engine/endpoint-update.js');
  await updateEndpoint({ name: options.name, set: [], mirrorTraffic: options.rules }, { client: ctx.client, cwd: ctx.cwd });
  await printTraffic(ctx, options.name, options);
}

/** `oep traffic set -n E blue=90 green=10` and `oep traffic mirror -n E green=10`: the same flags. */
function trafficRulesCommand(ctx: CliContext, kind: 'set' | 'mirror', run: RunCommand<TrafficSetOptions>): Command {
  const what = kind === 'set' ? 'live traffic' : 'mirrored traffic';
  return withTrafficOutput(
    new Command(kind)
      .description(`Set an endpoint's ${what}, e.g. ${kind === 'set' ? 'blue=90 green=10' : 'green=10 (green=0 stops mirroring)'}.`)
      .requiredOption('-n, --name <name>', 'endpoint name')
      .argument('<rules...>', 'name=percent pairs'),
  ).action(async (rules: string[], flags: OutputFlags & { name: string }) => {
    await run(ctx, { name: flags.name, rules: rules.join(' '), output: flags.output, query: flags.query });
  });
}

export function trafficSetCommand(ctx: CliContext, run: RunCommand<TrafficSetOptions> = runTrafficSet): Command {
  return trafficRulesCommand(ctx, 'set', run);
}

export function trafficMirrorCommand(ctx: CliContext, run: RunCommand<TrafficMirrorOptions> = runTrafficMirror): Command {
  return trafficRulesCommand(ctx, 'mirror', run);
}
