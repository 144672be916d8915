import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetArchiveCommand, runAssetArchive, type AssetArchiveOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model` and `oep environment` share (asset-flags.ts). */
export type ModelArchiveOptions = AssetArchiveOptions;

export function modelArchiveCommand(ctx: CliContext, run: RunCommand<ModelArchiveOptions> = runAssetArchive): Command {
  return assetArchiveCommand(ctx, 'model', false, run);
}
