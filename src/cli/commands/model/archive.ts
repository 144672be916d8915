import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { assetArchiveCommand } from '../asset-flags.js';

export function modelArchiveCommand(ctx: CliContext): Command {
  return assetArchiveCommand(ctx, 'model', false);
}
