import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { assetListCommand } from '../asset-flags.js';

export function environmentListCommand(ctx: CliContext): Command {
  return assetListCommand(ctx, 'environment');
}
