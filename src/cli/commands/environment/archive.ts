import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetArchiveCommand, runAssetArchive, type AssetArchiveOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model` and `oep environment` share (asset-flags.ts). */
export type EnvironmentArchiveOptions = AssetArchiveOptions;

export function environmentArchiveCommand(ctx: CliContext, run: RunCommand<EnvironmentArchiveOptions> = runAssetArchive): Command {
  return assetArchiveCommand(ctx, 'environment', false, run);
}
