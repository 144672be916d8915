import { originOf } from './overrides.js';
import type { Origins } from './overrides.js';
import { formatPath, formatProblem } from './problem.js';
import type { RawProblem, SpecProblem } from './problem.js';
import type { Locate } from './yaml-source.js';

export interface Placement {
  file: string;
  /** Absent when validating an object that has no source file. */
  locate?: Locate;
  origins: Origins;
}

/**
 * Gives each problem its line and column. A value that came from -n, -e or --set has no place in
 * the file, so it gets none (line 0) and a hint naming the flag. The result is in file order,
 * flag problems last, with duplicates removed.
 */
export function placeProblems(raw: readonly RawProblem[], where: Placement): SpecProblem[] {
  const placed = raw.map((p): SpecProblem => {
    const origin = p.inFlag ? undefined : originOf(where.origins, p.path);
    const hints = [origin === undefined ? undefined : `the value comes from ${origin}`, p.hint].filter((h) => h !== undefined);
    const position =
      p.inFlag || origin !== undefined ? undefined : where.locate?.(p.anchorPath ?? p.path, p.at);
    return {
      file: where.file,
      line: position?.line ?? 0,
      col: position?.col ?? 0,
      path: formatPath(p.path),
      message: p.message,
      ...(hints.length > 0 ? { hint: hints.join('; ') } : {}),
    };
  });
  const seen = new Set<string>();
  const unique = placed.filter((p) => {
    const key = formatProblem(p);
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const order = (p: SpecProblem): number => (p.line === 0 ? Number.MAX_SAFE_INTEGER : p.line);
  return unique.sort((a, b) => order(a) - order(b) || a.col - b.col);
}
