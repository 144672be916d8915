import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { connectionCreateCommand } from './create.js';
import { connectionShowCommand } from './show.js';
import { connectionListCommand } from './list.js';
import { connectionUpdateCommand } from './update.js';
import { connectionDeleteCommand } from './delete.js';

/** `oep connection` and its verbs, in the order --help lists them. */
export function connectionCommand(ctx: CliContext): Command {
  const command = new Command('connection').description(
    "Workspace connections in oep's local workspace (az ml connection): deployments read their secrets through ${{azureml://connections/...}}.",
  );
  for (const make of [connectionCreateCommand, connectionShowCommand, connectionListCommand, connectionUpdateCommand, connectionDeleteCommand]) command.addCommand(make(ctx));
  return command;
}
