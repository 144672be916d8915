import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { endpointCreateCommand } from './create.js';
import { endpointShowCommand } from './show.js';
import { endpointListCommand } from './list.js';
import { endpointUpdateCommand } from './update.js';
import { endpointDeleteCommand } from './delete.js';
import { endpointInvokeCommand } from './invoke.js';
import { endpointGetCredentialsCommand } from './get-credentials.js';
import { endpointRegenerateKeysCommand } from './regenerate-keys.js';
import { endpointExportCommand } from './export.js';

/** `oep endpoint` (az's `online-endpoint`) and its verbs, in the order --help lists them. */
export function endpointCommand(ctx: CliContext): Command {
  const command = new Command('endpoint').alias('online-endpoint').description('Manage online endpoints.');
  for (const make of [
    endpointCreateCommand,
    endpointShowCommand,
    endpointListCommand,
    endpointUpdateCommand,
    endpointDeleteCommand,
    endpointInvokeCommand,
    endpointGetCredentialsCommand,
    endpointRegenerateKeysCommand,
    endpointExportCommand,
  ]) {
    command.addCommand(make(ctx));
  }
  return command;
}
