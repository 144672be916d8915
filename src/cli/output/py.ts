/**
 * Small pieces of Python behaviour that the Azure CLI's output formatters (knack, PyYAML,
 * tabulate, the json module) lean on, reproduced for JSON-like JavaScript values.
 *
 * The one thing JavaScript cannot reproduce is the int/float split: a JS number carries no
 * "was this 1 or 1.0" bit. We print every integral number below 1e21 as a Python int and
 * everything else as a Python float (so `1.0` prints as `1`): the same split Python would make
 * reading the JSON that JSON.stringify writes for the value.
 */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Python's `sorted()` on str keys: compares Unicode code points (JS `<` compares UTF-16 units). */
export function comparePyStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++; // both are the same astral code point: skip its low surrogate
  }
  return a.length - b.length;
}

export function sortedKeys(obj: PlainObject): string[] {
  return Object.keys(obj).sort(comparePyStrings);
}

/** Length in code points, as Python's `len(str)`. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * `repr(float)` in Python 3: the shortest round-tripping digits (which JS also computes), written
 * in fixed notation when 1e-4 <= |x| < 1e16 and in scientific notation (`1e-05`, `1.5e+16`)
 * otherwise. Fixed notation always has a fractional part (`2.0`).
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const exp = Number(expText);
  const digits = mantissa!.replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac === '' ? '0' : frac}`;
}

/**
 * Whether a JS number is printed as a Python int (see the module comment): exactly when
 * JSON.stringify writes it without a fraction or exponent, i.e. when Python's json.loads would
 * read the JSON that JavaScript writes for it as an int.
 */
export function isPyInt(x: number): boolean {
  return Number.isInteger(x) && Math.abs(x) < 1e21;
}

/** `str(number)` in Python. */
export function pyNumberStr(x: number | bigint): string {
  if (typeof x === 'bigint') return x.toString();
  return isPyInt(x) ? String(x) : pyFloatRepr(x);
}

/** `str(value)` in Python for a JSON-like scalar; containers fall back to `repr`. */
export function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  return pyRepr(value);
}

/** `repr(value)` in Python for JSON-like data (dicts keep insertion order, as Python's do). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number' || typeof value === 'bigint') return pyNumberStr(value);
  if (typeof value === 'string') return pyStrRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value).map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return pyStrRepr(String(value));
}

// Python's str.isprintable() is false for these categories (the space character excepted).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** `repr(str)` in Python 3. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/**
 * Brings arbitrary command results to the JSON data model the Azure CLI works on: honours
 * `toJSON()` (dates become ISO strings), drops `undefined`/function/symbol members, turns them
 * into `null` inside arrays, and copies so later passes may rely on object identity.
 */
export function toJsonData(value: unknown): unknown {
  return normalize(value, '', new Set());
}

function normalize(value: unknown, key: string, seen: Set<object>): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (typeof value !== 'object') return undefined; // undefined, function, symbol
  if (seen.has(value)) throw new TypeError('Converting circular structure to JSON');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        const v = normalize(item, String(i), seen);
        return v === undefined ? null : v;
      });
    }
    const out: PlainObject = {};
    for (const [k, v] of Object.entries(value)) {
      const n = normalize(v, k, seen);
      if (n !== undefined) {
        // defineProperty: a key named "__proto__" must stay an ordinary key
        Object.defineProperty(out, k, { value: n, enumerable: true, writable: true, configurable: true });
      }
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
