import { isPlainObject, pyStr, sortedKeys, type PlainObject } from './py.js';

/**
 * `-o tsv`, as knack's `_TsvOutput` (knack/output.py):
 * - a list prints one row per item, anything else is a single row;
 * - a row that is a dict prints its values in sorted key order, except a dict the query built
 *   (an OrderedDict in knack), which keeps the query's order; a row that is a list prints its
 *   items in order; values are joined by tabs;
 * - inside a row, a nested list prints its length, a nested dict prints nothing, anything else
 *   prints as Python's `str()`: `True`/`False`, `None` for null, floats as `repr`;
 * - a row that is a bare bool prints `true`/`false` (knack lower-cases it), a bare null `None`,
 *   a bare string as is: `--query scoring_uri -o tsv` prints the URI alone.
 * Every row ends with "\n". An empty list prints nothing at all.
 */
export function formatTsv(data: unknown, keepsOrder: (obj: PlainObject) => boolean): string {
  const rows = Array.isArray(data) ? data : [data];
  return rows.map((row) => dumpRow(row, keepsOrder) + '\n').join('');
}

function dumpRow(row: unknown, keepsOrder: (obj: PlainObject) => boolean): string {
  if (Array.isArray(row)) return row.map(dumpCell).join('\t');
  if (isPlainObject(row)) {
    const keys = keepsOrder(row) ? Object.keys(row) : sortedKeys(row);
    return keys.map((k) => dumpCell(row[k])).join('\t');
  }
  if (typeof row === 'boolean') return row ? 'true' : 'false';
  return dumpCell(row);
}

function dumpCell(value: unknown): string {
  if (Array.isArray(value)) return String(value.length);
  if (isPlainObject(value)) return '';
  return pyStr(value);
}
