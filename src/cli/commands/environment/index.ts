import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { environmentCreateCommand } from './create.js';
import { environmentShowCommand } from './show.js';
import { environmentListCommand } from './list.js';
import { environmentArchiveCommand } from './archive.js';
import { environmentRestoreCommand } from './restore.js';

/** `oep environment` and its verbs, in the order --help lists them. */
export function environmentCommand(ctx: CliContext): Command {
  const command = new Command('environment').description("Register and inspect environments in oep's local registry (azureml:<name>:<version>, or a curated AzureML-<name>).");
  for (const make of [environmentCreateCommand, environmentShowCommand, environmentListCommand, environmentArchiveCommand, environmentRestoreCommand]) command.addCommand(make(ctx));
  return command;
}
