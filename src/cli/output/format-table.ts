import { isPlainObject, pyLen, pyStr, sortedKeys } from './py.js';

/**
 * `-o table`, as knack's `_TableOutput` (knack/output.py) feeding
 * `tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True)`.
 *
 * knack turns each item of the result (a dict result is a one-item list) into a row:
 * - a dict keeps only its scalar, non-null entries, skipping the keys `id`, `type` and `etag`;
 *   each header is the key with its first character upper-cased (`provisioning_state` ->
 *   `Provisioning_state`). Keys are sorted unless a query ran or a transformer picked the
 *   columns, in which case they keep their order;
 * - a list becomes the columns `Column1`, `Column2`, ... (`--query "[].[name, location]"`);
 * - anything else becomes a `Result` column.
 * tabulate then takes the union of the rows' headers in order of first appearance, pads every
 * column to max(widest cell, header + 2), left-aligns everything (numbers too, as numparse is
 * off), separates columns with two spaces, underlines the header with dashes and strips each
 * line's trailing whitespace. Missing and null cells are empty.
 *
 * Not reproduced: tabulate's ANSI-escape-aware and East-Asian-wide-character widths (widths here
 * are counted in code points, as tabulate does without the optional wcwidth package).
 */
export function formatTable(data: unknown, options: { sortKeys: boolean }): string {
  const items = Array.isArray(data) ? data : [data];
  // knack: `tabulate(...) if table_data else ''`, then always appends a newline.
  if (items.length === 0) return '\n';
  return tabulateSimple(items.map((item) => autoTableItem(item, options.sortKeys))) + '\n';
}

/** The rows a table transformer made of `columns`: the chosen keys, in the order given. */
export function pickColumns(data: unknown, columns: readonly string[]): unknown {
  const pick = (item: unknown): unknown => {
    if (!isPlainObject(item)) return item;
    const row: Record<string, unknown> = {};
    for (const column of columns) {
      const value = Object.prototype.hasOwnProperty.call(item, column) ? item[column] : null;
      Object.defineProperty(row, column, { value, enumerable: true, writable: true, configurable: true });
    }
    return row;
  };
  return Array.isArray(data) ? data.map(pick) : pick(data);
}

const SKIP_KEYS = new Set(['id', 'type', 'etag']);

function autoTableItem(item: unknown, sortKeys: boolean): Map<string, unknown> {
  const entry = new Map<string, unknown>();
  if (isPlainObject(item)) {
    const keys = sortKeys ? sortedKeys(item) : Object.keys(item);
    for (const key of keys) {
      if (SKIP_KEYS.has(key)) continue;
      const value = item[key];
      if (value === null || value === undefined || typeof value === 'object') continue;
      entry.set(capitalizeFirstChar(key), value);
    }
  } else if (Array.isArray(item)) {
    item.forEach((value, i) => entry.set(`Column${i + 1}`, value));
  } else {
    entry.set('Result', item);
  }
  return entry;
}

/** knack's `_capitalize_first_char`: `x[0].upper() + x[1:]`. */
function capitalizeFirstChar(key: string): string {
  if (key === '') return key;
  const first = String.fromCodePoint(key.codePointAt(0)!);
  return first.toUpperCase() + key.slice(first.length);
}

const MIN_PADDING = 2;
const COLUMN_SEPARATOR = '  ';

function tabulateSimple(rows: Map<string, unknown>[]): string {
  const headers: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key of row.keys()) {
      if (!seen.has(key)) {
        seen.add(key);
        headers.push(key);
      }
    }
  }
  // No headers means no columns and no rows: tabulate prints an empty table as "".
  if (headers.length === 0) return '';

  const cells = rows.map((row) => headers.map((h) => formatCell(row.get(h))));
  const multiline = [...headers, ...cells.flat()].some((s) => /[\r\n]/.test(s));
  const width = multiline ? (s: string) => Math.max(...s.split(/[\r\n]/).map(pyLen)) : pyLen;

  const columns = headers.map((header, c) => {
    const strings = cells.map((row) => pyStrip(row[c]!));
    const colWidth = Math.max(width(header) + MIN_PADDING, ...strings.map(width));
    const padded = strings.map((s) =>
      multiline ? pySplitlines(s).map((line) => padRight(line, colWidth)).join('\n') : padRight(s, colWidth),
    );
    const paddedHeader = multiline
      ? header.split(/[\r\n]/).map((line) => padRight(line, colWidth)).join('\n')
      : padRight(header, colWidth);
    return { width: colWidth, header: paddedHeader, cells: padded };
  });

  const widths = columns.map((col) => col.width);
  const lines: string[] = [];
  const appendRow = (rowCells: string[]): void => {
    if (!multiline) {
      lines.push(pyRstrip(rowCells.join(COLUMN_SEPARATOR)));
      return;
    }
    // tabulate's _append_multiline_row: one output line per line of the tallest cell,
    // shorter cells filled with blank lines of their column's width.
    const cellLines = rowCells.map((cell) => pySplitlines(cell));
    const height = Math.max(...cellLines.map((l) => l.length));
    for (let i = 0; i < height; i++) {
      lines.push(pyRstrip(cellLines.map((l, c) => l[i] ?? ' '.repeat(widths[c]!)).join(COLUMN_SEPARATOR)));
    }
  };

  appendRow(columns.map((col) => col.header));
  lines.push(pyRstrip(widths.map((w) => '-'.repeat(w)).join(COLUMN_SEPARATOR)));
  for (let r = 0; r < rows.length; r++) appendRow(columns.map((col) => col.cells[r]!));
  return lines.join('\n');
}

/** tabulate's `_format` with numparse off: None -> missingval "", everything else `str()`. */
function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return pyStr(value);
}

function padRight(s: string, width: number): string {
  const len = pyLen(s);
  return len >= width ? s : s + ' '.repeat(width - len);
}

// Python's str.isspace() characters, which str.strip()/rstrip() remove.
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`);

function pyStrip(s: string): string {
  return s.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, '');
}

function pyRstrip(s: string): string {
  return s.replace(TRAILING_SPACE, '');
}

/** Python's str.splitlines(): no trailing empty line, and its own set of line boundaries. */
function pySplitlines(s: string): string[] {
  if (s === '') return [];
  const parts = s.split(/\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}
