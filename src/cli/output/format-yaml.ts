import { isPlainObject, isPyInt, pyFloatRepr, pyLen, sortedKeys } from './py.js';

/**
 * `-o yaml`: knack's `yaml.safe_dump(result, default_flow_style=False, allow_unicode=True)`.
 *
 * This is a small port of the parts of PyYAML's SafeRepresenter, Resolver and Emitter that
 * JSON-like data reaches, so that quoting, line folding at 80 columns, indentless sequences
 * under mapping keys and the `...` after a bare root scalar all come out byte for byte as the
 * Azure CLI prints them. (The `yaml` npm package quotes by YAML 1.2 rules and folds
 * differently, e.g. it leaves `yes`, `on` and timestamps unquoted.)
 *
 * Not reproduced: anchors/aliases (`&id001`) that PyYAML writes when one Python object appears
 * twice in a result; the output here repeats the value instead.
 */
export function formatYaml(data: unknown): string {
  const emitter = new Emitter();
  emitter.emitDocument(represent(data));
  return emitter.output();
}

// ---------------------------------------------------------------------------------------------
// Representer + resolver: data -> nodes

type ScalarNode = { kind: 'scalar'; value: string; /** resolves back to its own tag unquoted */ plainOk: boolean };
type SeqNode = { kind: 'seq'; items: Node[] };
type MapNode = { kind: 'map'; pairs: [Node, Node][] };
type Node = ScalarNode | SeqNode | MapNode;

// PyYAML's implicit resolvers (YAML 1.1). A str whose text matches one of these must be quoted,
// or it would read back as a bool, number, null, timestamp, ...
const IMPLICIT_RESOLVERS: RegExp[] = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
  /^(?:!|&|\*)$/,
];

function represent(value: unknown): Node {
  if (value === null || value === undefined) return { kind: 'scalar', value: 'null', plainOk: true };
  if (value === true) return { kind: 'scalar', value: 'true', plainOk: true };
  if (value === false) return { kind: 'scalar', value: 'false', plainOk: true };
  if (typeof value === 'bigint') return { kind: 'scalar', value: value.toString(), plainOk: true };
  if (typeof value === 'number') return { kind: 'scalar', value: yamlNumber(value), plainOk: true };
  if (typeof value === 'string') {
    return { kind: 'scalar', value, plainOk: !IMPLICIT_RESOLVERS.some((re) => re.test(value)) };
  }
  if (Array.isArray(value)) return { kind: 'seq', items: value.map(represent) };
  if (isPlainObject(value)) {
    return { kind: 'map', pairs: sortedKeys(value).map((k) => [represent(k), represent(value[k])]) };
  }
  return represent(String(value));
}

/** SafeRepresenter.represent_int / represent_float. */
function yamlNumber(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  if (isPyInt(x)) return String(x);
  let text = pyFloatRepr(x).toLowerCase();
  // repr(1e17) is '1e+17', which YAML 1.1 would not read as a float: PyYAML adds '.0'.
  if (!text.includes('.') && text.includes('e')) text = text.replace('e', '.0e');
  return text;
}

// ---------------------------------------------------------------------------------------------
// Emitter

const BEST_INDENT = 2;
const BEST_WIDTH = 80;
const BREAKS = '\n\x85\u2028\u2029';
const SPACE_OR_BREAK = '\0 \t\r\n\x85\u2028\u2029';

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowFlowPlain: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

interface Context {
  root?: boolean;
  sequence?: boolean;
  mapping?: boolean;
  simpleKey?: boolean;
}

class Emitter {
  private chunks: string[] = [];
  private indents: (number | null)[] = [];
  private indent: number | null = null;
  private flowLevel = 0;
  private rootContext = false;
  private mappingContext = false;
  private simpleKeyContext = false;
  private column = 0;
  private whitespace = true;
  private indention = true;
  private openEnded = false;

  output(): string {
    return this.chunks.join('');
  }

  emitDocument(node: Node): void {
    // Implicit document start: no '---'.
    this.emitNode(node, { root: true });
    // DocumentEnd (implicit)
    this.writeIndent();
    // StreamEnd: a plain scalar at the root leaves the document open-ended.
    if (this.openEnded) {
      this.writeIndicator('...', true);
      this.writeIndent();
    }
  }

  private emitNode(node: Node, ctx: Context): void {
    this.rootContext = !!ctx.root;
    this.mappingContext = !!ctx.mapping;
    this.simpleKeyContext = !!ctx.simpleKey;
    if (node.kind === 'scalar') {
      this.increaseIndent(true);
      this.processScalar(node);
      this.indent = this.indents.pop()!;
    } else if (node.kind === 'seq') {
      if (this.flowLevel > 0 || node.items.length === 0) this.emitEmptyFlow('[', ']', node.items.length);
      else this.emitBlockSequence(node);
    } else {
      if (this.flowLevel > 0 || node.pairs.length === 0) this.emitEmptyFlow('{', '}', node.pairs.length);
      else this.emitBlockMapping(node);
    }
  }

  /** Flow style only ever applies to empty collections: default_flow_style=False. */
  private emitEmptyFlow(open: string, close: string, size: number): void {
    if (size !== 0) throw new Error('flow collections are only emitted empty');
    this.writeIndicator(open, true, true);
    this.flowLevel++;
    this.increaseIndent(true);
    this.indent = this.indents.pop()!;
    this.flowLevel--;
    this.writeIndicator(close, false);
  }

  private emitBlockSequence(node: SeqNode): void {
    const indentless = this.mappingContext && !this.indention;
    this.increaseIndent(false, indentless);
    for (const item of node.items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.emitNode(item, { sequence: true });
    }
    this.indent = this.indents.pop()!;
  }

  private emitBlockMapping(node: MapNode): void {
    this.increaseIndent(false);
    for (const [key, value] of node.pairs) {
      this.writeIndent();
      if (this.checkSimpleKey(key)) {
        this.emitNode(key, { mapping: true, simpleKey: true });
        this.writeIndicator(':', false);
        this.emitNode(value, { mapping: true });
      } else {
        this.writeIndicator('?', true, false, true);
        this.emitNode(key, { mapping: true });
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
        this.emitNode(value, { mapping: true });
      }
    }
    this.indent = this.indents.pop()!;
  }

  private checkSimpleKey(key: Node): boolean {
    if (key.kind !== 'scalar') return false; // JSON keys are always strings
    const analysis = analyzeScalar(key.value);
    // PyYAML counts the prepared tag too, even though it is never written: '!!str' for a key.
    return '!!str'.length + pyLen(key.value) < 128 && !analysis.empty && !analysis.multiline;
  }

  private increaseIndent(flow: boolean, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private processScalar(node: ScalarNode): void {
    const analysis = analyzeScalar(node.value);
    const split = !this.simpleKeyContext;
    const style = this.chooseScalarStyle(node, analysis);
    if (style === '"') this.writeDoubleQuoted(node.value, split);
    else if (style === "'") this.writeSingleQuoted(node.value, split);
    else this.writePlain(node.value, split);
  }

  private chooseScalarStyle(node: ScalarNode, a: Analysis): '' | "'" | '"' {
    if (node.plainOk) {
      const plainAllowed = this.flowLevel > 0 ? a.allowFlowPlain : a.allowBlockPlain;
      if (!(this.simpleKeyContext && (a.empty || a.multiline)) && plainAllowed) return '';
    }
    if (a.allowSingleQuoted && !(this.simpleKeyContext && a.multiline)) return "'";
    return '"';
  }

  // -- writers ---------------------------------------------------------------------------------

  private write(data: string): void {
    this.chunks.push(data);
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? indicator : ' ' + indicator;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.column += pyLen(data);
    this.openEnded = false;
    this.write(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.writeLineBreak();
    }
    if (this.column < indent) {
      this.whitespace = true;
      this.write(' '.repeat(indent - this.column));
      this.column = indent;
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.write(data);
  }

  private writeBreaks(text: string[], start: number, end: number): void {
    for (let i = start; i < end; i++) {
      if (text[i] === '\n') this.writeLineBreak();
      else this.writeLineBreak(text[i]);
    }
  }

  private writeText(text: string[], start: number, end: number): void {
    this.column += end - start;
    this.write(text.slice(start, end).join(''));
  }

  private writePlain(value: string, split: boolean): void {
    if (this.rootContext) this.openEnded = true;
    if (value === '') return;
    const text = Array.from(value);
    if (!this.whitespace) {
      this.column += 1;
      this.write(' ');
    }
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : undefined;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.writeText(text, start, end);
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (text[start] === '\n') this.writeLineBreak();
          this.writeBreaks(text, start, end);
          this.writeIndent();
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === undefined || ' \n\x85\u2028\u2029'.includes(ch)) {
        this.writeText(text, start, end);
        start = end;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
  }

  private writeSingleQuoted(value: string, split: boolean): void {
    this.writeIndicator("'", true);
    const text = Array.from(value);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : undefined;
      if (spaces) {
        if (ch === undefined || ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && split && start !== 0 && end !== text.length) {
            this.writeIndent();
          } else {
            this.writeText(text, start, end);
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (text[start] === '\n') this.writeLineBreak();
          this.writeBreaks(text, start, end);
          this.writeIndent();
          start = end;
        }
      } else if (ch === undefined || ' \n\x85\u2028\u2029'.includes(ch) || ch === "'") {
        if (start < end) {
          this.writeText(text, start, end);
          start = end;
        }
      }
      if (ch === "'") {
        this.column += 2;
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(value: string, split: boolean): void {
    this.writeIndicator('"', true);
    const text = Array.from(value);
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : undefined;
      if (ch === undefined || needsEscape(ch)) {
        if (start < end) {
          this.writeText(text, start, end);
          start = end;
        }
        if (ch !== undefined) {
          const data = escapeChar(ch);
          this.column += data.length;
          this.write(data);
          start = end + 1;
        }
      }
      if (
        end > 0 &&
        end < text.length - 1 &&
        (ch === ' ' || start >= end) &&
        this.column + (end - start) > BEST_WIDTH &&
        split
      ) {
        let data = text.slice(start, end).join('') + '\\';
        if (start < end) start = end;
        this.column += pyLen(data);
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (text[start] === ' ') {
          data = '\\';
          this.column += 1;
          this.write(data);
        }
      }
    }
    this.writeIndicator('"', false);
  }
}

function needsEscape(ch: string): boolean {
  if ('"\\\x85\u2028\u2029\uFEFF'.includes(ch)) return true;
  const cp = ch.codePointAt(0)!;
  // allow_unicode=True: printable BMP characters are written as they are.
  return !((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
}

const ESCAPE_REPLACEMENTS: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\x09': 't',
  '\x0A': 'n',
  '\x0B': 'v',
  '\x0C': 'f',
  '\x0D': 'r',
  '\x1B': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xA0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

function escapeChar(ch: string): string {
  const named = ESCAPE_REPLACEMENTS[ch];
  if (named !== undefined) return '\\' + named;
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

/** PyYAML's Emitter.analyze_scalar, reduced to the answers the style choice needs. */
function analyzeScalar(scalar: string): Analysis {
  if (scalar === '') {
    return { empty: true, multiline: false, allowFlowPlain: false, allowBlockPlain: true, allowSingleQuoted: true };
  }
  const text = Array.from(scalar);
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;

  if (scalar.startsWith('---') || scalar.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  let followedByWhitespace = text.length === 1 || SPACE_OR_BREAK.includes(text[1]!);
  let previousSpace = false;
  let previousBreak = false;

  for (let index = 0; index < text.length; index++) {
    const ch = text[index]!;
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if (ch === '?' || ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else {
      if (',?[]{}'.includes(ch)) flowIndicators = true;
      if (ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '#' && precededByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    }

    if (BREAKS.includes(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    if (!(ch === '\n' || (cp >= 0x20 && cp <= 0x7e))) {
      const unicodeOk =
        (cp === 0x85 ||
          (cp >= 0xa0 && cp <= 0xd7ff) ||
          (cp >= 0xe000 && cp <= 0xfffd) ||
          (cp >= 0x10000 && cp < 0x10ffff)) &&
        cp !== 0xfeff;
      // allow_unicode=True: only characters outside those ranges are special.
      if (!unicodeOk) specialCharacters = true;
    }

    if (ch === ' ') {
      if (index === 0) leadingSpace = true;
      if (index === text.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === text.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }

    precededByWhitespace = SPACE_OR_BREAK.includes(ch);
    followedByWhitespace = index + 2 >= text.length || SPACE_OR_BREAK.includes(text[index + 2]!);
  }

  let allowFlowPlain = true;
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    allowFlowPlain = allowBlockPlain = false;
  }
  if (breakSpace) allowFlowPlain = allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || specialCharacters) allowFlowPlain = allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowFlowPlain = allowBlockPlain = false;
  if (flowIndicators) allowFlowPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { empty: false, multiline: lineBreaks, allowFlowPlain, allowBlockPlain, allowSingleQuoted };
}
