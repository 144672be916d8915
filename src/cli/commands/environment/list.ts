import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetListCommand, runAssetList, type AssetListOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model` and `oep environment` share (asset-flags.ts). */
export type EnvironmentListOptions = AssetListOptions;

export function environmentListCommand(ctx: CliContext, run: RunCommand<EnvironmentListOptions> = runAssetList): Command {
  return assetListCommand(ctx, 'environment', run);
}
