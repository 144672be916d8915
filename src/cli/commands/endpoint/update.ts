import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  name?: string;
  file?: string;
  traffic?: string;
  mirrorTraffic?: string;
  set: string[];
  tls?: string;
}

export function endpointUpdateCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('update')
      .description('Update an endpoint: its YAML, --set keys, or its traffic rules.')
      .option('-n, --name <name>', 'endpoint name')
      .option('-f, --file <file>', 'endpoint YAML')
      .option('--traffic <rules>', 'live traffic, e.g. "blue=90 green=10"')
      .option('--mirror-traffic <rules>', 'mirrored traffic, e.g. "green=10"')
      .addOption(setOption('sets a key'))
      .option('--tls <on|off>', 'switch the endpoint to HTTPS (on) or HTTP (off) on the same port; open connections are closed')
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { updateEndpoint } = await import('../../../engine/endpoint-update.js');
    const result = await updateEndpoint(
      { name: flags.name, file: flags.file, traffic: flags.traffic, mirrorTraffic: flags.mirrorTraffic, set: flags.set, tls: flags.tls },
      { client: ctx.client, cwd: ctx.cwd, onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`) },
    );
    await printData(ctx, result, flags);
  });
}
