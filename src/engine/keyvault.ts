import { resolve } from 'node:path';
import { OepError } from '../errors.js';
import { parseSecretValue } from '../model/secret-references.js';
import {
  deleteSecret,
  listSecrets,
  MAX_SECRET_BYTES,
  requireSecret,
  secretBundle,
  secretListItem,
  setSecret,
} from '../registry/keyvault.js';
import { InputFileError, readInputFile } from '../spec/input-file.js';

/** The use cases of `oep keyvault secret ...`: oep's local vault under OEP_HOME (no daemon). */
export interface KeyvaultDeps {
  home: string;
  cwd: string;
}

export interface SecretAddress {
  vaultName?: string;
  name?: string;
  version?: string;
  /** --id https://<vault>.vault.azure.net/secrets/<name>[/<version>], instead of the three above. */
  id?: string;
}

/** The vault, name and version a command names, by --id or by --vault-name/--name/--version. */
export function secretAddress(flags: SecretAddress, needName = true): { vault: string; name?: string; version?: string } {
  if (flags.id !== undefined) {
    if (flags.vaultName !== undefined || flags.name !== undefined || flags.version !== undefined) {
      throw new OepError('OEP_ERR_USAGE', 'Give --id, or --vault-name with --name (and --version), not both.');
    }
    const parsed = parseSecretValue(`\${{keyvault:${flags.id}}}`);
    if (parsed.kind !== 'reference' || parsed.reference.store !== 'keyvault') {
      throw new OepError('OEP_ERR_USAGE', `--id: ${parsed.kind === 'malformed' ? parsed.problem : `"${flags.id}" is not a secret's URL`}.`, { hint: 'e.g. --id https://myvault.vault.azure.net/secrets/mysecret' });
    }
    return { vault: parsed.reference.vault, name: parsed.reference.name, ...(parsed.reference.version && { version: parsed.reference.version }) };
  }
  if (flags.vaultName === undefined) throw new OepError('OEP_ERR_USAGE', 'Give --vault-name (or --id).');
  if (needName && flags.name === undefined) throw new OepError('OEP_ERR_USAGE', 'Give --name (or --id).');
  return { vault: flags.vaultName, ...(flags.name !== undefined && { name: flags.name }), ...(flags.version !== undefined && { version: flags.version }) };
}

export interface SetSecretOptions {
  vaultName: string;
  name: string;
  value?: string;
  file?: string;
  /** --encoding of --file: utf-8 (default), ascii, base64 or hex (the file's bytes, written as that text). */
  encoding?: string;
  contentType?: string;
  tags?: string[];
}

/** `keyvault secret set`: a new version; prints its bundle without the value (docs/behaviour.md "Secrets"). */
export async function setKeyvaultSecret(options: SetSecretOptions, deps: KeyvaultDeps): Promise<Record<string, unknown>> {
  if ((options.value === undefined) === (options.file === undefined)) {
    throw new OepError('OEP_ERR_USAGE', 'Give the secret with --value or --file, one of them.');
  }
  const value = options.value ?? (await readValueFile(options.file!, options.encoding ?? 'utf-8', deps.cwd));
  const { record, version } = await setSecret(deps.home, options.vaultName, options.name, value, {
    ...(options.contentType !== undefined && { contentType: options.contentType }),
    tags: parseTags(options.tags ?? []),
  });
  return secretBundle(record, version);
}

/** `keyvault secret show`: the version with its value, as az prints it (its purpose: --query value -o tsv). */
export async function showKeyvaultSecret(address: SecretAddress, deps: KeyvaultDeps): Promise<Record<string, unknown>> {
  const { vault, name, version } = secretAddress(address);
  const found = await requireSecret(deps.home, vault, name!, version);
  return secretBundle(found.record, found.version, { value: true });
}

export async function listKeyvaultSecrets(vaultName: string, deps: KeyvaultDeps): Promise<Record<string, unknown>[]> {
  return (await listSecrets(deps.home, vaultName)).map(secretListItem);
}

export async function listKeyvaultSecretVersions(address: SecretAddress, deps: KeyvaultDeps): Promise<Record<string, unknown>[]> {
  const { vault, name } = secretAddress({ ...address, version: undefined });
  const { record } = await requireSecret(deps.home, vault, name!);
  return record.versions.map((version) => {
    const { value: _value, ...bundle } = secretBundle(record, version);
    return bundle;
  });
}

export async function deleteKeyvaultSecret(address: SecretAddress, deps: KeyvaultDeps): Promise<Record<string, unknown>> {
  const { vault, name } = secretAddress(address);
  const record = await deleteSecret(deps.home, vault, name!);
  const current = record.versions.at(-1)!;
  return { ...secretBundle(record, current), deletedDate: new Date().toISOString(), recoveryId: null, scheduledPurgeDate: null };
}

async function readValueFile(file: string, encoding: string, cwd: string): Promise<string> {
  const encodings = ['utf-8', 'ascii', 'base64', 'hex'];
  if (!encodings.includes(encoding)) throw new OepError('OEP_ERR_USAGE', `--encoding must be one of ${encodings.join(', ')}, not "${encoding}".`);
  let bytes: Buffer;
  try {
    bytes = await readInputFile(resolve(cwd, file), MAX_SECRET_BYTES * 2);
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `--file: ${file} ${error.reason}.`, { hint: `looked at ${resolve(cwd, file)}; nothing was set` });
  }
  if (encoding === 'base64') return bytes.toString('base64');
  if (encoding === 'hex') return bytes.toString('hex');
  return bytes.toString(encoding === 'ascii' ? 'ascii' : 'utf8');
}

/** `--tags a=b c=d` (az's space-separated key[=value] pairs). */
function parseTags(tags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags.flatMap((item) => item.split(/\s+/)).filter((item) => item !== '')) {
    const at = tag.indexOf('=');
    if (at === 0) throw new OepError('OEP_ERR_USAGE', `--tags: "${tag}" has no name before "=".`);
    if (at < 0) out[tag] = '';
    else out[tag.slice(0, at)] = tag.slice(at + 1);
  }
  return out;
}
