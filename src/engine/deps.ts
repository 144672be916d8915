import type { DaemonClient } from '../daemon/client.js';
import type { ProgressEvent } from '../model/progress.js';

/** What a use case needs: the daemon, the directory relative paths resolve against, progress. */
export interface EngineDeps {
  client: DaemonClient;
  cwd: string;
  onEvent?: (event: ProgressEvent) => void;
  /** Called once the request is about to go to the daemon, which then finishes it on its own. */
  onSubmit?: (subject: { endpoint: string; deployment?: string }) => void;
}
