import type { DaemonCaller } from '../daemon/client.js';
import type { ProgressEvent } from '../model/progress.js';
import { formatProblem, unwrapSpec, type SpecResult } from '../spec/index.js';

/** What a use case needs: the daemon, the directory relative paths resolve against, progress. */
export interface EngineDeps {
  client: DaemonCaller;
  cwd: string;
  onEvent?: (event: ProgressEvent) => void;
  /** Called once the request is about to go to the daemon, which then finishes it on its own. */
  onSubmit?: (subject: { endpoint: string; deployment?: string }) => void;
}

/**
 * The validated spec, after saying each of its warnings (settings with no local effect,
 * deprecated keys) on the progress stream: create and update warn as validate does.
 */
export function specOrThrow<T>(result: SpecResult<T>, deps: Pick<EngineDeps, 'onEvent'>): T {
  const value = unwrapSpec(result);
  for (const warning of result.warnings) deps.onEvent?.({ phase: 'warning', message: formatProblem(warning) });
  return value;
}
