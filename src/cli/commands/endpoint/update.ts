import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface EndpointUpdateOptions extends OutputFlags {
  name?: string;
  file?: string;
  /** Live traffic as written, e.g. "blue=90 green=10" (the engine parses it before asking the daemon). */
  traffic?: string;
  mirrorTraffic?: string;
  set: string[];
  /** on or off; the engine checks it. */
  tls?: string;
}

/** Updates the endpoint and prints it. */
export async function runEndpointUpdate(ctx: CliContext, options: EndpointUpdateOptions): Promise<void> {
  const { updateEndpoint } = await import('../../../engine/endpoint-update.js');
  const result = await updateEndpoint(
    { name: options.name, file: options.file, traffic: options.traffic, mirrorTraffic: options.mirrorTraffic, set: options.set, tls: options.tls },
    { client: ctx.client, cwd: ctx.cwd, onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`) },
  );
  await printData(ctx, result, options);
}

export function endpointUpdateCommand(ctx: CliContext, run: RunCommand<EndpointUpdateOptions> = runEndpointUpdate): Command {
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
  ).action(async (flags: EndpointUpdateOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, {
      name: flags.name,
      file: flags.file,
      traffic: flags.traffic,
      mirrorTraffic: flags.mirrorTraffic,
      set: flags.set,
      tls: flags.tls,
      output: flags.output,
      query: flags.query,
    });
  });
}
