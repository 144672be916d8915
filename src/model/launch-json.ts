/**
 * Adds a debug configuration to VS Code's launch.json text, or replaces the one of the same name,
 * and leaves every other byte alone: launch.json is JSON with comments (and trailing commas) in
 * practice, so it is edited as text at the offsets of a small parse, never parsed and re-printed.
 */
export class LaunchJsonError extends Error {}

interface Node {
  start: number;
  end: number;
  kind: 'object' | 'array' | 'string' | 'literal';
  /** object: its properties in order; array: its items. */
  properties?: { key: string; keyStart: number; value: Node }[];
  items?: Node[];
  /** string: its value. */
  value?: string;
  /** object/array: the offset of the closing bracket. */
  close?: number;
}

/** A named configuration (VS Code finds it by `name`). */
export interface NamedConfiguration {
  name: string;
}

export function mergeLaunchConfiguration(text: string | undefined, configuration: NamedConfiguration): string {
  if (text === undefined || text.trim() === '') {
    return `${JSON.stringify({ version: '0.2.0', configurations: [configuration] }, null, 2)}\n`;
  }
  const root = new Parser(text).document();
  if (root.kind !== 'object') throw new LaunchJsonError('it does not hold a JSON object');
  const configurations = root.properties!.find((property) => property.key === 'configurations');
  if (!configurations) {
    // A new last property, indented as the others (or by two spaces).
    const indent = root.properties!.length > 0 ? lineIndent(text, root.properties![0]!.keyStart) : '  ';
    const rendered = `"configurations": [\n${indent}  ${render(configuration, `${indent}  `)}\n${indent}]`;
    return insertAfterLast(text, root, root.properties!.map((property) => property.value), `${indent}${rendered}`);
  }
  const list = configurations.value;
  if (list.kind !== 'array') throw new LaunchJsonError('its "configurations" is not a list');
  const same = list.items!.find((item) => item.kind === 'object' && item.properties!.some((property) => property.key === 'name' && property.value.value === configuration.name));
  if (same) {
    return text.slice(0, same.start) + render(configuration, lineIndent(text, same.start)) + text.slice(same.end);
  }
  const indent = list.items!.length > 0 ? lineIndent(text, list.items![0]!.start) : `${lineIndent(text, configurations.keyStart)}  `;
  return insertAfterLast(text, list, list.items!, `${indent}${render(configuration, indent)}`);
}

/** JSON.stringify with two-space steps, its lines after the first indented by `indent`. */
function render(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);
}

/** Inserts `rendered` (already indented) as the last member of an object or array. */
function insertAfterLast(text: string, container: Node, members: Node[], rendered: string): string {
  const last = members.at(-1);
  if (!last) {
    const closeIndent = lineIndent(text, container.close!);
    const opening = container.start + 1;
    const inner = text.slice(opening, container.close!);
    // Keep comments that sit inside an empty container; drop only its blank space.
    const kept = inner.trim() === '' ? '' : `${inner.replace(/\s+$/, '')}`;
    return `${text.slice(0, opening)}${kept}\n${rendered}\n${closeIndent}${text.slice(container.close!)}`;
  }
  // After the last member's trailing comma if it has one (JSONC allows it), else after a new comma.
  const after = skipBlank(text, last.end);
  if (text[after] === ',') return `${text.slice(0, after + 1)}\n${rendered}${text.slice(after + 1)}`;
  return `${text.slice(0, last.end)},\n${rendered}${text.slice(last.end)}`;
}

/** The whitespace that starts the line holding `offset`. */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** The offset of the next character that is neither white space nor inside a comment. */
function skipBlank(text: string, from: number): number {
  let at = from;
  for (;;) {
    while (at < text.length && /\s/.test(text[at]!)) at++;
    if (text.startsWith('//', at)) {
      const end = text.indexOf('\n', at);
      at = end < 0 ? text.length : end + 1;
    } else if (text.startsWith('/*', at)) {
      const end = text.indexOf('*/', at + 2);
      if (end < 0) throw new LaunchJsonError('a /* comment is never closed');
      at = end + 2;
    } else {
      return at;
    }
  }
}

class Parser {
  private at = 0;

  constructor(private readonly text: string) {
    // A byte order mark is not part of the JSON.
    if (text.charCodeAt(0) === 0xfeff) this.at = 1;
  }

  document(): Node {
    const node = this.value();
    this.at = skipBlank(this.text, this.at);
    if (this.at < this.text.length) this.fail('unexpected text after the end');
    return node;
  }

  private value(): Node {
    this.at = skipBlank(this.text, this.at);
    const char = this.text[this.at];
    if (char === '{') return this.object();
    if (char === '[') return this.array();
    if (char === '"') return this.string();
    const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.at));
    if (!literal) this.fail(char === undefined ? 'it ends too early' : `unexpected "${char}"`);
    const start = this.at;
    this.at += literal![0].length;
    return { start, end: this.at, kind: 'literal' };
  }

  private object(): Node {
    const start = this.at++;
    const properties: NonNullable<Node['properties']> = [];
    for (;;) {
      this.at = skipBlank(this.text, this.at);
      if (this.text[this.at] === '}') break;
      if (this.text[this.at] !== '"') this.fail('expected a property name');
      const keyStart = this.at;
      const key = this.string().value!;
      this.at = skipBlank(this.text, this.at);
      if (this.text[this.at] !== ':') this.fail(`expected ":" after "${key}"`);
      this.at++;
      properties.push({ key, keyStart, value: this.value() });
      this.at = skipBlank(this.text, this.at);
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== '}') this.fail('expected "," or "}"');
    }
    const close = this.at++;
    return { start, end: this.at, kind: 'object', properties, close };
  }

  private array(): Node {
    const start = this.at++;
    const items: Node[] = [];
    for (;;) {
      this.at = skipBlank(this.text, this.at);
      if (this.text[this.at] === ']') break;
      items.push(this.value());
      this.at = skipBlank(this.text, this.at);
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== ']') this.fail('expected "," or "]"');
    }
    const close = this.at++;
    return { start, end: this.at, kind: 'array', items, close };
  }

  private string(): Node {
    const start = this.at;
    const match = /^"(?:[^"\\\n]|\\.)*"/.exec(this.text.slice(this.at));
    if (!match) this.fail('a string is never closed');
    this.at += match![0].length;
    let value: string;
    try {
      value = JSON.parse(match![0]) as string;
    } catch {
      this.fail('a string has a bad escape');
    }
    return { start, end: this.at, kind: 'string', value: value! };
  }

  private fail(reason: string): never {
    const line = this.text.slice(0, this.at).split('\n').length;
    throw new LaunchJsonError(`${reason} (line ${line})`);
  }
}
