/**
 * A workspace connection's YAML (`oep connection create -f`, as `az ml connection create -f`):
 * read -> parse with positions -> -n/--set -> schema (schemas/connection.schema.json) -> rules ->
 * one normalised form, whichever of Azure's YAML shapes it came in. Problems are located as
 * everywhere else (FILE:LINE:COL key: message), and never show a secret that was given.
 */
import { CONNECTION_NAME } from '../model/secret-references.js';
import { applyDefaults } from './defaults.js';
import { applyOverrides } from './overrides.js';
import { assetSource, objectSource, type LoadAssetOptions, type Source } from './pipeline.js';
import { placeProblems } from './placement.js';
import { describeType, isRecord } from './plain-data.js';
import type { PathSegment, RawProblem, SpecProblem, SpecResult } from './problem.js';
import { checkSchema } from './schema-errors.js';
import { loadSchema } from './schemas.js';

export type ConnectionType =
  | 'custom_keys'
  | 'custom'
  | 'api_key'
  | 'azure_open_ai'
  | 'open_ai'
  | 'azure_ai_services'
  | 'azure_ai_search'
  | 'azure_content_safety'
  | 'azure_speech_services'
  | 'serverless'
  | 'serp';

export type ConnectionCredentials = { type: 'api_key'; key: string } | { type: 'custom_keys'; keys: Record<string, string> } | { type: 'none' };

/** A connection as oep keeps it: one shape for every YAML form. */
export interface ConnectionSpec {
  name: string;
  type: ConnectionType;
  description?: string;
  tags: Record<string, string>;
  is_shared: boolean;
  target?: string;
  metadata: Record<string, string>;
  credentials: ConnectionCredentials;
}

/** Types whose credentials are named keys; the others hold one API key (or none: Entra ID). */
const CUSTOM_TYPES: readonly ConnectionType[] = ['custom_keys', 'custom'];
/** Types that cannot work without an API key (the schemas mark api_key required). */
const KEY_REQUIRED: readonly ConnectionType[] = ['api_key', 'open_ai', 'serverless', 'serp'];
/** Keys of the YAML that give the target, by the names the per-type schemas use. */
const TARGET_KEYS = ['target', 'endpoint', 'azure_endpoint', 'api_base'] as const;
/** Keys of the YAML kept in metadata under the names Azure stores them with. */
const METADATA_KEYS: Record<string, string> = {
  api_version: 'ApiVersion',
  api_type: 'ApiType',
  open_ai_resource_id: 'ResourceId',
  ai_services_resource_id: 'ResourceId',
};

export interface LoadConnectionOptions extends LoadAssetOptions {
  /** -n/--name: overrides `name`. */
  name?: string;
}

export async function loadConnectionSpec(o: LoadConnectionOptions): Promise<SpecResult<ConnectionSpec>> {
  const fields = { ...(o.fields ?? {}), ...(o.name !== undefined && { name: o.name }) };
  return validateConnectionSource(await assetSource({ ...o, fields }));
}

/** A stored connection in its YAML form (connectionYaml) with `--set` applied, validated again. */
export function validateConnectionObject(obj: Record<string, unknown>, label: string, set: string[]): SpecResult<ConnectionSpec> {
  return validateConnectionSource(objectSource(obj, label, set));
}

/** The YAML form of a stored connection (what `update --set` paths name). */
export function connectionYaml(spec: ConnectionSpec): Record<string, unknown> {
  return {
    name: spec.name,
    type: spec.type,
    ...(spec.description !== undefined && { description: spec.description }),
    tags: { ...spec.tags },
    is_shared: spec.is_shared,
    ...(spec.target !== undefined && { target: spec.target }),
    metadata: { ...spec.metadata },
    credentials:
      spec.credentials.type === 'api_key'
        ? { type: 'api_key', key: spec.credentials.key }
        : spec.credentials.type === 'custom_keys'
          ? { type: 'custom_keys', keys: { ...spec.credentials.keys } }
          : { type: 'none' },
  };
}

function validateConnectionSource(source: Source): SpecResult<ConnectionSpec> {
  const secrets = secretTexts(source.data);
  if (source.errors.length > 0) return { warnings: source.warnings, errors: scrub(source.errors, secrets) };
  const data: unknown = structuredClone(source.data ?? {});
  const { problems, origins } = applyOverrides(data, source.overrides, 'endpoint');
  const place = (raw: RawProblem[]): SpecProblem[] => scrub(placeProblems(raw, { file: source.file, locate: source.locate, origins }), [...secrets, ...secretTexts(data)]);
  if (!isRecord(data)) {
    return { warnings: source.warnings, errors: place([{ path: [], at: 'value', message: data === null || data === undefined ? 'The file is empty.' : `Must be a map, not ${describeType(data)}.`, hint: 'a connection YAML is a map: name, type, target, credentials, metadata' }]) };
  }
  problems.push(...checkSchema('connection', data, { schema: 'connection', label: 'connections', switchHint: '' }));
  applyDefaults(loadSchema('connection'), data);
  const normalised = problems.length === 0 ? normalise(data) : undefined;
  if (normalised && 'problems' in normalised) problems.push(...normalised.problems);
  const errors = place(problems);
  if (errors.length > 0 || !normalised || 'problems' in normalised) return { warnings: source.warnings, errors };
  return { value: normalised.spec, warnings: source.warnings, errors };
}

/** The cross-key rules, and the one form: the target, the credentials, the metadata. */
function normalise(data: Record<string, unknown>): { spec: ConnectionSpec } | { problems: RawProblem[] } {
  const problems: RawProblem[] = [];
  const type = data.type as ConnectionType;
  const name = data.name as string;
  if (!CONNECTION_NAME.test(name)) {
    problems.push({ path: ['name'], at: 'value', message: `"${name}" cannot name a connection.`, hint: "letters, digits, '_' and '-', starting with a letter or digit, at most 255" });
  }

  const targets = TARGET_KEYS.filter((key) => typeof data[key] === 'string');
  const distinct = new Set(targets.map((key) => data[key] as string));
  if (distinct.size > 1) {
    problems.push({ path: [targets[1]!], at: 'key', message: `${targets.join(' and ')} both give the target; keep one.`, hint: 'target (or endpoint, azure_endpoint, api_base: the same key under the names of the per-type schemas)' });
  }
  const target = targets.length > 0 ? (data[targets[0]!] as string) : undefined;

  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(isRecord(data.configs) ? data.configs : {})) metadata[key] = value as string;
  for (const [key, value] of Object.entries(isRecord(data.metadata) ? data.metadata : {})) metadata[key] = value as string;
  for (const [key, stored] of Object.entries(METADATA_KEYS)) if (typeof data[key] === 'string') metadata[stored] = data[key] as string;

  let credentials: ConnectionCredentials = { type: 'none' };
  const given = data.credentials;
  const sources = [given !== undefined && 'credentials', data.api_key !== undefined && 'api_key', data.secrets !== undefined && 'secrets'].filter((key): key is string => typeof key === 'string');
  if (sources.length > 1) {
    problems.push({ path: [sources[1]!], at: 'key', message: `${sources.join(' and ')} both give the credentials; keep one.`, hint: 'credentials: {type: api_key, key: ...} is the same as api_key: ...; credentials: {type: custom_keys, keys: {...}} the same as secrets: {...}' });
  }
  if (isRecord(given)) {
    const credentialType = given.type as string;
    const extra = Object.entries(given).filter(([key]) => !['type', 'key', 'keys'].includes(key));
    if (credentialType === 'api_key') {
      if (typeof given.key !== 'string') problems.push({ path: ['credentials'], at: 'key', message: 'credentials of type api_key need key.', hint: 'credentials: {type: api_key, key: <the API key>}' });
      for (const key of [...(given.keys !== undefined ? ['keys'] : []), ...extra.map(([key]) => key)]) {
        problems.push({ path: ['credentials', key], at: 'key', message: `credentials of type api_key have one key (key), not ${key}.`, hint: 'use credentials: {type: custom_keys, keys: {...}} for named secrets' });
      }
      if (typeof given.key === 'string') credentials = { type: 'api_key', key: given.key };
    } else if (credentialType === 'custom_keys' || credentialType === 'custom') {
      if (given.key !== undefined) problems.push({ path: ['credentials', 'key'], at: 'key', message: `credentials of type ${credentialType} are named keys, not one key.`, hint: 'credentials: {type: custom_keys, keys: {NAME: value}}, or type: api_key for one key' });
      const keys = { ...(isRecord(given.keys) ? (given.keys as Record<string, string>) : {}), ...Object.fromEntries(extra) } as Record<string, string>;
      if (Object.keys(keys).length === 0) problems.push({ path: ['credentials'], at: 'key', message: `credentials of type ${credentialType} need at least one key.`, hint: 'credentials: {type: custom_keys, keys: {OPENAI_API_KEY: ...}}' });
      credentials = { type: 'custom_keys', keys };
    } else if (credentialType === 'none') {
      const named = [...(given.key !== undefined ? ['key'] : []), ...(given.keys !== undefined ? ['keys'] : []), ...extra.map(([key]) => key)];
      for (const key of named) problems.push({ path: ['credentials', key], at: 'key', message: 'credentials of type none hold no secret.', hint: 'use type: api_key or custom_keys' });
    }
  } else if (typeof data.api_key === 'string') {
    credentials = { type: 'api_key', key: data.api_key };
  } else if (isRecord(data.secrets)) {
    credentials = { type: 'custom_keys', keys: { ...(data.secrets as Record<string, string>) } };
  }

  const custom = CUSTOM_TYPES.includes(type);
  if (custom && credentials.type === 'api_key') {
    problems.push({ path: [given !== undefined ? 'credentials' : 'api_key'], at: 'key', message: `A ${type} connection holds named secrets, not one API key.`, hint: 'secrets: {NAME: value}, or credentials: {type: custom_keys, keys: {NAME: value}}' });
  }
  if (custom && credentials.type === 'none') {
    problems.push({ path: ['type'], at: 'key', message: `A ${type} connection needs at least one secret.`, hint: 'add secrets: {NAME: value} (or credentials: {type: custom_keys, keys: {NAME: value}})' });
  }
  if (!custom && credentials.type === 'custom_keys') {
    problems.push({ path: [given !== undefined ? 'credentials' : 'secrets'], at: 'key', message: `A ${type} connection holds one API key, not named secrets.`, hint: 'api_key: <the key> (or credentials: {type: api_key, key: ...}); named secrets go in a custom_keys connection' });
  }
  if (KEY_REQUIRED.includes(type) && credentials.type === 'none') {
    problems.push({ path: ['type'], at: 'key', message: `A ${type} connection needs its API key.`, hint: 'add api_key: <the key> (or credentials: {type: api_key, key: ...})' });
  }
  if (problems.length > 0) return { problems };
  return {
    spec: {
      name,
      type,
      ...(typeof data.description === 'string' && { description: data.description }),
      tags: { ...((data.tags as Record<string, string> | undefined) ?? {}) },
      is_shared: data.is_shared !== false,
      ...(target !== undefined && { target }),
      metadata,
      credentials,
    },
  };
}

/** The secret values a connection's YAML holds (credentials, api_key, secrets): never in a message. */
function secretTexts(data: unknown): string[] {
  if (!isRecord(data)) return [];
  const out: unknown[] = [data.api_key];
  if (isRecord(data.secrets)) out.push(...Object.values(data.secrets));
  if (isRecord(data.credentials)) {
    for (const [key, value] of Object.entries(data.credentials)) {
      if (key === 'type') continue;
      if (isRecord(value)) out.push(...Object.values(value));
      else out.push(value);
    }
  }
  return out.filter((value): value is string | number => (typeof value === 'string' || typeof value === 'number') && String(value).length > 0).map(String);
}

/** Problems with every given secret replaced by *** (a --set expression in a hint would show it). */
function scrub(problems: SpecProblem[], secrets: string[]): SpecProblem[] {
  // Very short values (a, 1) would mangle the words around them and are no secrets to speak of.
  const known = [...new Set(secrets)].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
  if (known.length === 0) return problems;
  const hide = (text: string): string => known.reduce((out, secret) => out.split(secret).join('***'), text);
  return problems.map((problem) => ({ ...problem, message: hide(problem.message), ...(problem.hint !== undefined && { hint: hide(problem.hint) }) }));
}

export type { PathSegment };
