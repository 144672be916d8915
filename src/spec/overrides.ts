import { parse as parseYamlValue } from 'yaml';
import { describeType, isRecord } from './plain-data.js';
import { formatPath } from './problem.js';
import type { PathSegment, RawProblem } from './problem.js';

export interface OverrideOptions {
  name?: string;
  endpointName?: string;
  set?: string[];
}

/** Key paths whose value came from a flag rather than the file, with the flag as the user wrote it. */
export type Origins = Map<string, { path: PathSegment[]; origin: string }>;

export interface AppliedOverrides {
  problems: RawProblem[];
  origins: Origins;
}

/**
 * Applies -n, -e (deployments only) and then each --set in order to `data` (mutated; the caller
 * owns it). Nothing is applied when the document is not a map: the schema step reports that.
 */
export function applyOverrides(data: unknown, o: OverrideOptions, kind: 'endpoint' | 'deployment'): AppliedOverrides {
  const problems: RawProblem[] = [];
  const origins: Origins = new Map();
  if (!isRecord(data)) return { problems, origins };
  const assign = (path: PathSegment[], value: unknown, origin: string): void => {
    const problem = setAtPath(data, path, value, origin);
    if (problem !== undefined) {
      problems.push(problem);
      return;
    }
    // A value set on a map replaces whatever earlier flags put inside it.
    for (const [key, entry] of origins) if (startsWith(entry.path, path)) origins.delete(key);
    origins.set(originKey(path), { path, origin });
  };
  if (o.name !== undefined) assign(['name'], o.name, '-n/--name');
  if (kind === 'deployment' && o.endpointName !== undefined) assign(['endpoint_name'], o.endpointName, '-e/--endpoint-name');
  for (const expression of o.set ?? []) {
    const parsed = parseSetExpression(expression);
    if ('message' in parsed) problems.push(parsed);
    else assign(parsed.path, parsed.value, `--set ${expression}`);
  }
  return { problems, origins };
}

/** The flag a value at `path` (or at one of its parents) came from, if any. */
export function originOf(origins: Origins, path: readonly PathSegment[]): string | undefined {
  for (let n = path.length; n >= 1; n--) {
    const found = origins.get(originKey(path.slice(0, n)));
    if (found !== undefined) return found.origin;
  }
  return undefined;
}

function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

function originKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}

const SEGMENT = /^([^[\]]+)((?:\[\d+\])*)$/;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `a.b[0].c=value` -> path and value; the value is read as JSON, then as a YAML number/boolean, else kept as text. */
export function parseSetExpression(expression: string): { path: PathSegment[]; value: unknown } | RawProblem {
  const malformed: RawProblem = {
    path: [],
    at: 'key',
    inFlag: true,
    message: `--set "${expression}" is not of the form key.path=value.`,
    hint: 'for example --set instance_count=2 or --set tags.team=ml',
  };
  const eq = expression.indexOf('=');
  if (eq <= 0) return malformed;
  const path: PathSegment[] = [];
  for (const part of expression.slice(0, eq).trim().split('.')) {
    const match = SEGMENT.exec(part);
    if (match === null || UNSAFE_KEYS.has(match[1])) return malformed;
    path.push(match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return { path, value: parseSetValue(expression.slice(eq + 1)) };
}

function parseSetValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: YAML scalars such as True or 1_000 still count as booleans and numbers.
  }
  try {
    const value: unknown = parseYamlValue(text);
    if (typeof value === 'number' || typeof value === 'boolean') return value;
  } catch {
    // Not a YAML scalar either: the text is the value.
  }
  return text;
}

function setAtPath(root: Record<string, unknown>, path: PathSegment[], value: unknown, origin: string): RawProblem | undefined {
  const cannotSet = (n: number, found: unknown): RawProblem => ({
    path: path.slice(0, n),
    at: 'value',
    inFlag: true,
    message:
      `Cannot set ${formatPath(path)}: ${formatPath(path.slice(0, n))} is ${describeType(found)}, ` +
      `not ${isRecord(found) ? 'a list' : 'a map'}.`,
    hint: `the value comes from ${origin}`,
  });
  let container: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    let next = readChild(container, path[i]);
    // --set environment.image=IMAGE (or model.path=...) on a registered reference (azureml:...)
    // swaps the reference for an inline asset, as the way out when it cannot run here.
    if (i === 0 && (path[0] === 'environment' || path[0] === 'model') && typeof next === 'string' && next.startsWith('azureml:')) next = undefined;
    if (next === undefined) {
      next = typeof path[i + 1] === 'number' ? [] : {};
      if (!writeChild(container, path[i], next)) return cannotSet(i, container);
    }
    if (!isRecord(next) && !Array.isArray(next)) return cannotSet(i + 1, next);
    container = next;
  }
  return writeChild(container, path[path.length - 1], value) ? undefined : cannotSet(path.length - 1, container);
}

function readChild(container: Record<string, unknown> | unknown[], segment: PathSegment): unknown {
  if (Array.isArray(container)) return typeof segment === 'number' ? container[segment] : undefined;
  return Object.hasOwn(container, segment) ? container[segment] : undefined;
}

function writeChild(container: Record<string, unknown> | unknown[], segment: PathSegment, value: unknown): boolean {
  if (Array.isArray(container) !== (typeof segment === 'number')) return false;
  (container as Record<PathSegment, unknown>)[segment] = value;
  return true;
}
