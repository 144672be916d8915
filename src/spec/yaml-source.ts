import { Lexer, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, Pair, YAMLMap } from 'yaml';
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

/** Endpoint, deployment and asset YAMLs are a few KB; past this, a file is refused before it is parsed. */
export const MAX_YAML_BYTES = 10 * 1024 * 1024;

/**
 * Past this many tokens a file is refused before it is parsed: the yaml library takes about 10 µs
 * per token to parse, so this bounds validation to a few seconds whatever the file holds under the
 * 10 MB cap (an endpoint or deployment YAML has a few hundred tokens; 1,000 environment variables
 * about 6,000).
 */
export const MAX_YAML_TOKENS = 200_000;

/**
 * Why a YAML text is too large to parse (more tokens than MAX_YAML_TOKENS), or undefined. Counts
 * the lexer's tokens and stops at the limit, so the count itself is bounded too.
 */
export function yamlTooComplex(text: string, maxTokens = MAX_YAML_TOKENS): string | undefined {
  let tokens = 0;
  for (const _token of new Lexer().lex(text)) {
    tokens += 1;
    if (tokens > maxTokens) return `has more than ${maxTokens.toLocaleString('en-US')} YAML tokens; oep validates YAML files of up to ${maxTokens.toLocaleString('en-US')} (an endpoint or deployment YAML has a few hundred).`;
  }
  return undefined;
}

/** Parses one YAML document, keeping what is needed to point problems at lines and columns. */
export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // logLevel error: the library's own warnings (e.g. a map used as a key, as in `name: {{NAME}}`) must not reach stderr.
  // uniqueKeys false: the library compares each key with every earlier one (quadratic: 100,000 keys
  // took minutes); duplicateKeys does the same check in linear time, with the library's message.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: 'error', uniqueKeys: false });
  const at = (offset: number): Position => lineCounter.linePos(offset);
  const toProblem = (e: { message: string; pos: [number, number] }): SyntaxProblem => ({ ...at(e.pos[0]), message: e.message });
  const duplicates = duplicateKeys(doc);
  const found = duplicates.length === 0 ? doc.errors : [...doc.errors, ...duplicates].sort((a, b) => a.pos[0] - b.pos[0]);
  const errors = found.map(toProblem);
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

/** The library's message for a repeated key (YAML 1.2: the keys of a mapping are unique). */
export const DUPLICATE_KEY_MESSAGE = 'Map keys must be unique';

/**
 * Repeated keys in every mapping of the document, as the yaml library reports them (at the
 * repeated key; scalar keys compared by value, other keys by identity), found with one set per
 * mapping instead of a scan of the earlier keys for each key. Walks with a stack: no recursion.
 */
export function duplicateKeys(doc: Document): { message: string; pos: [number, number] }[] {
  const found: { message: string; pos: [number, number] }[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key: unknown = pair.key;
        if (isScalar(key)) {
          const value = key.value;
          // NaN is never === itself: the library never calls two .nan keys the same.
          if (!(typeof value === 'number' && Number.isNaN(value))) {
            if (seen.has(value)) {
              const offset = key.range?.[0] ?? 0;
              found.push({ message: DUPLICATE_KEY_MESSAGE, pos: [offset, offset + 1] });
            } else seen.add(value);
          }
        }
        stack.push(pair.value, key);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    } else if (isPair(node)) {
      stack.push(node.value, node.key);
    }
  }
  return found.sort((a, b) => a.pos[0] - b.pos[0]);
}

/**
 * A mapping's pairs by the text of their scalar keys (the first pair of a repeated key), made once
 * per mapping: a file with tens of thousands of problems is located in linear time, not by a scan
 * of the mapping for each problem.
 */
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairIndex(map: YAMLMap): Map<string, Pair> {
  let index = pairIndexes.get(map);
  if (index === undefined) {
    index = new Map();
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const text = String(pair.key.value);
      if (!index.has(text)) index.set(text, pair as Pair);
    }
    pairIndexes.set(map, index);
  }
  return index;
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
      const pair = pairIndex(node).get(String(segment));
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
