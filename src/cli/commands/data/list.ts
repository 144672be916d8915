import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetListCommand, runAssetList, type AssetListOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model`, `oep environment` and `oep data` share (asset-flags.ts). */
export type DataListOptions = AssetListOptions;

export function dataListCommand(ctx: CliContext, run: RunCommand<DataListOptions> = runAssetList): Command {
  return assetListCommand(ctx, 'data', run);
}
