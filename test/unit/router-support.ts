/**
 * What the router's unit tests share: waiting on a condition, replica records the test owns, and
 * deployment blue's data_collector settings.
 */
import { join } from 'node:path';
import type { PayloadLogging } from '../../src/model/data-collection.js';
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

/**
 * data_collector on deployment blue of `endpoint`, both collections, every request, hourly files
 * under <dir>/<endpoint>/blue (as the daemon hands it to the router); `change` replaces fields.
 */
export function payloadLogging(dir: string, endpoint: string, change: Partial<PayloadLogging> = {}): PayloadLogging {
  return {
    dir: join(dir, endpoint, 'blue'),
    source: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/${endpoint}/deployments/blue`,
    request: true,
    response: true,
    samplingRate: 1,
    rollingRate: 'hour',
    captureHeaders: [],
    tellScript: false,
    ...change,
  };
}
