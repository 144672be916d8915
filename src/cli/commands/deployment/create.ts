import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { applyAction, deploymentApplyCommand } from './apply-flags.js';

export function deploymentCreateCommand(ctx: CliContext): Command {
  return deploymentApplyCommand('create', 'Create a deployment and wait until it answers.').action(applyAction(ctx, 'create'));
}
