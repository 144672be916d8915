import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OepError } from '../errors.js';
import { describeSpecialFile } from '../spec/input-file.js';
import type { EnvironmentAssetSpec, InlineEnvironment, InlineModel, ModelAssetSpec } from '../spec/types.js';
import type { DataAssetSpec } from '../spec/batch-types.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { describeReference, type AssetReference } from './references.js';

/**
 * oep's local registry of models, environments and data assets, the `az ml model` / `az ml
 * environment` / `az ml data` of one machine: OEP_HOME/registry/<models|environments|data>/<name>/
 * <version>/ holds asset.json and a copy of the files (a registered version is a snapshot: later
 * edits to the source change nothing).
 */
export type AssetKind = 'models' | 'environments' | 'data';

/** How messages name one asset of a kind. */
const NOUNS: Record<AssetKind, string> = { models: 'model', environments: 'environment', data: 'data asset' };

export interface AssetRecordBase {
  name: string;
  version: string;
  description?: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  creation_context: { created_at: string };
  /** Archived versions stay usable by name:version, but leave list and @latest (as in Azure). */
  stage?: string;
  archived?: boolean;
}

export interface ModelRecord extends AssetRecordBase {
  type: InlineModel['type'] & string;
  /** The snapshot of model.path; its last segment is kept, as Azure keeps it under AZUREML_MODEL_DIR. */
  path: string;
  flavors?: Record<string, unknown>;
}

export interface EnvironmentRecord extends AssetRecordBase {
  image?: string;
  /** Snapshots: the conda file and the build context. */
  conda_file?: string;
  build?: { path: string; dockerfile_path: string };
  inference_config?: InlineEnvironment['inference_config'];
  os_type?: 'linux' | 'windows';
}

export interface DataRecord extends AssetRecordBase {
  type: DataAssetSpec['type'];
  /** The snapshot of the data's path: a file (uri_file) or a folder (uri_folder), its name kept. */
  path: string;
}

export function registryDir(home: string, kind: AssetKind): string {
  return join(home, 'registry', kind);
}

function versionDir(home: string, kind: AssetKind, name: string, version: string): string {
  return join(registryDir(home, kind), name, version);
}

/** Registers a model: copies model.path into the registry under name/version. */
export async function registerModel(home: string, spec: ModelAssetSpec, now = new Date()): Promise<ModelRecord> {
  const version = spec.version ?? (await nextVersion(home, 'models', spec.name));
  return createVersion(home, 'models', spec.name, version, async (dir, final) => {
    const entry = basename(spec.path.replace(/\/+$/, ''));
    await snapshot(spec.path, join(dir, 'files', entry), 'path');
    return {
      name: spec.name,
      version,
      type: spec.type ?? 'custom_model',
      path: join(final, 'files', entry),
      description: spec.description,
      tags: spec.tags ?? {},
      properties: spec.properties ?? {},
      ...(spec.stage !== undefined && { stage: spec.stage }),
      ...(spec.flavors !== undefined && { flavors: spec.flavors }),
      creation_context: { created_at: now.toISOString() },
    };
  });
}

/** Registers an environment: the image name, and copies of its conda file and build context. */
export async function registerEnvironment(home: string, spec: EnvironmentAssetSpec, now = new Date()): Promise<EnvironmentRecord> {
  const version = spec.version ?? (await nextVersion(home, 'environments', spec.name));
  return createVersion(home, 'environments', spec.name, version, async (dir, final) => {
    const record: EnvironmentRecord = {
      name: spec.name,
      version,
      description: spec.description,
      tags: spec.tags ?? {},
      properties: spec.properties ?? {},
      creation_context: { created_at: now.toISOString() },
    };
    if (spec.image !== undefined) record.image = spec.image;
    if (spec.conda_file !== undefined) {
      await snapshot(spec.conda_file, join(dir, 'files', basename(spec.conda_file)), 'conda_file');
      record.conda_file = join(final, 'files', basename(spec.conda_file));
    }
    if (spec.build !== undefined) {
      await snapshot(spec.build.path, join(dir, 'files', 'build'), 'build.path');
      record.build = { path: join(final, 'files', 'build'), dockerfile_path: spec.build.dockerfile_path ?? 'Dockerfile' };
    }
    if (spec.inference_config !== undefined) record.inference_config = spec.inference_config;
    if (spec.os_type !== undefined) record.os_type = spec.os_type;
    return record;
  });
}

/** Registers a data asset (`oep data create`): copies its file or folder into the registry under name/version. */
export async function registerData(home: string, spec: DataAssetSpec, now = new Date()): Promise<DataRecord> {
  const version = spec.version ?? (await nextVersion(home, 'data', spec.name));
  return createVersion(home, 'data', spec.name, version, async (dir, final) => {
    const entry = basename(spec.path.replace(/\/+$/, ''));
    await snapshot(spec.path, join(dir, 'files', entry), 'path');
    return {
      name: spec.name,
      version,
      type: spec.type,
      path: join(final, 'files', entry),
      description: spec.description,
      tags: spec.tags ?? {},
      properties: spec.properties ?? {},
      ...(spec.stage !== undefined && { stage: spec.stage }),
      creation_context: { created_at: now.toISOString() },
    };
  });
}

/**
 * Writes a new version into a temporary folder, then renames it into place: a version appears
 * whole or not at all, and two concurrent creates of one version cannot both succeed.
 */
async function createVersion<T extends AssetRecordBase>(
  home: string,
  kind: AssetKind,
  name: string,
  version: string,
  /** Copies the files into `dir`; the record names them where they will be, under `final`. */
  fill: (dir: string, final: string) => Promise<T>,
): Promise<T> {
  const final = versionDir(home, kind, name, version);
  if (await exists(final)) throw versionExists(kind, name, version);
  await mkdir(dirname(final), { recursive: true, mode: 0o700 });
  await removeAbandonedCopies(dirname(final));
  // The pid in the name tells a copy in progress from one a killed oep left behind.
  const temp = `${final}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(temp, { mode: 0o700 });
  inProgress.add(temp);
  watchForExit();
  try {
    const record = await fill(temp, final);
    await writeFileAtomic(join(temp, 'asset.json'), `${JSON.stringify(record, null, 2)}\n`);
    try {
      await rename(temp, final);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw versionExists(kind, name, version);
      throw error;
    }
    return record;
  } finally {
    await rm(temp, { recursive: true, force: true, maxRetries: 3 });
    inProgress.delete(temp);
  }
}

/** Between a version's folder name and the pid of the oep writing it: `<version>.tmp-<pid>-<random>`. */
const TEMP_MARK = '.tmp-';
/** Copies this process is writing; removed if it ends first (Ctrl-C, SIGTERM: bin/oep.js exits). */
const inProgress = new Set<string>();
let exitHookSet = false;

/**
 * Removes the copies in progress when the process exits before they are renamed into place:
 * an interrupted `oep model create` of a large folder leaves nothing behind. (The 'exit' event
 * runs on process.exit, which is how bin/oep.js ends a command on Ctrl-C and SIGTERM.)
 */
function watchForExit(): void {
  if (exitHookSet) return;
  exitHookSet = true;
  process.on('exit', () => {
    for (const temp of inProgress) rmSync(temp, { recursive: true, force: true, maxRetries: 3 });
  });
}

/**
 * Removes the temporary copies of a name's versions whose oep process is gone (killed with
 * SIGKILL, or the machine stopped): they are never renamed into place, and no listing shows them.
 */
async function removeAbandonedCopies(nameDir: string): Promise<void> {
  const entries = await readdir(nameDir).catch(() => [] as string[]);
  for (const entry of entries) {
    const at = entry.indexOf(TEMP_MARK);
    if (at < 0) continue;
    const pid = Number(/^(\d+)-/.exec(entry.slice(at + TEMP_MARK.length))?.[1]);
    // A copy of an older oep (no pid in its name), or of a process that is gone.
    if (!Number.isInteger(pid) || pid <= 0 || !processExists(pid)) await rm(join(nameDir, entry), { recursive: true, force: true, maxRetries: 3 });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Copies a file or folder into a snapshot: links followed, the copy private to the user (folders
 * 0700, files 0600, or 0700 when executable), whatever the source's modes and the umask. A FIFO,
 * a device or a socket in it is refused before anything is copied from it (copying /dev/zero would
 * never end; a FIFO would block). `key` names the setting in messages (path, conda_file, build.path).
 */
async function snapshot(source: string, target: string, key: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  try {
    await cp(source, target, {
      recursive: true,
      dereference: true,
      filter: async (from) => {
        const info = await stat(from);
        if (!info.isFile() && !info.isDirectory()) {
          const where = from === source ? `"${source}"` : `"${from}" (inside ${key} "${source}")`;
          throw new OepError('OEP_ERR_FILE_NOT_FOUND', `${key}: ${where} is ${describeSpecialFile(info)}; a registered version holds regular files and folders only.`, {
            hint: 'Remove it from the folder (or point at one without it), then register again. Nothing was registered.',
          });
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof OepError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `${key}: "${source}" cannot be copied into oep's registry (${code ?? (error as Error).message}).`, {
      hint: 'Check that every file in it can be read. Nothing was registered.',
      cause: error,
    });
  }
  await makePrivate(target);
}

/** Folders 0700 and files 0600 (0700 when executable), from `path` down; copies hold no links. */
async function makePrivate(path: string): Promise<void> {
  const stack = [path];
  while (stack.length > 0) {
    const current = stack.pop()!;
    const info = await lstat(current);
    if (info.isDirectory()) {
      await chmod(current, 0o700);
      for (const entry of await readdir(current)) stack.push(join(current, entry));
    } else if (info.isFile()) {
      await chmod(current, info.mode & 0o100 ? 0o700 : 0o600);
    }
  }
}

function versionExists(kind: AssetKind, name: string, version: string): OepError {
  const noun = NOUNS[kind];
  return new OepError('OEP_ERR_ASSET_EXISTS', `${capitalise(noun)} ${name} version ${version} already exists; a registered version cannot change.`, {
    hint: `Register the change as a new version (--version, or leave it out for the next one), or use the existing one: azureml:${name}:${version}. Nothing was changed.`,
  });
}

/** Every version of an asset (archived ones too), oldest first. */
export async function listVersions<T extends AssetRecordBase>(home: string, kind: AssetKind, name: string): Promise<T[]> {
  const dir = join(registryDir(home, kind), name);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const records: T[] = [];
  for (const entry of entries) {
    if (entry.includes('.tmp-')) continue;
    const text = await readFile(join(dir, entry, 'asset.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) records.push(JSON.parse(text) as T);
  }
  return records.sort(byCreation);
}

/** The names that have at least one version. */
export async function listNames(home: string, kind: AssetKind): Promise<string[]> {
  const entries = await readdir(registryDir(home, kind), { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

/** One version by number, or by label (`latest`: the newest version that is not archived). */
export async function findVersion<T extends AssetRecordBase>(home: string, ref: AssetReference): Promise<T | undefined> {
  const versions = await listVersions<T>(home, ref.kind, ref.name);
  if (ref.version !== undefined) return versions.find((record) => record.version === ref.version);
  if (ref.label === 'latest') return versions.filter((record) => !record.archived).at(-1);
  return undefined;
}

/** Like findVersion, but a missing asset is an error that says how to register it. */
export async function requireVersion<T extends AssetRecordBase = AssetRecordBase>(home: string, ref: AssetReference): Promise<T> {
  const found = await findVersion<T>(home, ref);
  if (found !== undefined) return found;
  throw new OepError('OEP_ERR_ASSET_NOT_FOUND', await notFoundMessage(home, ref), { hint: registerHint(ref) });
}

/** Why a reference finds nothing, with the versions that do exist. */
export async function notFoundMessage(home: string, ref: AssetReference): Promise<string> {
  const noun = NOUNS[ref.kind];
  const versions = await listVersions(home, ref.kind, ref.name);
  const shown = versions.map((record) => `${record.version}${record.archived ? ' (archived)' : ''}`);
  if (ref.label !== undefined && ref.label !== 'latest') {
    return `${capitalise(noun)} label "${ref.label}" is not known locally; oep's registry has only @latest.`;
  }
  const known = shown.length > 0 ? `; its versions here are ${shown.join(', ')}` : ' in oep\'s local registry';
  return `${capitalise(noun)} ${describeReference(ref)} is not registered${known}.`;
}

export function registerHint(ref: AssetReference): string {
  if (ref.kind === 'data') return `Register the data you have: oep data create --name ${ref.name} --version ${ref.version ?? 1} --path ./data (add --type uri_file for one file)`;
  return ref.kind === 'models'
    ? `Register the model files you have: oep model create --name ${ref.name} --version ${ref.version ?? 1} --path ./model (add --type mlflow_model for an MLflow model)`
    : `Register the environment: oep environment create --name ${ref.name} --version ${ref.version ?? 1} --image IMAGE (or -f environment.yml)`;
}

/** Archives (or restores) one version: it leaves list and @latest but stays usable by version. */
export async function setArchived(home: string, kind: AssetKind, name: string, version: string, archived: boolean): Promise<AssetRecordBase> {
  const ref: AssetReference = { kind, name, version, text: `${name}:${version}` };
  const record = await requireVersion<AssetRecordBase>(home, ref);
  record.archived = archived;
  await writeFileAtomic(join(versionDir(home, kind, name, version), 'asset.json'), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** The version a create without one gets: one more than the highest numeric version (1 for a new name). */
export async function nextVersion(home: string, kind: AssetKind, name: string): Promise<string> {
  const numbers = (await listVersions(home, kind, name)).map((record) => Number(record.version)).filter(Number.isInteger);
  return String(numbers.length === 0 ? 1 : Math.max(...numbers) + 1);
}

function byCreation(a: AssetRecordBase, b: AssetRecordBase): number {
  const time = a.creation_context.created_at.localeCompare(b.creation_context.created_at);
  if (time !== 0) return time;
  return Number(a.version) - Number(b.version) || a.version.localeCompare(b.version);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
