import { deploymentKey } from '../model/deployment-key.js';

/**
 * The values the daemon injected into replicas' environments (secret injection), so that what the
 * runtimes write about a replica (the storage-initializer log: src/runtimes/prepared-log.ts)
 * shows the reference as written instead of the value, whatever the variable is called. Daemon
 * memory only; the values are in the replicas' environment anyway.
 */
const injected = new Map<string, Map<string, string>>();

/** The values of one deployment's configuration (value -> the reference as written); replaces the last. */
export function rememberInjected(endpoint: string, deployment: string, entries: { value: string; reference: string }[]): void {
  const values = new Map<string, string>();
  for (const { value, reference } of entries) if (value !== '') values.set(value, reference);
  injected.set(deploymentKey(endpoint, deployment), values);
}

export function forgetInjected(endpoint: string, deployment: string): void {
  injected.delete(deploymentKey(endpoint, deployment));
}

/** The reference whose value this is, when it is an injected value. */
export function injectedReference(value: string): string | undefined {
  if (value === '') return undefined;
  for (const values of injected.values()) {
    const reference = values.get(value);
    if (reference !== undefined) return reference;
  }
  return undefined;
}

/** Every injected value, longest first (to mask them inside other text). */
export function injectedValues(): string[] {
  const all = new Set<string>();
  for (const values of injected.values()) for (const value of values.keys()) all.add(value);
  return [...all].sort((a, b) => b.length - a.length);
}
