import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends OutputFlags {
  name: string;
  showSecrets: boolean;
  listSecrets: boolean;
}

export function connectionShowCommand(ctx: CliContext): Command {
  return withOutputOptions(
    new Command('show')
      .description("Show a connection; its credentials' values are masked (***) unless --show-secrets.")
      .requiredOption('-n, --name <name>', 'connection name')
      .option('--show-secrets', "print the credentials' values", false)
      .option('--list-secrets', 'print the connection as the List Secrets API answers it (what ${{azureml://connections/<name>}} injects), values included', false),
  ).action(async (flags: Flags) => {
    await checkOutputFlags(flags);
    const { showConnection } = await import('../../../engine/connections.js');
    await printData(ctx, await showConnection(flags.name, { showSecrets: flags.showSecrets, listSecrets: flags.listSecrets }, { home: ctx.home, cwd: ctx.cwd }), flags);
  });
}
