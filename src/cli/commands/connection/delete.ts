import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';

export function connectionDeleteCommand(ctx: CliContext): Command {
  return new Command('delete')
    .description('Delete a connection. Running deployments keep the values they were given; their next update fails if they still reference it.')
    .requiredOption('-n, --name <name>', 'connection name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .action(async (flags: { name: string; yes: boolean }) => {
      const { showConnection, removeConnection } = await import('../../../engine/connections.js');
      const deps = { home: ctx.home, cwd: ctx.cwd };
      // Fails with "does not exist" before asking anything.
      await showConnection(flags.name, {}, deps);
      await confirmOrRefuse(ctx, flags.yes, `Delete connection ${flags.name}?`);
      await removeConnection(flags.name, deps);
    });
}
