import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { watch } from './apply-flags.js';

export interface DeploymentWatchOptions {
  name: string;
  endpointName: string;
  /** The deployment YAML, watched too. */
  file?: string;
}

/** Reloads the running deployment on every save until Ctrl-C. */
export async function runDeploymentWatch(ctx: CliContext, options: DeploymentWatchOptions): Promise<void> {
  await watch(ctx, { name: options.name, endpointName: options.endpointName, file: options.file, set: [], allTraffic: false });
}

export function deploymentWatchCommand(ctx: CliContext, run: RunCommand<DeploymentWatchOptions> = runDeploymentWatch): Command {
  return new Command('watch')
    .description('Reload a running deployment on every save of its code, model (and YAML, with -f) until Ctrl-C; requests never fail.')
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('-f, --file <file>', 'the deployment YAML: watched too, validated again on each save')
    .action(async (flags: DeploymentWatchOptions) => {
      await run(ctx, { name: flags.name, endpointName: flags.endpointName, file: flags.file });
    });
}
