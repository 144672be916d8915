import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import type { PathSegment } from './problem.js';

export type SchemaName =
  | 'endpoint.managed'
  | 'endpoint.kubernetes'
  | 'deployment.managed'
  | 'deployment.kubernetes'
  | 'model'
  | 'environment'
  | 'connection'
  | 'batch-endpoint'
  | 'batch-deployment'
  | 'batch-deployment.model'
  | 'data'
  | 'compute';

/** The part of JSON Schema draft-07 that oep's schemas use. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  default?: unknown;
  if?: JsonSchema;
  then?: JsonSchema;
  [keyword: string]: unknown;
}

const loaded = new Map<SchemaName, JsonSchema>();
const compiled = new Map<SchemaName, ValidateFunction>();
let ajv: Ajv | undefined;

/** The schema as stored in schemas/<name>.schema.json (read once). */
export function loadSchema(name: SchemaName): JsonSchema {
  let schema = loaded.get(name);
  if (schema === undefined) {
    schema = JSON.parse(readFileSync(join(schemasDir(), `${name}.schema.json`), 'utf8')) as JsonSchema;
    loaded.set(name, schema);
  }
  return schema;
}

/** The compiled validator, built on first use and reused after. */
export function getValidator(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (validate === undefined) {
    // verbose: errors carry parentSchema (for descriptions used as hints) and the failing data.
    ajv ??= new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    validate = ajv.compile(loadSchema(name));
    compiled.set(name, validate);
  }
  return validate;
}

/**
 * The subschema that applies at `path`, following properties, additionalProperties and items;
 * undefined where the schema says nothing (or forbids the key).
 */
export function schemaAt(schema: JsonSchema, path: readonly PathSegment[]): JsonSchema | undefined {
  let current: JsonSchema | undefined = schema;
  for (const segment of path) {
    if (current === undefined) return undefined;
    if (typeof segment === 'number') current = current.items;
    else if (current.properties !== undefined && Object.hasOwn(current.properties, segment)) current = current.properties[segment];
    else current = typeof current.additionalProperties === 'object' ? current.additionalProperties : undefined;
  }
  return current;
}

let foundDir: string | undefined;

// The schemas ship beside dist/ (package.json "files"), so look upwards from this module for them;
// that works from dist/src/spec as well as from any other build layout.
function schemasDir(): string {
  if (foundDir !== undefined) return foundDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(candidate, 'endpoint.managed.schema.json'))) return (foundDir = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`oep schemas not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
