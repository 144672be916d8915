import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

export interface ConnectionDeleteOptions {
  name: string;
  /** --yes: do not ask. */
  yes: boolean;
}

/** Deletes the connection once it is known to exist and the user has agreed. */
export async function runConnectionDelete(ctx: CliContext, options: ConnectionDeleteOptions): Promise<void> {
  const { showConnection, removeConnection } = await import('../../../engine/connections.js');
  const deps = { home: ctx.home, cwd: ctx.cwd };
  // Fails with "does not exist" before asking anything.
  await showConnection(options.name, {}, deps);
  await confirmOrRefuse(ctx, options.yes, `Delete connection ${options.name}?`);
  await removeConnection(options.name, deps);
}

export function connectionDeleteCommand(ctx: CliContext, run: RunCommand<ConnectionDeleteOptions> = runConnectionDelete): Command {
  return new Command('delete')
    .description('Delete a connection. Running deployments keep the values they were given; their next update fails if they still reference it.')
    .requiredOption('-n, --name <name>', 'connection name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .action(async (flags: ConnectionDeleteOptions) => {
      await run(ctx, { name: flags.name, yes: flags.yes });
    });
}
