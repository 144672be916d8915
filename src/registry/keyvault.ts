import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { SECRET_NAME, SECRET_VERSION, VAULT_NAME } from '../model/secret-references.js';
import { writeFileAtomic } from '../state/atomic-write.js';

/**
 * oep's local Key Vault: secrets by vault and name, every version kept, as `az keyvault secret`
 * keeps them. OEP_HOME/registry/keyvault/<vault>/<name>.json (0600; folders 0700), vault and
 * secret names lower-cased as Key Vault treats them (case-insensitive). A deployment's
 * `${{keyvault:https://<vault>.vault.azure.net/secrets/<name>[/<version>]}}` reads them
 * (src/registry/secret-injection.ts), or the real vault through the Azure CLI (keyvault_source).
 */
export interface SecretVersion {
  version: string;
  value: string;
  enabled: boolean;
  content_type?: string;
  tags: Record<string, string>;
  created: string;
  updated: string;
}

export interface SecretRecord {
  /** As first set (Key Vault keeps the case of the name it was created with). */
  name: string;
  vault: string;
  /** Oldest first. */
  versions: SecretVersion[];
}

/** Key Vault's limit on a secret's value. */
export const MAX_SECRET_BYTES = 25 * 1024;

export function keyvaultDir(home: string): string {
  return join(home, 'registry', 'keyvault');
}

function secretFile(home: string, vault: string, name: string): string {
  return join(keyvaultDir(home), vault.toLowerCase(), `${name.toLowerCase()}.json`);
}

/** The https URL Key Vault gives a secret (and a version of it). */
export function secretUrl(vault: string, name: string, version?: string): string {
  return `https://${vault.toLowerCase()}.vault.azure.net/secrets/${name}${version ? `/${version}` : ''}`;
}

export function checkVaultName(vault: string): void {
  if (!VAULT_NAME.test(vault)) {
    throw new OepError('OEP_ERR_USAGE', `--vault-name: "${vault}" is not a Key Vault name.`, { hint: 'Use 3-24 letters, digits and hyphens, starting with a letter and ending with a letter or digit.' });
  }
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new OepError('OEP_ERR_USAGE', `--name: "${name}" is not a Key Vault secret name.`, { hint: 'Use 1-127 letters, digits and hyphens.' });
  }
}

export async function findSecret(home: string, vault: string, name: string): Promise<SecretRecord | undefined> {
  if (!VAULT_NAME.test(vault) || !SECRET_NAME.test(name)) return undefined;
  let text: string;
  try {
    text = await readFile(secretFile(home, vault, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OepError('OEP_ERR_INTERNAL', `The local vault's file of secret ${name} (vault ${vault}) cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, {
      hint: `Check ${secretFile(home, vault, name)}: it belongs to you and is readable (0600).`,
    });
  }
  try {
    return JSON.parse(text) as SecretRecord;
  } catch {
    throw new OepError('OEP_ERR_INTERNAL', `The local vault's file of secret ${name} (vault ${vault}) is damaged (not JSON).`, {
      hint: `Set the secret again after removing ${secretFile(home, vault, name)}.`,
    });
  }
}

/** Adds a version (the new current one), as `az keyvault secret set`; the secret is made if new. */
export async function setSecret(
  home: string,
  vault: string,
  name: string,
  value: string,
  options: { contentType?: string; tags?: Record<string, string>; now?: Date } = {},
): Promise<{ record: SecretRecord; version: SecretVersion }> {
  checkVaultName(vault);
  checkSecretName(name);
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) {
    throw new OepError('OEP_ERR_USAGE', `The value is ${Buffer.byteLength(value, 'utf8')} bytes; Key Vault takes secrets up to ${MAX_SECRET_BYTES} bytes.`, { hint: 'Keep large data in a file the deployment reads; nothing was set.' });
  }
  const stamp = (options.now ?? new Date()).toISOString();
  const existing = await findSecret(home, vault, name);
  const version: SecretVersion = {
    version: randomBytes(16).toString('hex'),
    value,
    enabled: true,
    ...(options.contentType !== undefined && { content_type: options.contentType }),
    tags: options.tags ?? {},
    created: stamp,
    updated: stamp,
  };
  const record: SecretRecord = { name: existing?.name ?? name, vault: vault.toLowerCase(), versions: [...(existing?.versions ?? []), version] };
  const dir = join(keyvaultDir(home), vault.toLowerCase());
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const folder of [join(home, 'registry'), keyvaultDir(home), dir]) await chmod(folder, 0o700);
  await writeFileAtomic(secretFile(home, vault, name), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return { record, version };
}

/** The current version (the newest enabled one), or the one asked for. */
export function pickVersion(record: SecretRecord, version?: string): SecretVersion | undefined {
  if (version !== undefined) return record.versions.find((item) => item.version === version.toLowerCase());
  return record.versions.filter((item) => item.enabled).at(-1);
}

export async function requireSecret(home: string, vault: string, name: string, version?: string): Promise<{ record: SecretRecord; version: SecretVersion }> {
  checkVaultName(vault);
  checkSecretName(name);
  if (version !== undefined && !SECRET_VERSION.test(version)) {
    throw new OepError('OEP_ERR_USAGE', `--version: "${version}" is not a secret version (32 hexadecimal digits).`);
  }
  const record = await findSecret(home, vault, name);
  const found = record && pickVersion(record, version);
  if (!record || !found) {
    throw new OepError('OEP_ERR_SECRET_NOT_FOUND', `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in oep's local vault ${vault.toLowerCase()}.`, {
      hint: record ? `oep keyvault secret list-versions --vault-name ${vault} --name ${name} shows its versions.` : `oep keyvault secret list --vault-name ${vault} shows its secrets; set one with oep keyvault secret set --vault-name ${vault} --name ${name} --value ...`,
    });
  }
  return { record, version: found };
}

export async function listSecrets(home: string, vault: string): Promise<SecretRecord[]> {
  checkVaultName(vault);
  const dir = join(keyvaultDir(home), vault.toLowerCase());
  const entries = await readdir(dir).catch(() => [] as string[]);
  const records: SecretRecord[] = [];
  for (const entry of entries.sort()) {
    if (!entry.endsWith('.json') || entry.includes('.tmp')) continue;
    const record = await findSecret(home, vault, entry.slice(0, -'.json'.length));
    if (record) records.push(record);
  }
  return records;
}

/** Removes a secret with all its versions (oep's vault keeps no deleted secrets to recover). */
export async function deleteSecret(home: string, vault: string, name: string): Promise<SecretRecord> {
  const { record } = await requireSecret(home, vault, name);
  await rm(secretFile(home, vault, name), { force: true });
  return record;
}

function attributes(version: SecretVersion): Record<string, unknown> {
  return {
    created: version.created,
    enabled: version.enabled,
    expires: null,
    notBefore: null,
    recoverableDays: 0,
    recoveryLevel: 'Purgeable',
    updated: version.updated,
  };
}

/**
 * A secret version as az prints it (its SecretBundle): `value` only when asked (show), never for
 * set, list or delete.
 */
export function secretBundle(record: SecretRecord, version: SecretVersion, options: { value?: boolean } = {}): Record<string, unknown> {
  return {
    attributes: attributes(version),
    contentType: version.content_type ?? null,
    id: secretUrl(record.vault, record.name, version.version),
    kid: null,
    managed: null,
    name: record.name,
    tags: version.tags,
    ...(options.value && { value: version.value }),
  };
}

/** A secret in `list` (its current version's attributes, an id without version, no value). */
export function secretListItem(record: SecretRecord): Record<string, unknown> {
  const current = pickVersion(record) ?? record.versions.at(-1)!;
  return {
    attributes: attributes(current),
    contentType: current.content_type ?? null,
    id: secretUrl(record.vault, record.name),
    managed: null,
    name: record.name,
    tags: current.tags,
  };
}
