import type { ErrorObject } from 'ajv';
import { isRecord } from './plain-data.js';
import type { PathSegment, RawProblem } from './problem.js';
import { getValidator, loadSchema, schemaAt } from './schemas.js';
import type { JsonSchema, SchemaName } from './schemas.js';
import { suggestNearest } from './suggest.js';

/** The schema of the other kind (managed vs kubernetes), to explain keys only that kind accepts. */
export interface OtherKind {
  schema: SchemaName;
  /** e.g. "kubernetes deployments" */
  label: string;
  /** What to change to get the other kind, e.g. "set type: kubernetes". */
  switchHint: string;
}

/** Validates `data` against a schema and turns every ajv error into a problem a user can act on. */
export function checkSchema(name: SchemaName, data: unknown, other: OtherKind): RawProblem[] {
  const validate = getValidator(name);
  if (validate(data)) return [];
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
  // A value of the wrong type also fails its enum/pattern/limits; only the type error helps.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  return errors
    .filter((e) => e.keyword === 'type' || !wrongType.has(e.instancePath))
    .map((e) => toProblem(e, pointerToPath(e.instancePath, data), other));
}

function toProblem(e: ErrorObject, path: PathSegment[], other: OtherKind): RawProblem {
  const schema = (e.parentSchema ?? {}) as JsonSchema;
  const params = e.params as Record<string, unknown>;
  const hint = schema.description;
  switch (e.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return {
        path: [...path, missing],
        anchorPath: path,
        at: 'key',
        message: 'Missing required field.',
        hint: schema.properties?.[missing]?.description ?? (path.length > 0 ? schema.description : undefined),
      };
    }
    case 'additionalProperties':
      return unknownField(path, String(params.additionalProperty), schema, other);
    case 'type': {
      const expected = String(params.type).split(',');
      const message = `Must be ${expected.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}.`;
      return { path, at: 'value', message, hint: typeHint(expected, e.data) ?? hint };
    }
    case 'enum': {
      const shown = allowedValues(params.allowedValues as unknown[]);
      if (schemaAt(loadSchema(other.schema), path)?.enum?.includes(e.data)) {
        return {
          path,
          at: 'value',
          message: `${JSON.stringify(e.data)} is only available on ${other.label}.`,
          hint: `${other.switchHint}, or use ${shown.join(' or ')}`,
        };
      }
      const close = typeof e.data === 'string' ? suggestNearest(e.data, shown) : undefined;
      return {
        path,
        at: 'value',
        message: `Must be one of: ${shown.join(', ')}.`,
        hint: close !== undefined ? `did you mean "${close}"?` : hint,
      };
    }
    case 'pattern': {
      const prefix = /^\^([\w:/.-]+?)(\.\+)?$/.exec(String(params.pattern));
      const message = prefix ? `Must start with "${prefix[1]}".` : `Must match ${String(params.pattern)}.`;
      return { path, at: 'value', message, hint };
    }
    case 'minimum':
      return { path, at: 'value', message: `Must be at least ${String(params.limit)}.`, hint };
    case 'maximum':
      return { path, at: 'value', message: `Must be at most ${String(params.limit)}.`, hint };
    case 'minLength':
      return { path, at: 'value', message: 'Must not be empty.', hint };
    case 'maxProperties': {
      const limit = Number(params.limit);
      return { path, at: 'key', message: `Must have at most ${limit} ${limit === 1 ? 'entry' : 'entries'}.`, hint };
    }
    default:
      return { path, at: 'value', message: `${capitalise(e.message ?? 'is invalid')}.`, hint };
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
  null: 'empty',
};

/** What to write instead, for the mistakes YAML makes easy. */
function typeHint(expected: string[], data: unknown): string | undefined {
  if (expected.includes('string') && (typeof data === 'number' || typeof data === 'boolean')) return `quote it: "${String(data)}"`;
  // YAML 1.1 read yes/no/on/off as booleans; YAML 1.2 (and so oep) reads them as strings.
  if (expected.includes('boolean') && typeof data === 'string' && /^(yes|no|on|off|y|n)$/i.test(data)) {
    return `write true or false; "${data}" is a string in YAML 1.2`;
  }
  return undefined;
}

function unknownField(parent: PathSegment[], key: string, schema: JsonSchema, other: OtherKind): RawProblem {
  const path = [...parent, key];
  const otherSchema = schemaAt(loadSchema(other.schema), parent);
  if (otherSchema?.properties !== undefined && Object.hasOwn(otherSchema.properties, key)) {
    return { path, at: 'key', message: `Only available on ${other.label}.`, hint: `${other.switchHint}, or remove ${key}` };
  }
  const close = suggestNearest(key, Object.keys(schema.properties ?? {}));
  return { path, at: 'key', message: 'Unknown field.', hint: close === undefined ? undefined : `did you mean "${close}"?` };
}

/** Enum values worth showing: casing aliases (Key, AMLToken) load but are not advertised. */
function allowedValues(values: unknown[]): string[] {
  const shown = values.filter((v) => typeof v !== 'string' || v === v.toLowerCase()).map(String);
  return [...new Set(shown)];
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `/traffic/blue` -> ['traffic', 'blue']; segments inside lists become numbers. */
function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path.push(Number(segment));
      node = node[Number(segment)];
    } else {
      path.push(segment);
      node = isRecord(node) ? node[segment] : undefined;
    }
  }
  return path;
}
