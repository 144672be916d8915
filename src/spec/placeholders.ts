import { isRecord } from './plain-data.js';
import type { RawProblem } from './problem.js';

/** What to do with a name that a script fills in later with -n / -e. */
export type PlaceholderMode = 'warn' | 'error';

/**
 * Names a script template leaves for a flag to fill in: `{{ENDPOINT_NAME}}` (which YAML reads as
 * a nested map), `<endpoint_name>`, `${ENDPOINT_NAME}`, `$ENDPOINT_NAME`, `%NAME%`.
 */
const PLACEHOLDER_TEXT = /^\s*(\{\{.*\}\}|<[^<>]+>|\$\{[^}]+\}|\$[A-Za-z_]\w*|%[A-Za-z_]\w*%)\s*$/;

export function isPlaceholder(value: unknown): boolean {
  if (typeof value === 'string') return PLACEHOLDER_TEXT.test(value);
  // `name: {{X}}` parses as {"{ X }": null}.
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return keys.length === 1 && /^\{ ?[^{}]+ ?\}$/.test(keys[0]!) && value[keys[0]!] === null;
  }
  return false;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (isRecord(value)) return `{{${Object.keys(value)[0]!.replace(/^\{ ?| ?\}$/g, '')}}}`;
  return 'missing';
}

/**
 * A name that is a template placeholder, or absent, where a flag can give it (-n for `name`, -e
 * for `endpoint_name`; flags are applied before this step, so what is left came from no flag).
 * `warn` (validate): a warning, and a stand-in name so the rest of the file is still checked.
 * `error` (create): an error saying which flag gives it.
 */
export function checkPlaceholderNames(
  data: Record<string, unknown>,
  keys: readonly { key: string; flag: string; standIn: string }[],
  mode: PlaceholderMode,
): { errors: RawProblem[]; warnings: RawProblem[] } {
  const errors: RawProblem[] = [];
  const warnings: RawProblem[] = [];
  for (const { key, flag, standIn } of keys) {
    const value = data[key];
    const absent = value === undefined || value === null;
    if (!absent && !isPlaceholder(value)) continue;
    const what = absent ? `${key} is not in the file` : `${shown(value)} is a template placeholder`;
    if (mode === 'warn') {
      warnings.push({ path: absent ? [] : [key], at: 'value', message: `${what}; give it with ${flag} when you create.` });
      data[key] = standIn;
    } else if (!absent) {
      // (An absent name is the schema's "required" error.) The stand-in keeps the schema from
      // reporting the placeholder a second time; with an error, no value leaves the pipeline.
      errors.push({ path: [key], at: 'value', message: `${what}.`, hint: `give the real name with ${flag} NAME` });
      data[key] = standIn;
    }
  }
  return { errors, warnings };
}
