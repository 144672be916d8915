import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { assetArchiveCommand } from '../asset-flags.js';

export function modelRestoreCommand(ctx: CliContext): Command {
  return assetArchiveCommand(ctx, 'model', true);
}
