/**
 * The spec pipeline: read -> parse with positions -> apply -n/-e/--set -> schema -> defaults ->
 * cross-field rules -> local paths -> place problems -> normalise. Every step returns problems;
 * none throws halfway, so one run reports everything wrong at once.
 */
import { dirname, resolve } from 'node:path';
import { OepError } from '../errors.js';
import { applyDefaults } from './defaults.js';
import { toDeploymentSpec, toEndpointSpec } from './normalise.js';
import { noLocalEffectWarnings } from './local-effect.js';
import { applyOverrides } from './overrides.js';
import type { OverrideOptions } from './overrides.js';
import { resolveLocalPaths } from './paths.js';
import type { PathBase } from './paths.js';
import { checkPlaceholderNames, type PlaceholderMode } from './placeholders.js';
import { placeProblems } from './placement.js';
import { describeType, isRecord } from './plain-data.js';
import type { RawProblem, SpecProblem, SpecResult } from './problem.js';
import { checkDeploymentRules, checkEndpointRules, checkEnvironmentShape } from './rules.js';
import { checkSchema } from './schema-errors.js';
import { loadSchema } from './schemas.js';
import type { DeploymentSpec, DeploymentType, EndpointKind, EndpointSpec, EnvironmentAssetSpec, ModelAssetSpec } from './types.js';
import { InputFileError, readInputText } from './input-file.js';
import { MAX_YAML_BYTES, parseYaml, yamlTooComplex } from './yaml-source.js';
import type { Locate } from './yaml-source.js';

export interface LoadSpecOptions {
  /** Path as the user typed it; messages show it as given. */
  file: string;
  /** Default process.cwd(); a relative `file` resolves against it. */
  cwd?: string;
  /** -n/--name: overrides `name`. */
  name?: string;
  /** -e/--endpoint-name: overrides `endpoint_name` (deployments only). */
  endpointName?: string;
  /** --set key.path=value, applied in order after -n and -e. */
  set?: string[];
  /** A template placeholder (or no name) where -n/-e could give it: an error (create, default) or a warning (validate). */
  placeholders?: PlaceholderMode;
}

export type AnySpec = { kind: 'endpoint'; spec: EndpointSpec } | { kind: 'deployment'; spec: DeploymentSpec };

/** Keys only a deployment has; `oep validate -f` uses them to tell the two kinds apart. */
const DEPLOYMENT_MARKERS = ['endpoint_name', 'model', 'code_configuration', 'environment', 'instance_type'];

/** A YAML (or flags) about to be validated: its data, where it came from, the overrides to apply. */
export interface Source {
  data: unknown;
  file: string;
  locate?: Locate;
  base: PathBase;
  overrides: OverrideOptions;
  /** Warn about deprecated keys: only where a user wrote them, not in stored specs that carry defaults. */
  warnDeprecated: boolean;
  placeholders: PlaceholderMode;
  /** Problems found before validation: YAML syntax errors and warnings. */
  errors: SpecProblem[];
  warnings: SpecProblem[];
}

export async function loadEndpointSpec(o: LoadSpecOptions): Promise<SpecResult<EndpointSpec>> {
  return validateEndpointSource(await readSource(o));
}

export async function loadDeploymentSpec(o: LoadSpecOptions): Promise<SpecResult<DeploymentSpec>> {
  return validateDeploymentSource(await readSource(o));
}

/** Decides the kind from the file (deployment when it has a deployment-only key), then validates. */
export async function loadAnySpec(o: LoadSpecOptions): Promise<SpecResult<AnySpec>> {
  const source = await readSource(o);
  const isDeployment = isRecord(source.data) && DEPLOYMENT_MARKERS.some((key) => Object.hasOwn(source.data as object, key));
  if (isDeployment) {
    const { value, warnings, errors } = validateDeploymentSource(source);
    return { ...(value && { value: { kind: 'deployment' as const, spec: value } }), warnings, errors };
  }
  const { value, warnings, errors } = validateEndpointSource(source);
  return { ...(value && { value: { kind: 'endpoint' as const, spec: value } }), warnings, errors };
}

/**
 * Validates an already-merged object, such as a stored spec being updated with --set. Problems
 * name `sourceLabel` and have no position; relative paths resolve against the current directory.
 */
export function validateEndpointObject(obj: unknown, sourceLabel: string, set?: string[]): SpecResult<EndpointSpec> {
  return validateEndpointSource(objectSource(obj, sourceLabel, set));
}

export function validateDeploymentObject(obj: unknown, sourceLabel: string, set?: string[]): SpecResult<DeploymentSpec> {
  return validateDeploymentSource(objectSource(obj, sourceLabel, set));
}

/** A source for an object that has no file (a stored record, the command line): paths from the current directory, `--set` applied. */
export function objectSource(obj: unknown, sourceLabel: string, set: string[] | undefined): Source {
  return {
    data: obj,
    file: sourceLabel,
    base: { dir: process.cwd(), description: 'the current directory' },
    overrides: { set },
    warnDeprecated: false,
    placeholders: 'error',
    errors: [],
    warnings: [],
  };
}

export { MAX_YAML_BYTES } from './yaml-source.js';

/** Reads and parses a YAML the user named (the batch specs, src/spec/batch.ts, read theirs through it too). */
export async function readSource(o: LoadSpecOptions): Promise<Source> {
  const absolute = resolve(o.cwd ?? process.cwd(), o.file);
  let text: string;
  try {
    // Opened without blocking and checked on the descriptor: a FIFO, /dev/zero or /dev/urandom is
    // refused before a byte is read, and nothing past the cap is ever read.
    text = await readInputText(absolute, MAX_YAML_BYTES);
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    if (error.problem === 'too-large') {
      throw new OepError('OEP_ERR_SPEC_INVALID', `${o.file} ${error.reason}; oep reads YAML files up to ${MAX_YAML_BYTES / 1024 / 1024} MB.`, {
        hint: 'Give the endpoint or deployment YAML itself (a few KB); large data belongs in the model or code folder it names.',
      });
    }
    const message =
      error.problem === 'missing'
        ? `File not found: ${o.file}`
        : error.problem === 'directory'
          ? `${o.file} is a directory; pass a YAML file`
          : error.problem === 'special'
            ? `${o.file} ${error.reason}; oep reads YAML from regular files only`
            : `${o.file} ${error.reason}`;
    const hint = error.problem === 'special' ? `looked at ${absolute}; write the YAML to a file first (e.g. > deployment.yml) and pass that` : `looked for ${absolute}`;
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', message, { hint, cause: error });
  }
  const tooComplex = yamlTooComplex(text);
  if (tooComplex !== undefined) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `${o.file} ${tooComplex}`, {
      hint: 'Give the endpoint or deployment YAML itself (a few hundred lines); large data belongs in the model or code folder it names.',
    });
  }
  const parsed = parseYaml(text);
  const asProblem = (p: { line: number; col: number; message: string }): SpecProblem => ({
    file: o.file,
    line: p.line,
    col: p.col,
    path: '',
    message: `YAML syntax: ${p.message.replace(/\.?$/, '.')}`,
  });
  return {
    data: parsed.data,
    file: o.file,
    locate: parsed.locate,
    base: { dir: dirname(absolute), description: `the directory of ${o.file}` },
    overrides: { name: o.name, endpointName: o.endpointName, set: o.set },
    warnDeprecated: true,
    placeholders: o.placeholders ?? 'error',
    errors: parsed.errors.map(asProblem),
    warnings: parsed.warnings.map(asProblem),
  };
}

function validateEndpointSource(source: Source): SpecResult<EndpointSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data);
  const { problems, origins } = applyOverrides(data, source.overrides, 'endpoint');
  const place = (raw: RawProblem[]): SpecProblem[] => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) return notAMap(data, 'endpoint', source, place);
  const named = checkPlaceholderNames(data, [{ key: 'name', flag: '-n/--name', standIn: 'name-given-with-n' }], source.placeholders);
  problems.push(...named.errors);
  // Before defaults: only settings the user wrote.
  const noLocalEffect = source.warnDeprecated ? noLocalEffectWarnings('endpoint', data) : [];

  const kind: EndpointKind = data.compute !== undefined ? 'kubernetes' : 'managed';
  const other =
    kind === 'managed'
      ? { schema: 'endpoint.kubernetes' as const, label: 'kubernetes endpoints', switchHint: 'add compute: azureml:<compute-name>' }
      : { schema: 'endpoint.managed' as const, label: 'managed endpoints', switchHint: 'remove compute to make this a managed endpoint' };
  problems.push(...checkSchema(`endpoint.${kind}`, data, other));
  applyDefaults(loadSchema(`endpoint.${kind}`), data);
  problems.push(...checkEndpointRules(data));

  const errors = place(problems);
  const warnings = [...source.warnings, ...place(named.warnings), ...place(noLocalEffect)];
  return errors.length > 0 ? { warnings, errors } : { value: toEndpointSpec(data, kind), warnings, errors };
}

function validateDeploymentSource(source: Source): SpecResult<DeploymentSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data);
  const { problems, origins } = applyOverrides(data, source.overrides, 'deployment');
  const place = (raw: RawProblem[]): SpecProblem[] => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) return notAMap(data, 'deployment', source, place);
  const named = checkPlaceholderNames(
    data,
    [
      { key: 'name', flag: '-n/--name', standIn: 'name-given-with-n' },
      { key: 'endpoint_name', flag: '-e/--endpoint-name', standIn: 'endpoint-given-with-e' },
    ],
    source.placeholders,
  );
  problems.push(...named.errors);

  const type: DeploymentType = data.type === 'kubernetes' ? 'kubernetes' : 'managed';
  const other =
    type === 'managed'
      ? { schema: 'deployment.kubernetes' as const, label: 'kubernetes deployments', switchHint: 'set type: kubernetes' }
      : { schema: 'deployment.managed' as const, label: 'managed deployments', switchHint: 'remove type: kubernetes' };
  const warnings = [...source.warnings, ...place(named.warnings), ...(source.warnDeprecated ? place([...deprecations(data), ...noLocalEffectWarnings('deployment', data)]) : [])];
  problems.push(...checkSchema(`deployment.${type}`, data, other));
  applyDefaults(loadSchema(`deployment.${type}`), data);
  problems.push(...checkDeploymentRules(data, type));
  problems.push(...resolveLocalPaths(data, source.base));

  const errors = place(problems);
  return errors.length > 0 ? { warnings, errors } : { value: toDeploymentSpec(data, type), warnings, errors };
}

function deprecations(data: Record<string, unknown>): RawProblem[] {
  const settings = data.request_settings;
  if (!isRecord(settings) || settings.max_queue_wait_ms === undefined) return [];
  return [
    {
      path: ['request_settings', 'max_queue_wait_ms'],
      at: 'key',
      message: 'Deprecated: Azure ML no longer uses max_queue_wait_ms.',
      hint: 'remove it; request_timeout_ms bounds the whole request',
    },
  ];
}

function notAMap<T>(
  data: unknown,
  kind: 'endpoint' | 'deployment',
  source: Source,
  place: (raw: RawProblem[]) => SpecProblem[],
): SpecResult<T> {
  const problem: RawProblem = {
    path: [],
    at: 'value',
    message:
      data === null || data === undefined
        ? `The ${source.locate === undefined ? 'spec' : 'file'} is empty.`
        : `Must be a map, not ${describeType(data)}.`,
    hint:
      kind === 'endpoint'
        ? 'an endpoint YAML is a map of keys, at least name: <endpoint-name>'
        : 'a deployment YAML is a map of keys, at least name, endpoint_name and what to run',
  };
  return { warnings: source.warnings, errors: place([problem]) };
}

export interface LoadAssetOptions {
  file?: string;
  cwd?: string;
  /** --name / --version / --path... given on the command line: they override the file, or make one. */
  fields?: Record<string, string | undefined>;
  set?: string[];
}

/**
 * A model or environment asset (`oep model create`, `oep environment create`): from a YAML file
 * and/or flags, through the asset's schema, with its local paths made absolute and checked.
 */
export async function loadModelAsset(o: LoadAssetOptions): Promise<SpecResult<ModelAssetSpec>> {
  return validateAsset('model', await assetSource(o)) as SpecResult<ModelAssetSpec>;
}

export async function loadEnvironmentAsset(o: LoadAssetOptions): Promise<SpecResult<EnvironmentAssetSpec>> {
  return validateAsset('environment', await assetSource(o)) as SpecResult<EnvironmentAssetSpec>;
}

/** An asset's source: its YAML file with the flags as --set expressions, or the flags alone (src/spec/connection.ts uses it too). */
export async function assetSource(o: LoadAssetOptions): Promise<Source> {
  const fields = Object.entries(o.fields ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined);
  // Flags are --set expressions with the flag's name, so a bad value names the flag.
  const set = [...fields.map(([key, value]) => `${key}=${JSON.stringify(value)}`), ...(o.set ?? [])];
  if (o.file !== undefined) {
    return readSource({ file: o.file, cwd: o.cwd, set });
  }
  const cwd = o.cwd ?? process.cwd();
  return { ...objectSource({}, 'the command line', set), base: { dir: cwd, description: 'the current directory' } };
}

function validateAsset(kind: 'model' | 'environment', source: Source): SpecResult<ModelAssetSpec | EnvironmentAssetSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data ?? {});
  const { problems, origins } = applyOverrides(data, source.overrides, 'endpoint');
  const place = (raw: RawProblem[]): SpecProblem[] => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) return { warnings: source.warnings, errors: place([{ path: [], at: 'value', message: `Must be a map, not ${describeType(data)}.` }]) };
  if (typeof data.version === 'number') data.version = String(data.version);
  problems.push(...checkSchema(kind, data, { schema: kind, label: `${kind}s`, switchHint: '' }));
  applyDefaults(loadSchema(kind), data);
  if (kind === 'environment') {
    problems.push(...checkEnvironmentShape(data, []));
    // The deployment's path rules apply to an environment asset as to an inline one.
    problems.push(...resolveLocalPaths({ environment: data }, source.base).map((p) => ({ ...p, path: p.path.slice(1) })));
  } else {
    problems.push(...resolveLocalPaths({ model: data }, source.base).map((p) => ({ ...p, path: p.path.slice(1) })));
  }
  const errors = place(problems);
  return errors.length > 0 ? { warnings: source.warnings, errors } : { value: data as unknown as ModelAssetSpec, warnings: source.warnings, errors };
}
