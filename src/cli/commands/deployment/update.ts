import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { applyAction, deploymentApplyCommand } from './apply-flags.js';

export function deploymentUpdateCommand(ctx: CliContext): Command {
  return deploymentApplyCommand('update', 'Update a deployment (from -f, or --set on its current spec); new replicas replace the old once ready.').action(
    applyAction(ctx, 'update'),
  );
}
