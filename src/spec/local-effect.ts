/**
 * Settings Azure honours that cannot take effect on this machine. oep accepts them (the YAML stays
 * valid for Azure) and says so with one warning line each, at validate and at create, instead of
 * ignoring them silently. Keep this list in step with docs/behaviour.md ("Settings with no local
 * effect").
 */
import { isRecord } from './plain-data.js';
import type { PathSegment, RawProblem } from './problem.js';

export interface NoLocalEffect {
  kind: 'endpoint' | 'deployment';
  /** Key path; `*` matches every key of a map (e.g. each collection of data_collector). */
  path: readonly string[];
  /** Whether the value as written asks for something oep cannot do (default: any value). */
  applies?: (value: unknown) => boolean;
  message: string;
}

export const NO_LOCAL_EFFECT: readonly NoLocalEffect[] = [
  {
    kind: 'endpoint',
    path: ['public_network_access'],
    applies: (value) => value === 'disabled',
    // Honoured rather than ignored: every endpoint here is local-only, so this line says how far.
    message: 'Local callers only, as for every endpoint here: the scoring URI listens on 127.0.0.1, so only this machine reaches it (there is no private endpoint to set up).',
  },
  {
    kind: 'deployment',
    path: ['app_insights_enabled'],
    applies: (value) => value === true,
    message: 'No local effect: nothing is sent to Application Insights; oep deployment get-logs and the daemon\'s metrics show what runs.',
  },
  {
    kind: 'deployment',
    path: ['egress_public_network_access'],
    applies: (value) => value === 'disabled',
    message: 'Enforced on the docker runtime only (an internal network without outbound access); the process runtime cannot block outbound traffic.',
  },
  {
    kind: 'deployment',
    path: ['data_collector', 'collections', '*', 'data'],
    message: 'No local effect: collected data goes to the deployment\'s folder under OEP_HOME/data-collector (see oep deployment show), not to a data asset.',
  },
  {
    kind: 'deployment',
    path: ['resources'],
    message: 'No local effect: replicas are not limited to these CPU, memory and GPU amounts.',
  },
];

/** One warning per setting in `data` (as written, before defaults) that has no local effect. */
export function noLocalEffectWarnings(kind: 'endpoint' | 'deployment', data: Record<string, unknown>): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const rule of NO_LOCAL_EFFECT) {
    if (rule.kind !== kind) continue;
    for (const [path, value] of matches(data, rule.path)) {
      if (rule.applies && !rule.applies(value)) continue;
      problems.push({ path, at: 'key', message: rule.message });
    }
  }
  return problems;
}

function matches(node: unknown, pattern: readonly string[], prefix: PathSegment[] = []): [PathSegment[], unknown][] {
  if (pattern.length === 0) return [[prefix, node]];
  if (!isRecord(node)) return [];
  const [head, ...rest] = pattern;
  const keys = head === '*' ? Object.keys(node) : Object.hasOwn(node, head!) ? [head!] : [];
  return keys.flatMap((key) => matches(node[key], rest, [...prefix, key]));
}
