import { OepError } from '../../errors.js';
import { isPlainObject, toJsonData } from './py.js';

// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { createRequire } = process.getBuiltinModule('node:module');

type JmesPath = typeof import('jmespath');
let jmespath: JmesPath | undefined;

/**
 * jmespath.js, loaded on the first --query: most commands run without one, and importing the
 * package (58 KB of CommonJS, which an ESM import first scans for its exports) was a sixth of
 * `oep endpoint list`'s start-up. require() keeps applyQuery synchronous.
 */
function loadJmesPath(): JmesPath {
  jmespath ??= createRequire(import.meta.url)('jmespath') as JmesPath;
  return jmespath;
}

export const QUERY_HINT = 'See https://jmespath.org/ for the query syntax, e.g. --query scoring_uri.';

/**
 * Runs a JMESPath expression over command output, as `--query` does. `undefined` means "no
 * --query" and returns the data unchanged. An empty expression is an error, as in the Azure CLI
 * (jmespath refuses to compile it).
 */
export function applyQuery(data: unknown, expression: string | undefined): unknown {
  return runQuery(toJsonData(data), expression).result;
}

export interface QueryRun {
  result: unknown;
  /** Whether a query ran (knack's `is_query_active`, which changes table and tsv output). */
  active: boolean;
  /**
   * Objects that the query built itself (multi-select hashes `{a: x, b: y}`). knack runs queries
   * with `Options(dict_cls=OrderedDict)`, so in Python exactly these come back as OrderedDicts,
   * whose keys tsv prints in query order instead of sorted. Objects that the query passed
   * through are the input's own dicts and stay sorted.
   */
  builtByQuery(obj: object): boolean;
}

export function runQuery(data: unknown, expression: string | undefined): QueryRun {
  if (expression === undefined) {
    return { result: data, active: false, builtByQuery: () => false };
  }
  const inputObjects = new WeakSet<object>();
  collectObjects(data, inputObjects);
  let result: unknown;
  try {
    // jmespath.js only walks JSON-like data, which is what renderOutput hands it.
    result = loadJmesPath().search(data as never, expression);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new OepError('OEP_ERR_QUERY_INVALID', `invalid JMESPath query ${JSON.stringify(expression)}: ${detail}`, {
      hint: QUERY_HINT,
      cause: err,
    });
  }
  return {
    result: result === undefined ? null : result,
    active: true,
    builtByQuery: (obj) => !inputObjects.has(obj),
  };
}

function collectObjects(value: unknown, into: WeakSet<object>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectObjects(item, into);
  } else if (isPlainObject(value)) {
    if (into.has(value)) return;
    into.add(value);
    for (const v of Object.values(value)) collectObjects(v, into);
  }
}
