import type { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';
import { assetShowCommand, runAssetShow, type AssetShowOptions } from '../asset-flags.js';

/** The options and run function are the ones `oep model` and `oep environment` share (asset-flags.ts). */
export type ModelShowOptions = AssetShowOptions;

export function modelShowCommand(ctx: CliContext, run: RunCommand<ModelShowOptions> = runAssetShow): Command {
  return assetShowCommand(ctx, 'model', run);
}
