import { isPlainObject, isPyInt, pyFloatRepr, sortedKeys } from './py.js';

/**
 * `-o json`: knack's `json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True,
 * separators=(',', ': ')) + '\n'`.
 */
export function formatJson(data: unknown): string {
  return dump(data, '') + '\n';
}

function dump(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return jsonNumber(value);
  if (typeof value === 'bigint') return value.toString();
  // Python escapes exactly what JSON.stringify escapes when ensure_ascii=False:
  // '"', '\\' and the C0 controls (\n \r \t \b \f by name, the rest as lowercase \u00xx).
  if (typeof value === 'string') return JSON.stringify(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + dump(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (isPlainObject(value)) {
    const keys = sortedKeys(value);
    if (keys.length === 0) return '{}';
    const items = keys.map((k) => `${inner}${JSON.stringify(k)}: ${dump(value[k], inner)}`);
    return `{\n${items.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(String(value));
}

/** Python's json module writes floats with float.__repr__ and allows NaN/Infinity. */
function jsonNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return isPyInt(x) ? String(x) : pyFloatRepr(x);
}
