import { OepError } from '../errors.js';

/** Where a deployment's replicas run: local processes or Docker containers. */
export type RuntimeKind = 'process' | 'docker';

/**
 * What `--runtime` and the `runtime` setting accept: a runtime, or `auto` (docker when an engine
 * answers, else process). The one list: the flag's choices, the setting's values and the checks
 * on the engine's and the daemon's side all read it.
 */
export const RUNTIME_CHOICES = Object.freeze(['auto', 'docker', 'process'] as const);

export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

export function isRuntimeChoice(value: unknown): value is RuntimeChoice {
  return RUNTIME_CHOICES.some((choice) => choice === value);
}

/**
 * Checks a requested runtime (absent means the default: `auto`). The CLI checks before it reads
 * the YAML, and the daemon checks again what reaches its API from anywhere else.
 */
export function parseRuntimeChoice(value: unknown): RuntimeChoice {
  if (value === undefined || value === null) return 'auto';
  if (isRuntimeChoice(value)) return value;
  throw new OepError('OEP_ERR_USAGE', `--runtime must be one of ${RUNTIME_CHOICES.join(', ')}, not "${String(value)}".`);
}
