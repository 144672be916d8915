/**
 * A compute's YAML and flags (`oep compute create -f/--size/--min-instances...`, as `az ml compute
 * create`): read -> parse with positions -> flags and --set -> case as Azure accepts it -> schema
 * (schemas/compute.schema.json) -> defaults -> rules. Problems are located as everywhere else
 * (FILE:LINE:COL key: message), or name the flag a value came from. Locally a compute means
 * nothing (every job runs on this machine); it is validated so a script's mistake shows here as
 * it would in Azure.
 */
import { applyDefaults } from './defaults.js';
import { applyOverrides } from './overrides.js';
import { assetSource, objectSource, type Source } from './pipeline.js';
import { placeProblems } from './placement.js';
import { describeType, isRecord } from './plain-data.js';
import type { RawProblem, SpecProblem, SpecResult } from './problem.js';
import { checkSchema } from './schema-errors.js';
import { loadSchema } from './schemas.js';

export type ComputeType = 'amlcompute' | 'computeinstance';
export type ComputeTier = 'dedicated' | 'low_priority';

/** A compute as oep records it: the settings `az ml compute show` prints. */
export interface ComputeSpec {
  name: string;
  type: ComputeType;
  size: string;
  description?: string;
  tags: Record<string, string>;
  /** The cluster's settings: amlcompute only. */
  min_instances?: number;
  max_instances?: number;
  idle_time_before_scale_down?: number;
  tier?: ComputeTier;
}

/** A value given by a flag of its own (--size, --min-instances...), shown as the flag in problems. */
export interface ComputeFlag {
  key: 'name' | 'type' | 'size' | 'min_instances' | 'max_instances' | 'idle_time_before_scale_down' | 'tier' | 'description' | 'location';
  value: string | number;
  /** The flag as the user wrote it, e.g. `--min-instances 6`. */
  label: string;
}

export interface LoadComputeOptions {
  file?: string;
  cwd?: string;
  flags: ComputeFlag[];
  set: string[];
}

/** The settings only a cluster has; a compute instance given one is a mistake. */
const CLUSTER_KEYS = ['min_instances', 'max_instances', 'idle_time_before_scale_down', 'tier'] as const;
/** Azure's name lengths by type (the service refuses others). */
const NAME_LENGTHS: Record<ComputeType, { min: number; max: number }> = {
  amlcompute: { min: 2, max: 16 },
  computeinstance: { min: 3, max: 24 },
};
/** The characters of a compute's name; its length depends on the type (NAME_LENGTHS). */
const COMPUTE_NAME = /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
/** Tier spellings Azure takes besides its own (the REST enum's), as azure-ai-ml maps them. */
const TIER_SPELLINGS: Record<string, ComputeTier> = { dedicated: 'dedicated', low_priority: 'low_priority', lowpriority: 'low_priority' };

/** `compute create`: the YAML (if any) with the flags, then --set, applied. */
export async function loadComputeSpec(o: LoadComputeOptions): Promise<SpecResult<ComputeSpec>> {
  const source = await assetSource({ file: o.file, cwd: o.cwd, set: [...o.flags.map(flagExpression), ...o.set] });
  return validateComputeSource(source, o.flags);
}

/** `compute update`: the stored compute with the flags and --set applied, validated again. */
export function validateComputeObject(stored: ComputeSpec, label: string, flags: ComputeFlag[], set: string[]): SpecResult<ComputeSpec> {
  return validateComputeSource(objectSource(structuredClone(stored), label, [...flags.map(flagExpression), ...set]), flags);
}

/** A flag as the --set expression that applies it: a number stays a number, text stays text. */
function flagExpression(flag: ComputeFlag): string {
  return `${flag.key}=${JSON.stringify(flag.value)}`;
}

function validateComputeSource(source: Source, flags: ComputeFlag[]): SpecResult<ComputeSpec> {
  if (source.errors.length > 0) return { warnings: source.warnings, errors: source.errors };
  const data: unknown = structuredClone(source.data ?? {});
  const { problems, origins } = applyOverrides(data, source.overrides, 'endpoint');
  nameFlagOrigins(origins, flags);
  const place = (raw: RawProblem[]): SpecProblem[] => placeProblems(raw, { file: source.file, locate: source.locate, origins });
  if (!isRecord(data)) {
    const message = data === null || data === undefined ? 'The file is empty.' : `Must be a map, not ${describeType(data)}.`;
    return { warnings: source.warnings, errors: place([{ path: [], at: 'value', message, hint: 'a compute YAML is a map: name, type, size, min_instances, max_instances' }]) };
  }
  normaliseCase(data);
  problems.push(...checkSchema('compute', data, { schema: 'compute', label: 'computes', switchHint: '' }));
  const schema = loadSchema('compute');
  applyDefaults(schema, data);
  // The first pass may have filled in type, which the amlcompute defaults (the schema's if) read.
  applyDefaults(schema, data);
  // The rules read values of the schema's types; a value of another type is already a problem.
  if (problems.length === 0) problems.push(...checkComputeRules(data));
  else problems.push(...checkComputeName(data));
  const errors = place(problems);
  if (errors.length > 0) return { warnings: source.warnings, errors };
  return { value: toComputeSpec(data), warnings: source.warnings, errors };
}

/** Problems from a flag name the flag (`--min-instances 6`), not the --set it was applied as. */
function nameFlagOrigins(origins: ReturnType<typeof applyOverrides>['origins'], flags: ComputeFlag[]): void {
  for (const entry of origins.values()) {
    const flag = flags.find((candidate) => entry.origin === `--set ${flagExpression(candidate)}`);
    if (flag) entry.origin = flag.label;
  }
}

/** Azure takes `type: AmlCompute`, `--type AMLCompute`, `tier: LowPriority`: one spelling each here. */
function normaliseCase(data: Record<string, unknown>): void {
  if (typeof data.type === 'string') data.type = data.type.toLowerCase();
  if (typeof data.tier === 'string') data.tier = TIER_SPELLINGS[data.tier.toLowerCase()] ?? data.tier;
}

/** The rules a schema cannot say: the name's length by type, min <= max, cluster-only keys. */
function checkComputeRules(data: Record<string, unknown>): RawProblem[] {
  const problems = checkComputeName(data);
  const type = data.type as ComputeType;
  if (type === 'amlcompute') {
    const min = data.min_instances as number;
    const max = data.max_instances as number;
    if (min > max) {
      problems.push({ path: ['min_instances'], at: 'value', message: `min_instances (${min}) is above max_instances (${max}).`, hint: 'the cluster scales between them: give min_instances <= max_instances' });
    }
  } else {
    for (const key of CLUSTER_KEYS) {
      if (data[key] !== undefined) problems.push({ path: [key], at: 'key', message: `${key} is a compute cluster's setting; a ${type} has none.`, hint: 'remove it, or use type: amlcompute' });
    }
  }
  return problems;
}

/**
 * Azure's compute names: letters, digits and '-', starting with a letter, ending with a letter or
 * digit, 2 to 16 characters for a cluster, 3 to 24 for an instance (what the service accepts).
 * Checked here rather than by the schema so the message says all of it.
 */
function checkComputeName(data: Record<string, unknown>): RawProblem[] {
  const name = data.name;
  if (typeof name !== 'string') return [];
  const type: ComputeType = data.type === 'computeinstance' ? 'computeinstance' : 'amlcompute';
  const lengths = NAME_LENGTHS[type];
  const fits = COMPUTE_NAME.test(name) && name.length >= lengths.min && name.length <= lengths.max;
  if (fits) return [];
  return [
    {
      path: ['name'],
      at: 'value',
      message: `"${name}" cannot name a compute of type ${type}.`,
      hint: `letters, digits and '-', starting with a letter and ending with a letter or digit, ${lengths.min} to ${lengths.max} characters`,
    },
  ];
}

/** Validated data -> the record: what Azure keeps (identity, ssh and network settings are not kept). */
function toComputeSpec(data: Record<string, unknown>): ComputeSpec {
  const spec: ComputeSpec = {
    name: data.name as string,
    type: data.type as ComputeType,
    size: data.size as string,
    ...(typeof data.description === 'string' && { description: data.description }),
    tags: { ...(data.tags as Record<string, string>) },
  };
  if (spec.type === 'amlcompute') {
    spec.min_instances = data.min_instances as number;
    spec.max_instances = data.max_instances as number;
    spec.idle_time_before_scale_down = data.idle_time_before_scale_down as number;
    spec.tier = data.tier as ComputeTier;
  }
  return spec;
}
