import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface ConnectionShowOptions extends OutputFlags {
  name: string;
  showSecrets: boolean;
  listSecrets: boolean;
}

/** Prints the connection, its credentials masked unless asked for. */
export async function runConnectionShow(ctx: CliContext, options: ConnectionShowOptions): Promise<void> {
  const { showConnection } = await import('../../../engine/connections.js');
  const view = await showConnection(options.name, { showSecrets: options.showSecrets, listSecrets: options.listSecrets }, { home: ctx.home, cwd: ctx.cwd });
  await printData(ctx, view, options);
}

export function connectionShowCommand(ctx: CliContext, run: RunCommand<ConnectionShowOptions> = runConnectionShow): Command {
  return withOutputOptions(
    new Command('show')
      .description("Show a connection; its credentials' values are masked (***) unless --show-secrets.")
      .requiredOption('-n, --name <name>', 'connection name')
      .option('--show-secrets', "print the credentials' values", false)
      .option('--list-secrets', 'print the connection as the List Secrets API answers it (what ${{azureml://connections/<name>}} injects), values included', false),
  ).action(async (flags: ConnectionShowOptions) => {
    await checkOutputFlags(flags);
    await run(ctx, { name: flags.name, showSecrets: flags.showSecrets, listSecrets: flags.listSecrets, output: flags.output, query: flags.query });
  });
}
