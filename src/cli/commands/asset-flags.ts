import { Command } from '../commander.js';
import type { AssetKind } from '../../registry/store.js';
import type { CliContext } from '../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../print.js';
import type { RunCommand } from '../run-command.js';

/**
 * The verbs `oep model`, `oep environment` and `oep data` share (show, list, archive, restore), with az ml's
 * flags. Each verb still has its own file; this is the part that is the same for both nouns:
 * the flags, the options they become and the run functions.
 */
export type AssetNoun = 'model' | 'environment' | 'data';

export const KIND: Record<AssetNoun, AssetKind> = { model: 'models', environment: 'environments', data: 'data' };

/** How --help names several of them ("data" is its own plural). */
const PLURAL: Record<AssetNoun, string> = { model: 'models', environment: 'environments', data: 'data assets' };

const COLUMNS = ['name', 'version', 'description'];

interface VersionFlags extends OutputFlags {
  name: string;
  version?: string;
  label?: string;
}

/** One version of a model or environment, by version or label. */
export interface AssetShowOptions extends OutputFlags {
  /** Which registry: models or environments (the noun of the command line). */
  kind: AssetKind;
  name: string;
  version?: string;
  label?: string;
}

export interface AssetArchiveOptions extends AssetShowOptions {
  /** true: restore an archived version (`restore`); false: archive it (`archive`). */
  restore: boolean;
}

export interface AssetListOptions extends OutputFlags {
  kind: AssetKind;
  name?: string;
  includeArchived: boolean;
  archivedOnly: boolean;
}

function withVersionFlags(command: Command, noun: AssetNoun): Command {
  return withOutputOptions(
    command
      .requiredOption('-n, --name <name>', `${noun} name`)
      .option('-v, --version <version>', `${noun} version`)
      .option('-l, --label <label>', `label instead of a version: latest (the newest ${noun} version that is not archived)`),
  );
}

/** The options of show, archive and restore, once the output flags have been checked. */
async function versionOptionsOf(noun: AssetNoun, flags: VersionFlags): Promise<AssetShowOptions> {
  await checkOutputFlags(flags);
  return { kind: KIND[noun], name: flags.name, version: flags.version, label: flags.label, output: flags.output, query: flags.query };
}

/** Prints one version from the local registry. */
export async function runAssetShow(ctx: CliContext, options: AssetShowOptions): Promise<void> {
  const { showAsset } = await import('../../engine/assets.js');
  await printData(ctx, await showAsset(options.kind, options, { home: ctx.home, cwd: ctx.cwd }), options, COLUMNS);
}

export function assetShowCommand(ctx: CliContext, noun: AssetNoun, run: RunCommand<AssetShowOptions> = runAssetShow): Command {
  return withVersionFlags(new Command('show').description(`Show one ${noun} version from oep's local registry.`), noun).action(async (flags: VersionFlags) => {
    await run(ctx, await versionOptionsOf(noun, flags));
  });
}

/** Archives (or restores) one version and prints it. */
export async function runAssetArchive(ctx: CliContext, options: AssetArchiveOptions): Promise<void> {
  const { archiveAsset } = await import('../../engine/assets.js');
  const result = await archiveAsset(options.kind, options, { home: ctx.home, cwd: ctx.cwd });
  await printData(ctx, result, options, COLUMNS);
}

export function assetArchiveCommand(ctx: CliContext, noun: AssetNoun, restore: boolean, run: RunCommand<AssetArchiveOptions> = runAssetArchive): Command {
  const description = restore
    ? `Restore an archived ${noun} version: it shows in list and counts for @latest again.`
    : `Archive a ${noun} version: it leaves list and @latest, and stays usable by its version.`;
  return withVersionFlags(new Command(restore ? 'restore' : 'archive').description(description), noun).action(async (flags: VersionFlags) => {
    await run(ctx, { ...(await versionOptionsOf(noun, flags)), restore });
  });
}

interface ListFlags extends OutputFlags {
  name?: string;
  includeArchived: boolean;
  archivedOnly: boolean;
}

/** Prints the newest version of each, or every version of one. */
export async function runAssetList(ctx: CliContext, options: AssetListOptions): Promise<void> {
  const { listAssets } = await import('../../engine/assets.js');
  await printData(ctx, await listAssets(options.kind, options, { home: ctx.home, cwd: ctx.cwd }), options, COLUMNS);
}

export function assetListCommand(ctx: CliContext, noun: AssetNoun, run: RunCommand<AssetListOptions> = runAssetList): Command {
  return withOutputOptions(
    new Command('list')
      .description(`List ${PLURAL[noun]} in oep's local registry: the newest version of each, or with -n every version of one.`)
      .option('-n, --name <name>', `list the versions of this ${noun}`)
      .option('--include-archived', 'include archived versions', false)
      .option('--archived-only', 'only archived versions', false),
  ).action(async (flags: ListFlags) => {
    await checkOutputFlags(flags);
    await run(ctx, { kind: KIND[noun], name: flags.name, includeArchived: flags.includeArchived, archivedOnly: flags.archivedOnly, output: flags.output, query: flags.query });
  });
}
