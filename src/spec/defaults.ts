import { isRecord } from './plain-data.js';
import type { JsonSchema } from './schemas.js';

/**
 * Fills in every `default` the schema declares, in place, for keys that are absent. A defaulted
 * map gets its own defaults too (`request_settings: {}` -> all three settings). Defaults under
 * `then` apply when the sibling `if` holds; oep's schemas only use `if` with `const`, which is
 * all this evaluates. Values of the wrong type are left alone: the schema step reports them.
 */
export function applyDefaults(schema: JsonSchema, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applyDefaults(schema.items, item);
    return;
  }
  if (!isRecord(value)) return;
  const layers = schema.if !== undefined && schema.then !== undefined && holds(schema.if, value) ? [schema, schema.then] : [schema];
  for (const layer of layers) {
    for (const [key, sub] of Object.entries(layer.properties ?? {})) {
      if (value[key] === undefined && sub.default !== undefined) value[key] = structuredClone(sub.default);
    }
  }
  for (const [key, child] of Object.entries(value)) {
    const sub =
      schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub !== undefined) applyDefaults(sub, child);
  }
}

function holds(condition: JsonSchema, value: Record<string, unknown>): boolean {
  if (condition.required?.some((key) => value[key] === undefined)) return false;
  return Object.entries(condition.properties ?? {}).every(
    ([key, sub]) => value[key] === undefined || !('const' in sub) || value[key] === sub.const,
  );
}
