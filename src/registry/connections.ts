import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION } from '../model/identity.js';
import { CONNECTION_NAME } from '../model/secret-references.js';
import type { ConnectionSpec, ConnectionType } from '../spec/connection.js';
import { writeFileAtomic } from '../state/atomic-write.js';

/**
 * oep's local workspace connections, the `az ml connection` of one machine:
 * OEP_HOME/registry/connections/<name>.json (0600, in 0700 folders), the credentials included, as
 * Azure keeps them with the workspace. A deployment's `${{azureml://connections/...}}` references
 * read them (src/registry/secret-injection.ts); `show` and `list` mask the credentials.
 */
export interface ConnectionRecord extends ConnectionSpec {
  creation_context: { created_at: string; last_modified_at: string };
}

export function connectionsDir(home: string): string {
  return join(home, 'registry', 'connections');
}

function connectionFile(home: string, name: string): string {
  return join(connectionsDir(home), `${name}.json`);
}

/** The connection's ARM-shaped id in oep's local workspace (as the export and tokens name it). */
export function connectionId(name: string): string {
  return `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups/${LOCAL_RESOURCE_GROUP}/providers/Microsoft.MachineLearningServices/workspaces/local/connections/${name}`;
}

/**
 * Creates or replaces a connection, as `az ml connection create` does (create_or_update): a
 * rotated key is a new file with the same name, written whole (atomic rename, 0600).
 */
export async function saveConnection(home: string, spec: ConnectionSpec, now = new Date()): Promise<{ record: ConnectionRecord; replaced: boolean }> {
  const existing = await findConnection(home, spec.name);
  const stamp = now.toISOString();
  const record: ConnectionRecord = { ...spec, creation_context: { created_at: existing?.creation_context.created_at ?? stamp, last_modified_at: stamp } };
  const dir = connectionsDir(home);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Folders made by an older oep, or under a wide umask, are made private too.
  await chmod(join(home, 'registry'), 0o700);
  await chmod(dir, 0o700);
  await writeFileAtomic(connectionFile(home, spec.name), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return { record, replaced: existing !== undefined };
}

/** One connection, or undefined; names are matched exactly (as files, and as Azure's are). */
export async function findConnection(home: string, name: string): Promise<ConnectionRecord | undefined> {
  if (!CONNECTION_NAME.test(name)) return undefined;
  let text: string;
  try {
    text = await readFile(connectionFile(home, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OepError('OEP_ERR_INTERNAL', `The connection file of ${name} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, {
      hint: `Check ${connectionFile(home, name)}: it belongs to you and is readable (0600).`,
    });
  }
  try {
    return JSON.parse(text) as ConnectionRecord;
  } catch {
    throw new OepError('OEP_ERR_INTERNAL', `The connection file of ${name} is damaged (not JSON).`, {
      hint: `Create the connection again: oep connection create -f <file> (it replaces ${connectionFile(home, name)}).`,
    });
  }
}

export async function requireConnection(home: string, name: string): Promise<ConnectionRecord> {
  const found = await findConnection(home, name);
  if (found) return found;
  const known = await listConnectionNames(home);
  throw new OepError('OEP_ERR_CONNECTION_NOT_FOUND', `Connection ${name} does not exist in oep's local workspace${known.length > 0 ? ` (its connections: ${known.join(', ')})` : ''}.`, {
    hint: 'Create it with: oep connection create -f connection.yml',
  });
}

export async function listConnectionNames(home: string): Promise<string[]> {
  const entries = await readdir(connectionsDir(home)).catch(() => [] as string[]);
  return entries
    .filter((entry) => entry.endsWith('.json') && !entry.includes('.tmp'))
    .map((entry) => entry.slice(0, -'.json'.length))
    .filter((name) => CONNECTION_NAME.test(name))
    .sort();
}

export async function listConnections(home: string): Promise<ConnectionRecord[]> {
  const records: ConnectionRecord[] = [];
  for (const name of await listConnectionNames(home)) {
    const record = await findConnection(home, name);
    if (record) records.push(record);
  }
  return records;
}

export async function deleteConnection(home: string, name: string): Promise<ConnectionRecord> {
  const record = await requireConnection(home, name);
  await rm(connectionFile(home, name), { force: true });
  return record;
}

/** What `show`, `list`, `create` print: az's shape, the credentials' values masked unless asked. */
export function connectionView(record: ConnectionRecord, options: { showSecrets?: boolean } = {}): Record<string, unknown> {
  const mask = (value: string): string => (options.showSecrets ? value : '***');
  const credentials =
    record.credentials.type === 'api_key'
      ? { type: 'api_key', key: mask(record.credentials.key) }
      : record.credentials.type === 'custom_keys'
        ? { type: 'custom_keys', keys: Object.fromEntries(Object.entries(record.credentials.keys).map(([key, value]) => [key, mask(value)])) }
        : { type: 'none' };
  return {
    id: connectionId(record.name),
    name: record.name,
    type: record.type,
    ...(record.description !== undefined && { description: record.description }),
    ...(record.target !== undefined && { target: record.target }),
    metadata: record.metadata,
    tags: record.tags,
    is_shared: record.is_shared,
    credentials,
    creation_context: record.creation_context,
  };
}

/** Azure's connection categories (the REST `category`) by YAML type. */
const CATEGORIES: Record<ConnectionType, string> = {
  custom_keys: 'CustomKeys',
  custom: 'CustomKeys',
  api_key: 'ApiKey',
  azure_open_ai: 'AzureOpenAI',
  open_ai: 'OpenAI',
  azure_ai_services: 'AIServices',
  azure_ai_search: 'CognitiveSearch',
  azure_content_safety: 'CognitiveService',
  azure_speech_services: 'CognitiveService',
  serverless: 'Serverless',
  serp: 'Serp',
};

/**
 * What `${{azureml://connections/<name>}}` injects: the connection as the workspace's List Secrets
 * API answers (WorkspaceConnectionPropertiesV2BasicResource): id, name, type and properties with
 * authType, category, credentials (`{key}` for an API key, `{keys: {...}}` for custom keys),
 * target, metadata. One line of JSON.
 */
export function listSecretsJson(record: ConnectionRecord): string {
  const credentials =
    record.credentials.type === 'api_key' ? { key: record.credentials.key } : record.credentials.type === 'custom_keys' ? { keys: record.credentials.keys } : undefined;
  const authType = record.credentials.type === 'api_key' ? 'ApiKey' : record.credentials.type === 'custom_keys' ? 'CustomKeys' : 'None';
  return JSON.stringify({
    id: connectionId(record.name),
    name: record.name,
    type: 'Microsoft.MachineLearningServices/workspaces/connections',
    properties: {
      authType,
      category: CATEGORIES[record.type],
      ...(credentials && { credentials }),
      ...(record.target !== undefined && { target: record.target }),
      isSharedToAll: record.is_shared,
      metadata: record.metadata,
    },
    systemData: { createdAt: record.creation_context.created_at, lastModifiedAt: record.creation_context.last_modified_at },
  });
}

/** The names a `/credentials/<key>` reference may use for this connection. */
export function credentialNames(record: ConnectionRecord): string[] {
  if (record.credentials.type === 'api_key') return ['key'];
  if (record.credentials.type === 'custom_keys') return Object.keys(record.credentials.keys);
  return [];
}

/** One credential by the name list-secrets gives it (`key` of an API key, a custom key's name). */
export function credentialValue(record: ConnectionRecord, key: string): string | undefined {
  if (record.credentials.type === 'api_key') return key === 'key' ? record.credentials.key : undefined;
  if (record.credentials.type === 'custom_keys') return Object.hasOwn(record.credentials.keys, key) ? record.credentials.keys[key] : undefined;
  return undefined;
}

/**
 * One metadata value. Older azure-ai-ml versions sent a custom connection's `tags` as its metadata
 * (Microsoft's secret-injection how-to relies on it), so a key not in metadata is looked for there.
 */
export function metadataValue(record: ConnectionRecord, key: string): string | undefined {
  if (Object.hasOwn(record.metadata, key)) return record.metadata[key];
  if (Object.hasOwn(record.tags, key)) return record.tags[key];
  return undefined;
}
