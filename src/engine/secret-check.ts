import { OepError } from '../errors.js';
import type { AzRunner } from '../identity/token-sources.js';
import { hasSecretReferences } from '../model/secret-references.js';
import { failureLine, injectionHint, resolveSecretVariables, type InjectionFailure, type KeyvaultSource } from '../registry/secret-injection.js';
import { formatProblem, type DeploymentSpec, type LoadSpecOptions } from '../spec/index.js';
import { placeInDeploymentFile } from '../spec/locate-keys.js';
import type { SpecProblem } from '../spec/problem.js';

export interface SecretCheckOptions {
  home: string;
  /** The environment whose OEP_HOME settings say where Key Vault references are read. */
  env?: NodeJS.ProcessEnv;
  /** The YAML and flags the spec came from, to point at each reference; without it, the deployment's name. */
  source?: LoadSpecOptions;
  az?: AzRunner;
}

/**
 * Every secret reference of a deployment that is malformed or names nothing, placed in its YAML
 * (FILE:LINE:COL environment_variables.NAME: SecretsInjectionError: ...). Resolving reads the
 * stores under OEP_HOME (and, by keyvault_source, the Azure CLI); the values are dropped here, the
 * daemon resolves again when the replicas start.
 */
export async function secretInjectionProblems(spec: DeploymentSpec, options: SecretCheckOptions): Promise<{ problems: SpecProblem[]; failures: InjectionFailure[] }> {
  if (!hasSecretReferences(spec.environment_variables)) return { problems: [], failures: [] };
  const { openSettings } = await import('../state/settings.js');
  const keyvaultSource = (await openSettings(options.env)).get('keyvault_source') as KeyvaultSource;
  const resolved = await resolveSecretVariables(spec.environment_variables, { home: options.home, keyvaultSource, ...(options.az && { az: options.az }) });
  const { failures } = resolved;
  if (failures.length === 0) return { problems: [], failures };
  const raw = failures.map((failure) => ({ ...failureLine(failure), at: 'value' as const }));
  if (options.source) return { problems: await placeInDeploymentFile(options.source, raw), failures };
  return { problems: raw.map((problem) => ({ file: `deployment ${spec.name}`, line: 0, col: 0, path: problem.path.join('.'), message: problem.message })), failures };
}

/** deployment create|update: exit 2 with Azure's SecretsInjectionError before the daemon is asked. */
export async function checkSecretInjection(spec: DeploymentSpec, options: SecretCheckOptions): Promise<void> {
  const { problems, failures } = await secretInjectionProblems(spec, options);
  if (problems.length === 0) return;
  const count = problems.length === 1 ? 'a secret reference' : `${problems.length} secret references`;
  throw new OepError('OEP_ERR_SECRET_INJECTION', `Deployment ${spec.name}: SecretsInjectionError: ${count} in environment_variables cannot be resolved.`, {
    details: problems.map(formatProblem),
    hint: `${injectionHint(failures)}. Nothing was changed.`,
  });
}
