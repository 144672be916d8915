import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetArchiveCommand, runAssetArchive, type AssetArchiveOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model` and `oep environment` share (asset-flags.ts). */
export type ModelRestoreOptions = AssetArchiveOptions;

export function modelRestoreCommand(ctx: CliContext, run: RunCommand<ModelRestoreOptions> = runAssetArchive): Command {
  return assetArchiveCommand(ctx, 'model', true, run);
}
