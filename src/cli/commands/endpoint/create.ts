import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { immediateNoWaitOption, setOption } from '../../options.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

interface Flags extends OutputFlags {
  file?: string;
  name?: string;
  authMode?: string;
  set: string[];
  tls?: string;
  local?: boolean;
}

export interface EndpointCreateOptions extends OutputFlags {
  file?: string;
  name?: string;
  authMode?: string;
  set: string[];
  /** on or off; the engine checks it (undefined: the tls setting). */
  tls?: string;
  /** --local: as Azure's local endpoints. */
  local: boolean;
}

/** Creates the endpoint and prints it. */
export async function runEndpointCreate(ctx: CliContext, options: EndpointCreateOptions): Promise<void> {
  const { createEndpoint } = await import('../../../engine/endpoint-create.js');
  const result = await createEndpoint({ file: options.file, name: options.name, authMode: options.authMode, set: options.set, tls: options.tls, local: options.local }, {
    client: ctx.client,
    cwd: ctx.cwd,
    onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`),
  });
  await printData(ctx, result, options);
}

export function endpointCreateCommand(ctx: CliContext, run: RunCommand<EndpointCreateOptions> = runEndpointCreate): Command {
  return withOutputOptions(
    new Command('create')
      .description('Create an endpoint from a YAML file, or with -n alone (key auth and the defaults), as az does.')
      .option('-f, --file <file>', 'endpoint YAML')
      .option('-n, --name <name>', 'endpoint name (overrides the name in the file)')
      .option('--auth-mode <mode>', 'key (default), aml_token or aad_token')
      .addOption(setOption('overrides a key of the file'))
      .option('--tls <on|off>', "HTTPS (on) or HTTP (off) on the endpoint's port, with a certificate from oep's local CA (oep ca path); default: the tls setting (oep config set tls on)")
      .option('--local', "as Azure's local endpoints: no auth, every request to its one deployment (no traffic rules), one deployment at most")
      .addOption(immediateNoWaitOption()),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    await run(ctx, {
      file: flags.file,
      name: flags.name,
      authMode: flags.authMode,
      set: flags.set,
      tls: flags.tls,
      local: flags.local === true,
      output: flags.output,
      query: flags.query,
    });
  });
}
