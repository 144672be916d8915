import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { trafficShowCommand } from './show.js';
import { trafficMirrorCommand, trafficSetCommand } from './set.js';
import { trafficCompareCommand } from './compare.js';

/** `oep traffic` and its verbs, in the order --help lists them. */
export function trafficCommand(ctx: CliContext): Command {
  const command = new Command('traffic').description("Show and set an endpoint's live and mirrored traffic (short forms of endpoint update).");
  for (const make of [trafficShowCommand, trafficSetCommand, trafficMirrorCommand, trafficCompareCommand]) command.addCommand(make(ctx));
  return command;
}
