import type { SerializedError } from '../errors.js';
import type { ProgressEvent } from '../model/progress.js';

/**
 * The control API: `POST /rpc` on the daemon's unix socket with `{method, params}`; the answer
 * is a stream of JSON lines, each one of these frames, ending with `result` or `error`.
 */
export type Frame =
  | { event: ProgressEvent }
  /** The work is recorded and goes on in the daemon: a caller that passed --no-wait may go. */
  | { accepted: unknown }
  | { log: string }
  | { result: unknown }
  | { error: SerializedError };

/** On the wire: any JSON; the server dispatches `method` to its handler (see api.ts for the table). */
export interface RpcRequest {
  method: string;
  params?: Record<string, unknown>;
}

export const RPC_PATH = '/rpc';
