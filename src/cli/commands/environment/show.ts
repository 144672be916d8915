import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { assetShowCommand } from '../asset-flags.js';

export function environmentShowCommand(ctx: CliContext): Command {
  return assetShowCommand(ctx, 'environment');
}
