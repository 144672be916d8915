import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetShowCommand, runAssetShow, type AssetShowOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model`, `oep environment` and `oep data` share (asset-flags.ts). */
export type DataShowOptions = AssetShowOptions;

export function dataShowCommand(ctx: CliContext, run: RunCommand<DataShowOptions> = runAssetShow): Command {
  return assetShowCommand(ctx, 'data', run);
}
