import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import { noWaitOption } from '../../options.js';

export function deploymentDeleteCommand(ctx: CliContext): Command {
  return new Command('delete')
    .description('Delete a deployment (it must have no live traffic).')
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(noWaitOption())
    .option('--purge', 'docker: also remove the image tags oep built for it (kept by default as a build cache)', false)
    .action(async (flags: { name: string; endpointName: string; yes: boolean; purge: boolean; wait: boolean }) => {
      await ctx.client.call('deployment.show', { endpoint: flags.endpointName, name: flags.name });
      await confirmOrRefuse(ctx, flags.yes, `Delete deployment ${flags.name} of endpoint ${flags.endpointName}?`);
      await withProgress(ctx, `deleting deployment ${flags.name}`, flags.wait ? `deleted deployment ${flags.name}` : 'accepted', (progress) => {
        progress.whenInterrupted = daemonGoesOn(`deleting deployment ${flags.name}`, `oep deployment list -e ${flags.endpointName}`);
        return ctx.client.call('deployment.delete', { endpoint: flags.endpointName, name: flags.name, purge: flags.purge }, { untilAccepted: !flags.wait });
      });
    });
}
