import { Command } from '../commander.js';
import type { AssetKind } from '../../registry/store.js';
import type { CliContext } from '../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../print.js';

/**
 * The verbs `oep model` and `oep environment` share (show, list, archive, restore), with az ml's
 * flags. Each verb still has its own file; this is the part that is the same for both nouns.
 */
export type AssetNoun = 'model' | 'environment';

export const KIND: Record<AssetNoun, AssetKind> = { model: 'models', environment: 'environments' };

const COLUMNS = ['name', 'version', 'description'];

interface VersionFlags extends OutputFlags {
  name: string;
  version?: string;
  label?: string;
}

function withVersionFlags(command: Command, noun: AssetNoun): Command {
  return withOutputOptions(
    command
      .requiredOption('-n, --name <name>', `${noun} name`)
      .option('-v, --version <version>', `${noun} version`)
      .option('-l, --label <label>', `label instead of a version: latest (the newest ${noun} version that is not archived)`),
  );
}

export function assetShowCommand(ctx: CliContext, noun: AssetNoun): Command {
  return withVersionFlags(new Command('show').description(`Show one ${noun} version from oep's local registry.`), noun).action(async (flags: VersionFlags) => {
    await checkOutputFlags(flags);
    const { showAsset } = await import('../../engine/assets.js');
    await printData(ctx, await showAsset(KIND[noun], flags, { home: ctx.home, cwd: ctx.cwd }), flags, COLUMNS);
  });
}

export function assetArchiveCommand(ctx: CliContext, noun: AssetNoun, restore: boolean): Command {
  const description = restore
    ? `Restore an archived ${noun} version: it shows in list and counts for @latest again.`
    : `Archive a ${noun} version: it leaves list and @latest, and stays usable by its version.`;
  return withVersionFlags(new Command(restore ? 'restore' : 'archive').description(description), noun).action(async (flags: VersionFlags) => {
    await checkOutputFlags(flags);
    const { archiveAsset } = await import('../../engine/assets.js');
    const result = await archiveAsset(KIND[noun], { ...flags, restore }, { home: ctx.home, cwd: ctx.cwd });
    await printData(ctx, result, flags, COLUMNS);
  });
}

interface ListFlags extends OutputFlags {
  name?: string;
  includeArchived: boolean;
  archivedOnly: boolean;
}

export function assetListCommand(ctx: CliContext, noun: AssetNoun): Command {
  return withOutputOptions(
    new Command('list')
      .description(`List ${noun}s in oep's local registry: the newest version of each, or with -n every version of one.`)
      .option('-n, --name <name>', `list the versions of this ${noun}`)
      .option('--include-archived', 'include archived versions', false)
      .option('--archived-only', 'only archived versions', false),
  ).action(async (flags: ListFlags) => {
    await checkOutputFlags(flags);
    const { listAssets } = await import('../../engine/assets.js');
    await printData(ctx, await listAssets(KIND[noun], flags, { home: ctx.home, cwd: ctx.cwd }), flags, COLUMNS);
  });
}
