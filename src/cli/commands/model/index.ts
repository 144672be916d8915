import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { modelCreateCommand } from './create.js';
import { modelShowCommand } from './show.js';
import { modelListCommand } from './list.js';
import { modelArchiveCommand } from './archive.js';
import { modelRestoreCommand } from './restore.js';

/** `oep model` and its verbs, in the order --help lists them. */
export function modelCommand(ctx: CliContext): Command {
  const command = new Command('model').description("Register and inspect models in oep's local registry (deployments use them as azureml:<name>:<version>).");
  for (const make of [modelCreateCommand, modelShowCommand, modelListCommand, modelArchiveCommand, modelRestoreCommand]) command.addCommand(make(ctx));
  return command;
}
