import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { PathSegment } from './problem.js';

export interface Position {
  line: number;
  col: number;
}

/** Where a problem points: the key of a `key: value` pair, or its value. */
export type Anchor = 'key' | 'value';

/** Finds where a key path sits in the source; undefined when there is no source to point into. */
export type Locate = (path: readonly PathSegment[], anchor: Anchor) => Position | undefined;

export interface SyntaxProblem extends Position {
  message: string;
}

export interface ParsedYaml {
  data: unknown;
  locate: Locate;
  errors: SyntaxProblem[];
  warnings: SyntaxProblem[];
}

/** Parses one YAML document, keeping what is needed to point problems at lines and columns. */
export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // logLevel error: the library's own warnings (e.g. a map used as a key, as in `name: {{NAME}}`) must not reach stderr.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: 'error' });
  const at = (offset: number): Position => lineCounter.linePos(offset);
  const toProblem = (e: { message: string; pos: [number, number] }): SyntaxProblem => ({ ...at(e.pos[0]), message: e.message });
  const errors = doc.errors.map(toProblem);
  let data: unknown;
  try {
    if (errors.length === 0) data = doc.toJS();
  } catch (error) {
    // toJS refuses documents that expand aliases without bound ("billion laughs").
    errors.push({ line: 1, col: 1, message: (error as Error).message });
  }
  return {
    data,
    locate: (path, anchor) => locateIn(doc, at, path, anchor),
    errors,
    warnings: doc.warnings.map(toProblem),
  };
}

function locateIn(doc: Document, at: (offset: number) => Position, path: readonly PathSegment[], anchor: Anchor): Position {
  const start = (node: unknown): Position | undefined => {
    const range = (node as Node | null | undefined)?.range;
    // An empty value (`tags:` with nothing after it) has an empty range; point at its key instead.
    return range && range[1] > range[0] ? at(range[0]) : undefined;
  };
  let node: unknown = doc.contents;
  let best = start(node) ?? { line: 1, col: 1 };
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let key: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) return best;
      key = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      key = undefined;
      node = node.items[segment];
    } else {
      return best;
    }
    best = start(key) ?? start(node) ?? best;
  }
  return anchor === 'value' ? (start(node) ?? best) : best;
}
