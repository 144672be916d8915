import { OepError } from '../errors.js';
import { resolveDeploymentAssets } from '../registry/resolve.js';
import {
  loadBatchDeploymentSpec,
  loadBatchEndpointSpec,
  unwrapSpec,
  validateBatchDeploymentObject,
  validateBatchEndpointObject,
  type BatchDeploymentSpec,
  type BatchEndpointSpec,
} from '../spec/index.js';
import { specOrThrow, type EngineDeps } from './deps.js';

/**
 * The use cases of `oep batch-endpoint` and `oep batch-deployment` (create, update): the YAML (or
 * the stored spec with --set) validated, a deployment's registered model and environment resolved
 * against oep's registry, then one daemon call. Invoke and jobs are not here: the job runner runs them.
 */

export interface BatchEndpointCreateOptions {
  /** Without a file, -n gives an endpoint with the defaults, as `az ml batch-endpoint create -n` does. */
  file?: string;
  name?: string;
  set: string[];
}

export async function createBatchEndpoint(options: BatchEndpointCreateOptions, deps: EngineDeps): Promise<unknown> {
  let spec: BatchEndpointSpec;
  if (options.file) {
    spec = specOrThrow(await loadBatchEndpointSpec({ file: options.file, cwd: deps.cwd, name: options.name, set: options.set }), deps);
  } else if (options.name) {
    spec = unwrapSpec(validateBatchEndpointObject({ name: options.name }, `batch endpoint ${options.name}`, options.set));
  } else {
    throw new OepError('OEP_ERR_USAGE', 'batch-endpoint create needs -f/--file or -n/--name.', {
      hint: 'e.g. oep batch-endpoint create -n my-batch-endpoint, or oep batch-endpoint create -f endpoint.yml',
    });
  }
  return deps.client.call('batchEndpoint.create', { spec });
}

export interface BatchEndpointUpdateOptions {
  name?: string;
  file?: string;
  set: string[];
  /** az's --defaults: `deployment_name=NAME` (or the JSON map). */
  defaults?: string;
}

/** Updates from a file, or from the stored spec with --set and --defaults; the daemon checks the default names a deployment. */
export async function updateBatchEndpoint(options: BatchEndpointUpdateOptions, deps: EngineDeps): Promise<unknown> {
  const set = [...options.set, ...defaultsAsSet(options.defaults)];
  let spec: BatchEndpointSpec;
  if (options.file) {
    spec = specOrThrow(await loadBatchEndpointSpec({ file: options.file, cwd: deps.cwd, name: options.name, set }), deps);
  } else if (options.name) {
    if (set.length === 0) {
      throw new OepError('OEP_ERR_USAGE', 'Nothing to update.', {
        hint: 'Give -f FILE, --set key=value or --defaults deployment_name=NAME.',
      });
    }
    const stored = await deps.client.call('batchEndpoint.spec', { name: options.name });
    spec = unwrapSpec(validateBatchEndpointObject(stored, `batch endpoint ${options.name}`, set));
  } else {
    throw new OepError('OEP_ERR_USAGE', 'batch-endpoint update needs -n/--name or -f/--file.');
  }
  return deps.client.call('batchEndpoint.update', { spec });
}

/** `--defaults deployment_name=blue` (az's form; a JSON map too) as the --set expressions it means. */
export function defaultsAsSet(defaults: string | undefined): string[] {
  if (defaults === undefined) return [];
  const text = defaults.trim();
  let entries: [string, unknown][] | undefined;
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) entries = Object.entries(parsed);
    } catch {
      entries = undefined;
    }
  } else {
    entries = text.split(/\s+/).map((pair) => {
      const at = pair.indexOf('=');
      return at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, undefined];
    });
  }
  if (entries === undefined || entries.length === 0 || entries.some(([key, value]) => key !== 'deployment_name' || typeof value !== 'string' || value === '')) {
    throw new OepError('OEP_ERR_USAGE', `--defaults takes deployment_name=NAME, not "${defaults}".`, {
      hint: 'e.g. oep batch-endpoint update -n my-batch-endpoint --defaults deployment_name=blue',
    });
  }
  return entries.map(([key, value]) => `defaults.${key}=${JSON.stringify(value)}`);
}

export interface BatchDeploymentApplyOptions {
  file?: string;
  name?: string;
  endpointName?: string;
  set: string[];
  /** --set-default: the deployment becomes the endpoint's default. */
  setDefault?: boolean;
}

/** `batch-deployment create|update`: load and validate, resolve registered assets, then one daemon call. */
export async function applyBatchDeployment(mode: 'create' | 'update', options: BatchDeploymentApplyOptions, deps: EngineDeps): Promise<unknown> {
  let spec: BatchDeploymentSpec;
  if (options.file) {
    spec = specOrThrow(
      await loadBatchDeploymentSpec({ file: options.file, cwd: deps.cwd, name: options.name, endpointName: options.endpointName, set: options.set }),
      deps,
    );
  } else if (mode === 'update' && options.name && options.endpointName) {
    const stored = await deps.client.call('batchDeployment.spec', { endpoint: options.endpointName, name: options.name });
    spec = unwrapSpec(validateBatchDeploymentObject(stored, `batch deployment ${options.name}`, options.set));
  } else {
    throw new OepError('OEP_ERR_USAGE', `batch-deployment ${mode} needs -f/--file${mode === 'update' ? ', or -n and -e with --set' : ''}.`);
  }
  const resolved = await resolveDeploymentAssets(spec, deps.client.paths.home);
  for (const warning of resolved.warnings) deps.onEvent?.({ phase: 'notice', message: warning });
  spec = resolved.spec;
  const problems = [...resolved.problems, ...scoringProblems(spec)];
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `Batch deployment ${spec.name} cannot run on this machine.`, {
      details: problems.map((problem) => (options.file ? `${options.file}: ${problem}` : problem)),
      hint: 'Nothing was changed. The YAML stays valid for Azure.',
    });
  }
  return deps.client.call(`batchDeployment.${mode}`, { spec, ...(options.setDefault === true && { setDefault: true }) });
}

/** A registered model is known only once resolved: one that is not MLflow needs a scoring script (the spec checks inline ones). */
function scoringProblems(spec: BatchDeploymentSpec): string[] {
  const model = spec.model;
  if (typeof model !== 'object' || model.type === 'mlflow_model' || spec.code_configuration !== undefined) return [];
  const named = model.name !== undefined ? `${model.name}:${model.version ?? '?'} ` : '';
  return [`model: ${named}is a ${model.type ?? 'custom_model'}, which needs code_configuration (a scoring script with init() and run(mini_batch)); only MLflow models deploy without one.`];
}
