import { Command } from '../../commander.js';
import { confirmOrRefuse } from '../../confirm.js';
import type { CliContext } from '../../context.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import { noWaitOption } from '../../options.js';
import type { RunCommand } from '../../run-command.js';

export interface EndpointDeleteOptions {
  name: string;
  /** --yes: do not ask. */
  yes: boolean;
  /** docker: also remove the image tags oep built for its deployments. */
  purge: boolean;
  /** false (--no-wait): return once the daemon has accepted the delete. */
  wait: boolean;
}

/** Deletes the endpoint once it is known to exist and the user has agreed. */
export async function runEndpointDelete(ctx: CliContext, options: EndpointDeleteOptions): Promise<void> {
  const { name } = options;
  // Fails with "does not exist" before asking anything.
  await ctx.client.call('endpoint.show', { name });
  await confirmOrRefuse(ctx, options.yes, `Delete endpoint ${name} and all its deployments?`);
  await withProgress(ctx, `deleting endpoint ${name}`, options.wait ? `deleted endpoint ${name}` : 'accepted', (progress) => {
    progress.whenInterrupted = daemonGoesOn(`deleting endpoint ${name}`, 'oep endpoint list');
    return ctx.client.call('endpoint.delete', { name, purge: options.purge }, { untilAccepted: !options.wait });
  });
}

export function endpointDeleteCommand(ctx: CliContext, run: RunCommand<EndpointDeleteOptions> = runEndpointDelete): Command {
  return new Command('delete')
    .description('Delete an endpoint and all its deployments.')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .addOption(noWaitOption())
    .option('--purge', 'docker: also remove the image tags oep built for its deployments (kept by default as a build cache)', false)
    .action(async (flags: EndpointDeleteOptions) => {
      await run(ctx, { name: flags.name, yes: flags.yes, purge: flags.purge, wait: flags.wait });
    });
}
