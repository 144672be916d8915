import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import { noWaitOption } from '../../options.js';
import type { RunCommand } from '../../run-command.js';

export interface DeploymentDeleteOptions {
  name: string;
  endpointName: string;
  /** --yes: do not ask. */
  yes: boolean;
  /** docker: also remove the image tags oep built for it. */
  purge: boolean;
  /** false (--no-wait): return once the daemon has accepted the delete. */
  wait: boolean;
}

/** Deletes the deployment once it is known to exist and the user has agreed. */
export async function runDeploymentDelete(ctx: CliContext, options: DeploymentDeleteOptions): Promise<void> {
  const { name, endpointName } = options;
  await ctx.client.call('deployment.show', { endpoint: endpointName, name });
  await confirmOrRefuse(ctx, options.yes, `Delete deployment ${name} of endpoint ${endpointName}?`);
  await withProgress(ctx, `deleting deployment ${name}`, options.wait ? `deleted deployment ${name}` : 'accepted', (progress) => {
    progress.whenInterrupted = daemonGoesOn(`deleting deployment ${name}`, `oep deployment list -e ${endpointName}`);
    return ctx.client.call('deployment.delete', { endpoint: endpointName, name, purge: options.purge }, { untilAccepted: !options.wait });
  });
}

export function deploymentDeleteCommand(ctx: CliContext, run: RunCommand<DeploymentDeleteOptions> = runDeploymentDelete): Command {
  return new Command('delete')
    .description('Delete a deployment (it must have no live traffic).')
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(noWaitOption())
    .option('--purge', 'docker: also remove the image tags oep built for it (kept by default as a build cache)', false)
    .action(async (flags: DeploymentDeleteOptions) => {
      await run(ctx, { name: flags.name, endpointName: flags.endpointName, yes: flags.yes, purge: flags.purge, wait: flags.wait });
    });
}
