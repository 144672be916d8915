import { OepError } from '../errors.js';
import { runAz, type AzRunner } from '../identity/token-sources.js';
import { describeReference, REFERENCE_FORMS, secretVariables, type SecretReference } from '../model/secret-references.js';
import { credentialNames, credentialValue, findConnection, listConnectionNames, listSecretsJson, metadataValue } from './connections.js';
import { findSecret, pickVersion } from './keyvault.js';

/**
 * Secret injection (docs/contract.md section 10, docs/behaviour.md "Secrets"): the values of a
 * deployment's `environment_variables` that reference a connection or a Key Vault secret, resolved
 * from oep's local stores (or, for Key Vault with keyvault_source az|auto, the real vault through
 * the Azure CLI). The CLI checks every reference before a create or update reaches the daemon; the
 * daemon resolves them again right before the replicas start, and only the replicas' environment
 * holds the values (never state, views, logs or messages).
 */
export type KeyvaultSource = 'local' | 'az' | 'auto';

export interface InjectionOptions {
  home: string;
  /** The keyvault_source setting. */
  keyvaultSource: KeyvaultSource;
  /** The Azure CLI (tests pass a stand-in); default `az` on PATH. */
  az?: AzRunner;
}

/** One reference that could not be resolved: the variable, the value as written, why (never a secret). */
export interface InjectionFailure {
  variable: string;
  written: string;
  reason: string;
}

export interface InjectionResult {
  /** The resolved values, by variable: only for the replicas' environment. */
  values: Record<string, string>;
  /** The references as written, by variable (for masking and messages). */
  references: Record<string, string>;
  /** Where each Key Vault value came from (local or az), by variable: for the notice line. */
  sources: Record<string, 'connection' | 'local vault' | 'Azure CLI'>;
  failures: InjectionFailure[];
}

/** Resolves every reference in `environment`; unresolvable ones are failures, never thrown. */
export async function resolveSecretVariables(environment: Record<string, string> | undefined, options: InjectionOptions): Promise<InjectionResult> {
  const result: InjectionResult = { values: {}, references: {}, sources: {}, failures: [] };
  for (const { variable, written, parsed } of secretVariables(environment)) {
    result.references[variable] = written;
    if (parsed.kind === 'malformed') {
      result.failures.push({ variable, written, reason: `malformed secret reference: ${parsed.problem}` });
      continue;
    }
    const reference = parsed.reference;
    try {
      if (reference.store === 'connection') {
        result.values[variable] = await connectionPart(options.home, reference);
        result.sources[variable] = 'connection';
      } else {
        const { value, source } = await keyvaultSecret(reference, options);
        result.values[variable] = value;
        result.sources[variable] = source;
      }
    } catch (error) {
      if (!(error instanceof ReferenceProblem)) throw error;
      result.failures.push({ variable, written, reason: error.message });
    }
  }
  return result;
}

/** Why one reference names nothing (its message never holds a secret). */
class ReferenceProblem extends Error {}

async function connectionPart(home: string, reference: Extract<SecretReference, { store: 'connection' }>): Promise<string> {
  const record = await findConnection(home, reference.connection);
  if (!record) {
    const known = await listConnectionNames(home);
    throw new ReferenceProblem(`connection ${reference.connection} does not exist${known.length > 0 ? ` (the connections are ${known.join(', ')})` : ' (there are no connections)'}`);
  }
  if (reference.part === 'all') return listSecretsJson(record);
  if (reference.part === 'target') {
    if (record.target === undefined) throw new ReferenceProblem(`connection ${reference.connection} has no target`);
    return record.target;
  }
  if (reference.part === 'credentials') {
    const value = credentialValue(record, reference.key);
    if (value === undefined) {
      const names = credentialNames(record);
      throw new ReferenceProblem(`connection ${reference.connection} has no credential ${reference.key} (${names.length > 0 ? `its credentials are ${names.join(', ')}` : 'it has no credentials'})`);
    }
    return value;
  }
  const value = metadataValue(record, reference.key);
  if (value === undefined) {
    const names = Object.keys(record.metadata);
    throw new ReferenceProblem(`connection ${reference.connection} has no metadata ${reference.key} (${names.length > 0 ? `its metadata keys are ${names.join(', ')}` : 'it has no metadata'})`);
  }
  return value;
}

async function keyvaultSecret(reference: Extract<SecretReference, { store: 'keyvault' }>, options: InjectionOptions): Promise<{ value: string; source: 'local vault' | 'Azure CLI' }> {
  const version = reference.version;
  const describe = `secret ${reference.name}${version ? ` version ${version}` : ''}`;
  let localProblem: string | undefined;
  if (options.keyvaultSource !== 'az') {
    const record = await findSecret(options.home, reference.vault, reference.name);
    const found = record && pickVersion(record, version);
    if (found) return { value: found.value, source: 'local vault' };
    localProblem = record ? `oep's local vault ${reference.vault} has no ${describe}` : `oep's local vault ${reference.vault} has no secret ${reference.name}`;
    if (options.keyvaultSource === 'local') throw new ReferenceProblem(`${localProblem} (keyvault_source is local: oep keyvault secret set --vault-name ${reference.vault} --name ${reference.name} --value ..., or oep config set keyvault_source az to read the real vault)`);
  }
  const run = options.az ?? runAz;
  // The value is the only thing on stdout; it never goes into a message.
  const result = await run(['keyvault', 'secret', 'show', '--id', reference.url, '--query', 'value', '-o', 'tsv']);
  const prefix = localProblem ? `${localProblem}, and ` : '';
  if (result.missing) throw new ReferenceProblem(`${prefix}the Azure CLI (az) is not on PATH to read it from ${reference.host}`);
  if (result.code !== 0) {
    const said = firstLine(result.stderr) || `exit code ${result.code}`;
    if (/\baz login\b/.test(result.stderr)) throw new ReferenceProblem(`${prefix}the Azure CLI is not logged in (az keyvault secret show: ${said})`);
    throw new ReferenceProblem(`${prefix}az keyvault secret show --id ${reference.url} failed: ${said}`);
  }
  // -o tsv ends the value with one line break.
  return { value: result.stdout.replace(/\r?\n$/, ''), source: 'Azure CLI' };
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/** One failure as a detail line: the variable (as key path), its reference as written, why. */
export function failureLine(failure: InjectionFailure): { path: string[]; message: string } {
  const shown = /^\s*\$\{\{[\s\S]*\}\}\s*$/.test(failure.written) && failure.written.length <= 300 ? `${failure.written.trim()}: ` : '';
  return { path: ['environment_variables', failure.variable], message: `SecretsInjectionError: ${shown}${failure.reason}.` };
}

/** The hint of a SecretsInjectionError, for the kinds of failure in it. */
export function injectionHint(failures: InjectionFailure[]): string {
  const hints = new Set<string>();
  for (const failure of failures) {
    if (failure.reason.startsWith('malformed')) hints.add(`write each reference as one of ${REFERENCE_FORMS}`);
    else if (failure.reason.startsWith('connection')) hints.add('create or fix the connection: oep connection create -f connection.yml (oep connection show -n NAME shows its credential and metadata names)');
    else hints.add('set the secret in oep\'s local vault: oep keyvault secret set --vault-name VAULT --name NAME --value ... (or --file F), or read the real vault: oep config set keyvault_source az');
  }
  return [...hints].join('; ');
}

/** The failure message Azure's deployments fail with, for the daemon's side (no file to point at). */
export function injectionError(deployment: string, failures: InjectionFailure[], code: 'OEP_ERR_SECRET_INJECTION' | 'OEP_ERR_DEPLOYMENT_FAILED', phase?: string): OepError {
  const count = failures.length === 1 ? 'a secret reference' : `${failures.length} secret references`;
  return new OepError(code, `Deployment ${deployment}: SecretsInjectionError: ${count} in environment_variables cannot be resolved.`, {
    details: failures.map((failure) => {
      const line = failureLine(failure);
      return `environment_variables.${failure.variable}: ${line.message}`;
    }),
    hint: injectionHint(failures),
    ...(phase !== undefined && { phase }),
  });
}

export { describeReference };
