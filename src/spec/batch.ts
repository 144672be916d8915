/**
 * The spec pipeline for batch endpoints, batch deployments and data assets (`oep batch-endpoint`,
 * `oep batch-deployment`, `oep data`): the same steps as pipeline.ts (read -> overrides -> schema ->
 * defaults -> rules -> local paths -> place -> normalise), each returning problems, with the batch
 * schemas. A batch deployment comes in two forms, as azure-ai-ml loads it: without `type` its
 * settings are top-level keys; with `type: model` they are under `settings`. Both become the
 * top-level form, which is what oep stores and `show` prints; `type: pipeline` is refused.
 */
import { applyDefaults } from './defaults.js';
import { applyOverrides } from './overrides.js';
import { resolveDataPath, resolveLocalPaths } from './paths.js';
import { assetSource, objectSource, readSource, type LoadAssetOptions, type LoadSpecOptions, type Source } from './pipeline.js';
import { checkPlaceholderNames } from './placeholders.js';
import { placeProblems } from './placement.js';
import { describeType, isRecord } from './plain-data.js';
import type { RawProblem, SpecProblem, SpecResult } from './problem.js';
import { checkNames, checkNamesAndEnvironment } from './rules.js';
import { checkSchema } from './schema-errors.js';
import { loadSchema } from './schemas.js';
import {
  BATCH_DEPLOYMENT_READ_ONLY_KEYS,
  BATCH_ENDPOINT_READ_ONLY_KEYS,
  BATCH_SETTINGS_KEYS,
  type BatchDeploymentSpec,
  type BatchEndpointSpec,
  type DataAssetSpec,
} from './batch-types.js';

export async function loadBatchEndpointSpec(o: LoadSpecOptions): Promise<SpecResult<BatchEndpointSpec>> {
  return validateBatchEndpointSource(await readSource(o));
}

export async function loadBatchDeploymentSpec(o: LoadSpecOptions): Promise<SpecResult<BatchDeploymentSpec>> {
  return validateBatchDeploymentSource(await readSource(o));
}

/** A stored batch endpoint (or one made from flags) with `--set` applied; problems name `sourceLabel`. */
export function validateBatchEndpointObject(obj: unknown, sourceLabel: string, set?: string[]): SpecResult<BatchEndpointSpec> {
  return validateBatchEndpointSource(objectSource(obj, sourceLabel, set));
}

/** A stored batch deployment with `--set` applied (update without a file). */
export function validateBatchDeploymentObject(obj: unknown, sourceLabel: string, set?: string[]): SpecResult<BatchDeploymentSpec> {
  return validateBatchDeploymentSource(objectSource(obj, sourceLabel, set));
}

/** A data asset (`oep data create`): from a YAML file and/or flags, its path made absolute and checked. */
export async function loadDataAsset(o: LoadAssetOptions): Promise<SpecResult<DataAssetSpec>> {
  return validateDataSource(await assetSource(o));
}

/** What a place function needs: the source's file and positions, and where flag values came from. */
type Place = (raw: RawProblem[]) => SpecProblem[];

function validateBatchEndpointSource(source: Source): SpecResult<BatchEndpointSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data);
  const { problems, origins } = applyOverrides(data, source.overrides, 'endpoint');
  const place: Place = (raw) => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) return notAMap(data, 'an endpoint YAML is a map of keys, at least name: <endpoint-name>', source, place);
  const named = checkPlaceholderNames(data, [{ key: 'name', flag: '-n/--name', standIn: 'name-given-with-n' }], source.placeholders);
  problems.push(...named.errors);
  // Online endpoints' keys (traffic, compute, auth_mode: key) are explained as such.
  const online = { schema: 'endpoint.managed' as const, label: 'online endpoints', switchHint: 'create an online endpoint with oep endpoint create' };
  problems.push(...checkSchema('batch-endpoint', data, online));
  applyDefaults(loadSchema('batch-endpoint'), data);
  problems.push(...checkNames(data, ['name']));
  const errors = place(problems);
  const warnings = [...source.warnings, ...place(named.warnings)];
  return errors.length > 0 ? { warnings, errors } : { value: toBatchEndpointSpec(data), warnings, errors };
}

function validateBatchDeploymentSource(source: Source): SpecResult<BatchDeploymentSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data);
  const { problems, origins } = applyOverrides(data, source.overrides, 'deployment');
  const place: Place = (raw) => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) return notAMap(data, 'a batch deployment YAML is a map of keys, at least name, endpoint_name, model and compute', source, place);
  if (data.type === 'pipeline') return { warnings: source.warnings, errors: place([PIPELINE_REFUSED]) };
  const named = checkPlaceholderNames(
    data,
    [
      { key: 'name', flag: '-n/--name', standIn: 'name-given-with-n' },
      { key: 'endpoint_name', flag: '-e/--endpoint-name', standIn: 'endpoint-given-with-e' },
    ],
    source.placeholders,
  );
  problems.push(...named.errors);

  if (data.type !== undefined) {
    const classic = { schema: 'batch-deployment' as const, label: 'batch deployments without type', switchHint: 'with type: model, move it under settings' };
    problems.push(...checkSchema('batch-deployment.model', data, classic));
    moveSettingsToTop(data);
  } else {
    const modelForm = { schema: 'batch-deployment.model' as const, label: 'batch deployments with type: model', switchHint: 'add type: model' };
    problems.push(...checkSchema('batch-deployment', data, modelForm));
  }
  applyDefaults(loadSchema('batch-deployment'), data);
  problems.push(...checkBatchDeploymentRules(data));
  problems.push(...resolveLocalPaths(data, source.base));

  const errors = place(problems);
  const warnings = [...source.warnings, ...place(named.warnings)];
  return errors.length > 0 ? { warnings, errors } : { value: toBatchDeploymentSpec(data), warnings, errors };
}

/** The one sentence a pipeline component deployment gets: oep runs models only. */
const PIPELINE_REFUSED: RawProblem = {
  path: ['type'],
  at: 'value',
  message: 'Pipeline component batch deployments (type: pipeline) are not supported by oep, which runs model batch deployments only.',
  hint: 'deploy a model instead (type: model, with model, code_configuration and environment), or run the pipeline in Azure ML',
};

/**
 * `type: model` -> the top-level form, in place: `settings.*` become top-level keys
 * (`settings.instance_count` becomes `resources.instance_count`, `settings.environment_variables`
 * are added over the top-level ones), and `type` and `settings` go. Runs after the schema step,
 * on guarded values, so a problem found there keeps its place in the file.
 */
function moveSettingsToTop(data: Record<string, unknown>): void {
  const settings = isRecord(data.settings) ? data.settings : {};
  for (const key of BATCH_SETTINGS_KEYS) if (settings[key] !== undefined) data[key] = settings[key];
  if (settings.instance_count !== undefined) data.resources = { ...(isRecord(data.resources) ? data.resources : {}), instance_count: settings.instance_count };
  if (isRecord(settings.environment_variables)) {
    data.environment_variables = { ...(isRecord(data.environment_variables) ? data.environment_variables : {}), ...settings.environment_variables };
  }
  delete data.settings;
  delete data.type;
}

/** Names, the environment's shape, and what a model needs to be scored (before references are resolved). */
function checkBatchDeploymentRules(data: Record<string, unknown>): RawProblem[] {
  const problems = checkNamesAndEnvironment(data);
  const model = data.model;
  if (isRecord(model) && model.type !== 'mlflow_model' && data.code_configuration === undefined) {
    problems.push({
      path: ['model'],
      at: 'key',
      message: 'A model that is not an MLflow model needs code_configuration: a scoring script with init() and run(mini_batch).',
      hint: 'add code_configuration: {code: <folder>, scoring_script: <file>}, or set model.type: mlflow_model for an MLflow model',
    });
  }
  return problems;
}

function toBatchEndpointSpec(data: Record<string, unknown>): BatchEndpointSpec {
  const spec = without(data, ['$schema', ...BATCH_ENDPOINT_READ_ONLY_KEYS]) as unknown as BatchEndpointSpec;
  spec.auth_mode = 'aad_token';
  return spec;
}

function toBatchDeploymentSpec(data: Record<string, unknown>): BatchDeploymentSpec {
  const spec = without(data, ['$schema', ...BATCH_DEPLOYMENT_READ_ONLY_KEYS]);
  for (const key of ['model', 'environment']) {
    const inline = spec[key];
    if (isRecord(inline) && inline.version !== undefined) inline.version = String(inline.version);
  }
  // The service answers Info; the docs write info.
  if (typeof spec.logging_level === 'string') spec.logging_level = spec.logging_level.toLowerCase();
  return spec as unknown as BatchDeploymentSpec;
}

function validateDataSource(source: Source): SpecResult<DataAssetSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data ?? {});
  const { problems, origins } = applyOverrides(data, source.overrides, 'endpoint');
  const place: Place = (raw) => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) return notAMap(data, 'a data YAML is a map of keys, at least name and path', source, place);
  if (typeof data.version === 'number') data.version = String(data.version);
  // Model-only keys (flavors, job_name) are explained as such.
  problems.push(...checkSchema('data', data, { schema: 'model', label: 'models', switchHint: 'register a model with oep model create' }));
  applyDefaults(loadSchema('data'), data);
  problems.push(...resolveDataPath(data, source.base));
  const errors = place(problems);
  return errors.length > 0 ? { warnings: source.warnings, errors } : { value: without(data, ['$schema']) as unknown as DataAssetSpec, warnings: source.warnings, errors };
}

function notAMap<T>(data: unknown, hint: string, source: Source, place: Place): SpecResult<T> {
  const problem: RawProblem = {
    path: [],
    at: 'value',
    message: data === null || data === undefined ? `The ${source.locate === undefined ? 'spec' : 'file'} is empty.` : `Must be a map, not ${describeType(data)}.`,
    hint,
  };
  return { warnings: source.warnings, errors: place([problem]) };
}

function without(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !keys.includes(key)));
}

/** Keys only a batch deployment has (either form), and the schema names of Azure's batch YAML. */
const BATCH_DEPLOYMENT_MARKERS = ['mini_batch_size', 'output_action', 'output_file_name', 'retry_settings', 'error_threshold', 'max_concurrency_per_instance', 'logging_level'];
const BATCH_SCHEMA = /\/(batchEndpoint|batchDeployment|modelBatchDeployment|pipelineComponentBatchDeployment)\.schema\.json$/;

export type AnyBatchSpec = { kind: 'batch endpoint'; spec: BatchEndpointSpec } | { kind: 'batch deployment'; spec: BatchDeploymentSpec };

/**
 * `oep validate -f` of a batch YAML: its `$schema` names a batch schema, or it has a key only batch
 * deployments have (`type: model|pipeline`, `settings`, `mini_batch_size`, ...). Undefined for any
 * other YAML (an online endpoint or deployment), which loadAnySpec takes.
 */
export async function loadBatchSpecIfBatch(o: LoadSpecOptions): Promise<SpecResult<AnyBatchSpec> | undefined> {
  const source = await readSource(o);
  const data = source.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const record = data as Record<string, unknown>;
  const schema = typeof record.$schema === 'string' ? BATCH_SCHEMA.exec(record.$schema)?.[1] : undefined;
  const deployment =
    (schema !== undefined && schema !== 'batchEndpoint') ||
    BATCH_DEPLOYMENT_MARKERS.some((key) => Object.hasOwn(record, key)) ||
    record.type === 'model' ||
    record.type === 'pipeline' ||
    Object.hasOwn(record, 'settings');
  if (deployment) {
    const { value, warnings, errors } = validateBatchDeploymentSource(source);
    return { ...(value && { value: { kind: 'batch deployment' as const, spec: value } }), warnings, errors };
  }
  if (schema === 'batchEndpoint') {
    const { value, warnings, errors } = validateBatchEndpointSource(source);
    return { ...(value && { value: { kind: 'batch endpoint' as const, spec: value } }), warnings, errors };
  }
  return undefined;
}
