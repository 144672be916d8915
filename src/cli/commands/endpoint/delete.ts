import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import { noWaitOption } from '../../options.js';

export function endpointDeleteCommand(ctx: CliContext): Command {
  return new Command('delete')
    .description('Delete an endpoint and all its deployments.')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(noWaitOption())
    .option('--purge', 'docker: also remove the image tags oep built for its deployments (kept by default as a build cache)', false)
    .action(async (flags: { name: string; yes: boolean; purge: boolean; wait: boolean }) => {
      // Fails with "does not exist" before asking anything.
      await ctx.client.call('endpoint.show', { name: flags.name });
      await confirmOrRefuse(ctx, flags.yes, `Delete endpoint ${flags.name} and all its deployments?`);
      await withProgress(ctx, `deleting endpoint ${flags.name}`, flags.wait ? `deleted endpoint ${flags.name}` : 'accepted', (progress) => {
        progress.whenInterrupted = daemonGoesOn(`deleting endpoint ${flags.name}`, 'oep endpoint list');
        return ctx.client.call('endpoint.delete', { name: flags.name, purge: flags.purge }, { untilAccepted: !flags.wait });
      });
    });
}
