import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { configGetCommand } from './get.js';
import { configSetCommand } from './set.js';
import { configUnsetCommand } from './unset.js';
import { configListCommand } from './list.js';

/** `oep config` and its verbs, in the order --help lists them. */
export function configCommand(ctx: CliContext): Command {
  const command = new Command('config').description('Read and change user settings (kept in $OEP_HOME/settings.json), e.g. the default runtime.');
  for (const make of [configGetCommand, configSetCommand, configUnsetCommand, configListCommand]) command.addCommand(make(ctx));
  return command;
}
