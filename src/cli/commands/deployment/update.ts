import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { applyAction, deploymentApplyCommand, runApply, type DeploymentApplyCommandOptions } from './apply-flags.js';

export type DeploymentUpdateOptions = DeploymentApplyCommandOptions;

/** Updates the deployment under a progress display and prints it (or watches it, with --watch). */
export async function runDeploymentUpdate(ctx: CliContext, options: DeploymentUpdateOptions): Promise<void> {
  await runApply(ctx, 'update', options);
}

export function deploymentUpdateCommand(ctx: CliContext, run: RunCommand<DeploymentUpdateOptions> = runDeploymentUpdate): Command {
  return deploymentApplyCommand('update', 'Update a deployment (from -f, or --set on its current spec); new replicas replace the old once ready.').action(
    applyAction(ctx, run),
  );
}
