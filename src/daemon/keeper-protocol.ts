/**
 * What the keeper (src/daemon/keeper.ts) and the daemon it runs say to each other over Node's IPC
 * channel. The keeper holds every endpoint's listening socket, so a connection made while the
 * daemon restarts waits in the socket's queue instead of being refused. The running daemon gets a
 * copy of each listening socket with `listening` and accepts on it itself; only the idle
 * connections a draining daemon hands back travel one by one (`connection`, the socket's
 * descriptor with the message).
 */

/** The daemon asks, the keeper does. */
export type DaemonToKeeper =
  /** Listen on 127.0.0.1:port (or keep listening: a port held from before the restart is reused). */
  | { kind: 'listen'; port: number }
  /** The endpoint is gone: close its port. */
  | { kind: 'unlisten'; port: number }
  /** Every port the daemon wants is open and its control socket answers: pass it connections now. */
  | { kind: 'ready' }
  /** `oep daemon restart`: hand over to a new daemon (from `entry` when given: an upgrade). */
  | { kind: 'restart'; entry?: string }
  /** `oep daemon stop`: the daemon stops its replicas and exits; the keeper then closes its ports and exits too. */
  | { kind: 'stopping' }
  /** An idle client connection handed back while draining; the next daemon gets it. */
  | { kind: 'connection'; port: number };

/** The keeper tells, the daemon acts. */
export type KeeperToDaemon =
  /**
   * The port is open: the listening socket comes with the message (the daemon listens and accepts
   * on it). A keeper of an older install sends none and passes each connection instead.
   */
  | { kind: 'listening'; port: number }
  | { kind: 'listen-failed'; port: number; code: string }
  /** A client connection to the endpoint on `port` (the socket comes with the message): one handed back by the daemon before. */
  | { kind: 'connection'; port: number }
  /** Stop accepting, finish what is in flight, hand back idle connections, leave the replicas running, exit 0. */
  | { kind: 'drain' }
  /** A standby daemon (loaded, waiting) becomes the daemon now. */
  | { kind: 'go'; info: KeeperInfo };

/** What `oep daemon status` shows of the keeper, passed to each daemon it starts (OEP_KEEPER_INFO). */
export interface KeeperInfo {
  pid: number;
  /** Daemons started after a crash since the keeper started. */
  restarts: number;
  /** How the daemon before this one ended, e.g. "killed by SIGKILL", "exit code 1", "restart". */
  last_exit?: string;
  last_exit_at?: string;
}

/** The keeper's own record (OEP_HOME/keeper.json): read by `daemon status` when no daemon answers. */
export interface KeeperRecord {
  pid: number;
  state: 'running' | 'gave-up' | 'stopped';
  restarts: number;
  /** When it gave up: how many crashes in how long, and the last one. */
  crashes?: number;
  window_s?: number;
  last_exit?: string;
  at: string;
}

export function isDaemonMessage(value: unknown): value is DaemonToKeeper {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

export function isKeeperMessage(value: unknown): value is KeeperToDaemon {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}
