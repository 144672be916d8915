import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { deploymentCreateCommand } from './create.js';
import { deploymentShowCommand } from './show.js';
import { deploymentListCommand } from './list.js';
import { deploymentUpdateCommand } from './update.js';
import { deploymentDeleteCommand } from './delete.js';
import { deploymentGetLogsCommand } from './get-logs.js';
import { deploymentInvokeCommand } from './invoke.js';
import { deploymentBuildCommand } from './build.js';
import { deploymentWatchCommand } from './watch.js';

/** `oep deployment` (az's `online-deployment`) and its verbs, in the order --help lists them. */
export function deploymentCommand(ctx: CliContext): Command {
  const command = new Command('deployment').alias('online-deployment').description("Manage an endpoint's deployments.");
  for (const make of [
    deploymentCreateCommand,
    deploymentShowCommand,
    deploymentListCommand,
    deploymentUpdateCommand,
    deploymentDeleteCommand,
    deploymentGetLogsCommand,
    deploymentInvokeCommand,
    deploymentBuildCommand,
    deploymentWatchCommand,
  ]) {
    command.addCommand(make(ctx));
  }
  return command;
}
