import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { applyAction, deploymentApplyCommand, runApply, type DeploymentApplyCommandOptions } from './apply-flags.js';

export type DeploymentCreateOptions = DeploymentApplyCommandOptions;

/** Creates the deployment under a progress display and prints it (or watches it, with --watch). */
export async function runDeploymentCreate(ctx: CliContext, options: DeploymentCreateOptions): Promise<void> {
  await runApply(ctx, 'create', options);
}

export function deploymentCreateCommand(ctx: CliContext, run: RunCommand<DeploymentCreateOptions> = runDeploymentCreate): Command {
  return deploymentApplyCommand('create', 'Create a deployment and wait until it answers.').action(applyAction(ctx, run));
}
