import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { assetListCommand } from '../asset-flags.js';

export function modelListCommand(ctx: CliContext): Command {
  return assetListCommand(ctx, 'model');
}
