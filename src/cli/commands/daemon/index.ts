import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { daemonStartCommand } from './start.js';
import { daemonStopCommand } from './stop.js';
import { daemonRestartCommand } from './restart.js';
import { daemonStatusCommand } from './status.js';

/** `oep daemon` and its verbs, in the order --help lists them. */
export function daemonCommand(ctx: CliContext): Command {
  const command = new Command('daemon').description('Control the background daemon that runs endpoints.');
  for (const make of [daemonStartCommand, daemonStopCommand, daemonRestartCommand, daemonStatusCommand]) command.addCommand(make(ctx));
  return command;
}
