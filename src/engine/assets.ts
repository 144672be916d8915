import { OepError } from '../errors.js';
import { assetResourceId } from '../model/arm-id.js';
import { parseAssetReference, type AssetReference } from '../registry/references.js';
import {
  listNames,
  listVersions,
  registerData,
  registerEnvironment,
  registerModel,
  requireVersion,
  setArchived,
  type AssetKind,
} from '../registry/store.js';
import { loadDataAsset, loadEnvironmentAsset, loadModelAsset, unwrapSpec } from '../spec/index.js';

/** The use cases of `oep model ...`, `oep environment ...` and `oep data ...` (the registry lives under OEP_HOME). */
export interface AssetDeps {
  home: string;
  cwd: string;
}

export interface CreateAssetOptions {
  file?: string;
  /** --name, --version, --path, --type, --image ... as YAML keys; they override the file. */
  fields: Record<string, string | undefined>;
  set: string[];
}

export async function createModel(options: CreateAssetOptions, deps: AssetDeps): Promise<unknown> {
  const spec = unwrapSpec(await loadModelAsset({ file: options.file, cwd: deps.cwd, fields: options.fields, set: options.set }));
  return assetView('models', await registerModel(deps.home, spec));
}

export async function createEnvironment(options: CreateAssetOptions, deps: AssetDeps): Promise<unknown> {
  const spec = unwrapSpec(await loadEnvironmentAsset({ file: options.file, cwd: deps.cwd, fields: options.fields, set: options.set }));
  return assetView('environments', await registerEnvironment(deps.home, spec));
}

/** `oep data create`: a uri_file or uri_folder asset, its file or folder copied into the registry. */
export async function createData(options: CreateAssetOptions, deps: AssetDeps): Promise<unknown> {
  const spec = unwrapSpec(await loadDataAsset({ file: options.file, cwd: deps.cwd, fields: options.fields, set: options.set }));
  return assetView('data', await registerData(deps.home, spec));
}

export interface ShowAssetOptions {
  name: string;
  version?: string;
  label?: string;
}

export async function showAsset(kind: AssetKind, options: ShowAssetOptions, deps: AssetDeps): Promise<unknown> {
  return assetView(kind, await requireVersion(deps.home, referenceOf(kind, options)));
}

export interface ListAssetOptions {
  /** With a name: its versions; without: the newest version of each name (as az lists). */
  name?: string;
  includeArchived?: boolean;
  archivedOnly?: boolean;
}

export async function listAssets(kind: AssetKind, options: ListAssetOptions, deps: AssetDeps): Promise<unknown[]> {
  const keep = (record: { archived?: boolean }): boolean =>
    options.archivedOnly ? record.archived === true : options.includeArchived === true || record.archived !== true;
  if (options.name !== undefined) {
    const versions = (await listVersions(deps.home, kind, options.name)).filter(keep);
    return versions.reverse().map((record) => assetView(kind, record));
  }
  const items: unknown[] = [];
  for (const name of await listNames(deps.home, kind)) {
    const newest = (await listVersions(deps.home, kind, name)).filter(keep).at(-1);
    if (newest) items.push(assetView(kind, newest));
  }
  return items;
}

export async function archiveAsset(kind: AssetKind, options: ShowAssetOptions & { restore?: boolean }, deps: AssetDeps): Promise<unknown> {
  const record = await requireVersion(deps.home, referenceOf(kind, options));
  return assetView(kind, await setArchived(deps.home, kind, options.name, record.version, options.restore !== true));
}

/** The az ml command group of each kind. */
const AZ_NOUNS: Record<AssetKind, string> = { models: 'model', environments: 'environment', data: 'data' };

function referenceOf(kind: AssetKind, options: ShowAssetOptions): AssetReference {
  if (options.version !== undefined && options.label !== undefined) {
    throw new OepError('OEP_ERR_USAGE', 'Give --version or --label, not both.');
  }
  if (options.version === undefined && options.label === undefined) {
    throw new OepError('OEP_ERR_USAGE', `Give --version or --label latest (as az ml ${AZ_NOUNS[kind]} does).`);
  }
  const text = options.version !== undefined ? `azureml:${options.name}:${options.version}` : `azureml:${options.name}@${options.label}`;
  const parsed = parseAssetReference(text, kind);
  if ('problem' in parsed) throw new OepError('OEP_ERR_USAGE', parsed.problem);
  return parsed;
}

/** What show and list print: the record as az prints an asset, with its ARM-shaped id in the local workspace. */
function assetView(kind: AssetKind, record: object & { name: string; version: string }): Record<string, unknown> {
  return { ...record, id: assetResourceId(kind, record.name, record.version) };
}
