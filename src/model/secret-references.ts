/**
 * Secret injection's references (docs/contract.md section 10), as plain data: the values of a
 * deployment's `environment_variables` that name a secret instead of holding it. Pure: no I/O.
 *
 *   ${{azureml://connections/<c>}}                    the connection's list-secrets JSON
 *   ${{azureml://connections/<c>/credentials/<k>}}    one credential
 *   ${{azureml://connections/<c>/metadata/<k>}}       one metadata value
 *   ${{azureml://connections/<c>/target}}             its target
 *   ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>[/<version>]}}
 *
 * A value is a reference when it is one of these, whole (white space inside the braces aside). A
 * value that starts like one (`${{azureml:`, `${{keyvault:`) and is none of them is malformed, as
 * is one of these with text around it: Azure would not inject either, and a literal `${{...}}`
 * handed to a scoring script is the bug secret injection exists to avoid. Any other `${{...}}`
 * (e.g. a job's `${{inputs.x}}`) is not Azure's secret syntax and stays as it is.
 */
export type SecretReference =
  | { store: 'connection'; connection: string; part: 'all' }
  | { store: 'connection'; connection: string; part: 'credentials' | 'metadata'; key: string }
  | { store: 'connection'; connection: string; part: 'target' }
  | { store: 'keyvault'; vault: string; host: string; name: string; version?: string; url: string };

export type ParsedValue =
  /** A plain value: passed as it is. */
  | { kind: 'plain' }
  | { kind: 'reference'; reference: SecretReference }
  /** Looks like a reference but is none of the five forms; `problem` says what is wrong. */
  | { kind: 'malformed'; problem: string };

/** Connection names as Azure ML takes them (letters, digits, `_` and `-`). */
export const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;
/** A Key Vault's name: 3-24 letters, digits and hyphens, starting with a letter. */
export const VAULT_NAME = /^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$/;
/** A Key Vault secret's name: 1-127 letters, digits and hyphens. */
export const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;
/** A secret version as Key Vault makes them: 32 hexadecimal digits. */
export const SECRET_VERSION = /^[0-9a-fA-F]{32}$/;
/** Key Vault's DNS suffixes (public cloud, China, US Government, Germany). */
const VAULT_SUFFIXES = ['vault.azure.net', 'vault.azure.cn', 'vault.usgovcloudapi.net', 'vault.microsoftazure.de'];

const WHOLE = /^\s*\$\{\{\s*([\s\S]*?)\s*\}\}\s*$/;
/** Where Azure's secret syntax starts, anywhere in a value. */
const STARTS = /\$\{\{\s*(azureml:|keyvault:)/i;

const FORMS =
  '${{azureml://connections/<connection>}}, ${{azureml://connections/<connection>/credentials/<key>}}, ' +
  '${{azureml://connections/<connection>/metadata/<key>}}, ${{azureml://connections/<connection>/target}} or ' +
  '${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}';

/** The forms, for hints. */
export const REFERENCE_FORMS = FORMS;

export function parseSecretValue(value: string): ParsedValue {
  const whole = WHOLE.exec(value);
  const inner = whole?.[1];
  if (inner === undefined) {
    if (STARTS.test(value)) {
      return { kind: 'malformed', problem: `a secret reference must be the whole value (nothing before "\${{" or after "}}"); write it alone and build the rest in the scoring script` };
    }
    return { kind: 'plain' };
  }
  if (/^azureml:/i.test(inner)) return connectionReference(inner);
  if (/^keyvault:/i.test(inner)) return keyvaultReference(inner);
  return { kind: 'plain' };
}

function connectionReference(inner: string): ParsedValue {
  const match = /^azureml:\/\/connections\/(.*)$/.exec(inner);
  if (!match) {
    return { kind: 'malformed', problem: `"${inner}" is not a connection reference: it starts with azureml://connections/ (lower case), e.g. \${{azureml://connections/<connection>/credentials/<key>}}` };
  }
  const parts = match[1]!.split('/');
  const connection = parts[0] ?? '';
  if (connection === '') return { kind: 'malformed', problem: 'the connection name is missing after azureml://connections/' };
  if (!CONNECTION_NAME.test(connection)) {
    return { kind: 'malformed', problem: `"${connection}" is not a connection name (letters, digits, "_" and "-", starting with a letter or digit)` };
  }
  if (parts.length === 1) return { kind: 'reference', reference: { store: 'connection', connection, part: 'all' } };
  const [, part, key, ...rest] = parts;
  if (part === 'target') {
    if (parts.length === 2) return { kind: 'reference', reference: { store: 'connection', connection, part: 'target' } };
    return { kind: 'malformed', problem: `nothing may follow /target (found "/${parts.slice(2).join('/')}")` };
  }
  if (part === 'credentials' || part === 'metadata') {
    if (key === undefined || key === '') return { kind: 'malformed', problem: `the ${part === 'credentials' ? 'credential' : 'metadata'} key is missing after /${part}/` };
    if (rest.length > 0) return { kind: 'malformed', problem: `one key follows /${part}/, not "${[key, ...rest].join('/')}"` };
    return { kind: 'reference', reference: { store: 'connection', connection, part, key } };
  }
  return { kind: 'malformed', problem: `"/${part ?? ''}" is not a part of a connection: use /credentials/<key>, /metadata/<key> or /target, or nothing for the whole connection` };
}

function keyvaultReference(inner: string): ParsedValue {
  const body = inner.replace(/^keyvault:/i, '');
  let url: URL;
  try {
    url = new URL(body);
  } catch {
    return { kind: 'malformed', problem: `"${body}" is not a Key Vault secret URL (https://<vault>.vault.azure.net/secrets/<name>/<version>)` };
  }
  if (url.protocol !== 'https:') return { kind: 'malformed', problem: `a Key Vault secret URL is https://, not ${url.protocol}//` };
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || url.port !== '') {
    return { kind: 'malformed', problem: `"${body}" has more than https://<vault>.vault.azure.net/secrets/<name>/<version> (a query, fragment, user or port)` };
  }
  const host = url.hostname.toLowerCase();
  const suffix = VAULT_SUFFIXES.find((candidate) => host.endsWith(`.${candidate}`));
  const vault = suffix ? host.slice(0, -suffix.length - 1) : undefined;
  if (!vault || !VAULT_NAME.test(vault)) {
    return { kind: 'malformed', problem: `"${url.hostname}" is not a Key Vault's host (<vault>.vault.azure.net, the vault's name 3-24 letters, digits and hyphens)` };
  }
  const segments = url.pathname.replace(/\/$/, '').split('/').slice(1);
  if (segments[0] !== 'secrets') {
    return { kind: 'malformed', problem: `"${url.pathname}" is not a secret's path: it is /secrets/<name>/<version> (keys and certificates cannot be injected)` };
  }
  const [, name, version, ...rest] = segments;
  if (name === undefined || name === '') return { kind: 'malformed', problem: 'the secret name is missing after /secrets/' };
  if (!SECRET_NAME.test(name)) return { kind: 'malformed', problem: `"${name}" is not a Key Vault secret name (1-127 letters, digits and hyphens)` };
  if (rest.length > 0) return { kind: 'malformed', problem: `"${url.pathname}" has more than /secrets/<name>/<version>` };
  if (version !== undefined && !SECRET_VERSION.test(version)) {
    return { kind: 'malformed', problem: `"${version}" is not a secret version (32 hexadecimal digits, as Key Vault makes them; leave it out for the latest)` };
  }
  const canonical = `https://${host}/secrets/${name}${version ? `/${version.toLowerCase()}` : ''}`;
  return { kind: 'reference', reference: { store: 'keyvault', vault: vault.toLowerCase(), host, name, ...(version && { version: version.toLowerCase() }), url: canonical } };
}

/** A reference as written in messages and logs (never a value). */
export function describeReference(reference: SecretReference): string {
  if (reference.store === 'keyvault') return `\${{keyvault:${reference.url}}}`;
  const base = `azureml://connections/${reference.connection}`;
  if (reference.part === 'all') return `\${{${base}}}`;
  if (reference.part === 'target') return `\${{${base}/target}}`;
  return `\${{${base}/${reference.part}/${reference.key}}}`;
}

export interface ReferencedVariable {
  variable: string;
  /** The value as written. */
  written: string;
  parsed: Exclude<ParsedValue, { kind: 'plain' }>;
}

/** The variables of `environment_variables` that are references (or malformed ones), in order. */
export function secretVariables(environment: Record<string, string> | undefined): ReferencedVariable[] {
  const out: ReferencedVariable[] = [];
  for (const [variable, written] of Object.entries(environment ?? {})) {
    if (typeof written !== 'string') continue;
    const parsed = parseSecretValue(written);
    if (parsed.kind !== 'plain') out.push({ variable, written, parsed });
  }
  return out;
}

/** Whether a deployment's variables name any secret (or try to): only then is anything resolved. */
export function hasSecretReferences(environment: Record<string, string> | undefined): boolean {
  return secretVariables(environment).length > 0;
}

/** Whether one value is a reference (or malformed one): such a value never goes anywhere as it is. */
export function isSecretReferenceValue(value: string): boolean {
  return parseSecretValue(value).kind !== 'plain';
}

/**
 * The oep command that prints a reference's value (for a cluster's Secret, or a shell before
 * `docker run`): the connection's part with `oep connection show --show-secrets --query`, a Key
 * Vault secret with `oep keyvault secret show --id` (`az keyvault secret show --id` reads the real
 * vault the same way), a whole connection's list-secrets JSON with `--list-secrets`. Undefined for
 * a malformed value.
 */
export function referenceValueCommand(value: string): string | undefined {
  const parsed = parseSecretValue(value);
  if (parsed.kind !== 'reference') return undefined;
  const reference = parsed.reference;
  if (reference.store === 'keyvault') return `oep keyvault secret show --id ${reference.url} --query value -o tsv`;
  const show = `oep connection show -n ${reference.connection} --show-secrets -o tsv --query`;
  if (reference.part === 'target') return `${show} target`;
  if (reference.part === 'metadata') return `${show} 'metadata."${reference.key}"'`;
  if (reference.part === 'credentials') return reference.key === 'key' ? `${show} credentials.key` : `${show} 'credentials.keys."${reference.key}"'`;
  return `oep connection show -n ${reference.connection} --list-secrets -o json`;
}
