/** What the router's unit tests share: waiting on a condition, and replica records the test owns. */
import type { LiveReplica } from '../../src/router/router.js';

/** Polls a condition: waits for an event, with a deadline far beyond what a loaded machine needs. */
export async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A replica record the test owns (as the reconciler does): it may take it out of rotation. */
export type OwnedReplica = { -readonly [K in keyof LiveReplica]: LiveReplica[K] };

export function replicaAt(origin: string, id = 'blue/0'): OwnedReplica {
  return { id, origin, scoringPath: '/score', ready: true };
}
