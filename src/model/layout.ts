import { basename, dirname, posix } from 'node:path';
import type { DeploymentSpec } from '../spec/types.js';
import { APP_ROOT_ENV, ENTRY_SCRIPT_ENV, MODEL_DIR_ENV, REPLICA_SECRET_ENV } from './server-contract.js';

/** Where Azure puts things inside a deployment (docs/contract.md section 4). */
export const APP_ROOT = '/var/azureml-app';
export const MODELS_ROOT = `${APP_ROOT}/azureml-models`;
export const SERVER_PORT = 5001;
/** Where oep's scoring server is mounted in a container (read-only). */
export const SERVER_ROOT = '/var/azureml-server';

export interface ModelLayout {
  /** Host path of the model file or folder named by `model.path`. */
  source: string;
  name: string;
  version: string;
  /** The last segment of `model.path`, kept under AZUREML_MODEL_DIR as in the cloud. */
  entry: string;
  /** Cloud path: /var/azureml-app/azureml-models/<name>/<version> */
  modelDir: string;
}

export interface CodeLayout {
  /** Host path of `code_configuration.code`. */
  source: string;
  /** Cloud path: /var/azureml-app/<basename of code dir> */
  codeDir: string;
  /** The scoring script's directory inside the code dir ('' when at its top). */
  scriptDir: string;
  scriptFile: string;
}

export interface DeploymentLayout {
  model?: ModelLayout;
  code?: CodeLayout;
}

/**
 * The model name and version of an inline model, for its mount path. Azure registers an
 * anonymous model for an inline path; oep names it after the deployment, version 1, unless the
 * YAML gives a name and version.
 */
export function computeLayout(spec: Pick<DeploymentSpec, 'name' | 'model' | 'model_mount_path' | 'code_configuration'>): DeploymentLayout {
  const layout: DeploymentLayout = {};
  if (spec.model && typeof spec.model === 'object' && spec.model.path) {
    const name = spec.model.name ?? `${spec.name}-model`;
    const version = String(spec.model.version ?? '1');
    const source = spec.model.path.replace(/\/+$/, '');
    layout.model = {
      source,
      name,
      version,
      entry: basename(source),
      modelDir: spec.model_mount_path ?? posix.join(MODELS_ROOT, name, version),
    };
  }
  if (spec.code_configuration) {
    const source = spec.code_configuration.code.replace(/\/+$/, '');
    const script = spec.code_configuration.scoring_script.replace(/\\/g, '/').replace(/^\.\//, '');
    const scriptDir = dirname(script) === '.' ? '' : dirname(script);
    layout.code = {
      source,
      codeDir: posix.join(APP_ROOT, basename(source)),
      scriptDir,
      scriptFile: basename(script),
    };
  }
  return layout;
}

/**
 * The environment the scoring server sees, given where model and code are reachable
 * (cloud paths in a container, host paths for the process runtime). `environment_variables`
 * come last and override everything else, except the replica secret: with `replicaSecret` the
 * server answers 401 to any request without it (health probes aside), and a user's variable of
 * that name must not turn the check off or make every request fail. `platform`: more of Azure's
 * own variables (the managed identity's MSI_ENDPOINT, MSI_SECRET, DEFAULT_IDENTITY_CLIENT_ID),
 * set before the user's as Azure sets them.
 */
export function scoringEnvironment(
  spec: DeploymentSpec,
  at: { modelDir?: string; appRoot?: string; entryScript?: string; replicaSecret?: string; platform?: Record<string, string> },
): Record<string, string> {
  const env: Record<string, string> = {};
  if (at.modelDir) env[MODEL_DIR_ENV] = at.modelDir;
  if (at.appRoot) env[APP_ROOT_ENV] = at.appRoot;
  if (at.entryScript) env[ENTRY_SCRIPT_ENV] = at.entryScript;
  const user: Record<string, string> = { ...spec.environment_variables };
  delete user[REPLICA_SECRET_ENV];
  // The secret first and the user's variables last, as always: no name is shared, so order is moot.
  return { ...(at.replicaSecret !== undefined && { [REPLICA_SECRET_ENV]: at.replicaSecret }), ...env, ...at.platform, ...user };
}

/**
 * Pairs of (path inside a replica, the user's own path) for the code and the model, so messages
 * about a replica name the user's files (/var/azureml-app/onlinescoring/score.py becomes
 * ./onlinescoring/score.py's absolute path). Longest prefixes first.
 */
export function localPathPairs(spec: DeploymentSpec): [string, string][] {
  const layout = computeLayout(spec);
  const pairs: [string, string][] = [];
  if (layout.code) pairs.push([layout.code.codeDir, layout.code.source]);
  if (layout.model) pairs.push([posix.join(layout.model.modelDir, layout.model.entry), layout.model.source]);
  return pairs.sort(([a], [b]) => b.length - a.length);
}

/** Rewrites replica paths in `text` to the user's paths (see localPathPairs). */
export function toLocalPaths(text: string, pairs: readonly [string, string][]): string {
  let out = text;
  for (const [inside, local] of pairs) {
    if (inside === local) continue;
    // Only whole path segments: /var/azureml-app/code must not rewrite /var/azureml-app/code2.
    out = out.replace(new RegExp(`${escapeRegExp(inside)}(?=[/"'\\s,:)]|$)`, 'gm'), local);
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
