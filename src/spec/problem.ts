import { OepError } from '../errors.js';

/** One thing wrong (or worth a warning) in a spec, pointing at the place to fix it. */
export interface SpecProblem {
  file: string;
  /** 1-based; 0 when the value has no place in a file (it came from a flag or a stored spec). */
  line: number;
  col: number;
  /** Dotted key path, e.g. `request_settings.request_timeout_ms`; empty for the whole document. */
  path: string;
  message: string;
  hint?: string;
}

export interface SpecResult<T> {
  /** Set exactly when `errors` is empty. */
  value?: T;
  warnings: SpecProblem[];
  errors: SpecProblem[];
}

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** `['resources', 'limits', 'nvidia.com/gpu']` -> `resources.limits["nvidia.com/gpu"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * `FILE:LINE:COL key.path: message`, then `\n  hint: ...` when there is a hint. Without a
 * position (line 0) the location is just FILE; without a path the key part is left out.
 */
export function formatProblem(p: SpecProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  const head = p.path === '' ? `${where}: ${p.message}` : `${where} ${p.path}: ${p.message}`;
  return p.hint === undefined ? head : `${head}\n  hint: ${p.hint}`;
}

/** The value, or an OEP_ERR_SPEC_INVALID error listing every problem. */
export function unwrapSpec<T>(r: SpecResult<T>): T {
  if (r.errors.length === 0 && r.value !== undefined) return r.value;
  if (r.errors.length === 0) {
    throw new OepError('OEP_ERR_INTERNAL', 'spec validation produced neither a value nor an error');
  }
  const n = r.errors.length;
  throw new OepError('OEP_ERR_SPEC_INVALID', `${r.errors[0].file}: ${n} ${n === 1 ? 'problem' : 'problems'} found`, {
    details: r.errors.map(formatProblem),
  });
}

/**
 * A problem before it is placed in a file: steps of the pipeline produce these, and the last step
 * turns them into SpecProblems with a line and column (see placement.ts).
 */
export interface RawProblem {
  path: PathSegment[];
  message: string;
  hint?: string;
  /** Which part of the node to point at: its key (whole-map problems) or its value. */
  at: 'key' | 'value';
  /** Where to point when that differs from `path` (a missing key points at its parent map). */
  anchorPath?: PathSegment[];
  /** The problem is in a flag, not in the file: it gets no line and column. */
  inFlag?: boolean;
}
