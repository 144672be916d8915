import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { caPathCommand } from './path.js';

/** `oep ca` and its verb, in the order --help lists them. */
export function caCommand(ctx: CliContext): Command {
  const command = new Command('ca').description("oep's local certificate authority, which signs the certificates of HTTPS endpoints (--tls on).");
  for (const make of [caPathCommand]) command.addCommand(make(ctx));
  return command;
}
