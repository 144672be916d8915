import { readdirSync, readFileSync } from 'node:fs';
import { parseOpenFilesLimit } from '../model/descriptors.js';

/**
 * How many client connections the router keeps open at once, across all its endpoints, and what
 * it lets go when a new one comes at the cap.
 *
 * Every connection costs the daemon a file descriptor, and so does everything else it does: the
 * replica connections behind each request, the control socket, probes, replica starts, logs. Once
 * the process is out of descriptors, all of them fail at once (issue: 20,000 idle connections to
 * one port failed every keyed request, killed both healthy replicas through their failed probes
 * and failed their restarts with EMFILE). So client connections get a budget derived from the
 * descriptor limit, with a reserve kept for the rest:
 *
 * - `reserve` = max(128, limit / 8) descriptors are never used for client connections;
 * - of the rest, half may be client connections (`total`), the other half is for the replica
 *   connections those clients' requests need (one each while a request is in flight, kept alive
 *   after) and the mirror's copies;
 * - one endpoint, or one peer address, may hold at most 3/4 of `total` while another holds any.
 *
 * Every peer is 127.0.0.1 in practice, so the per-peer cap cannot tell an attacker from the user:
 * what keeps a new request answered is shedding. At a cap, the router closes the connection that
 * costs least to lose, oldest first: an idle keep-alive connection (or one that never sent a
 * byte), then one Node's http server holds between requests, then a request head still
 * incomplete. A connection with a request in flight, or an answer being written, is never shed.
 * Only when nothing can be shed is the new connection refused (503, see front.ts).
 *
 * A new connection gets a chance to show its request before it may be shed: a full turn of the
 * event loop after the one that accepted it, and SEASON_MS. Node accepts every pending connection
 * before it reads any, so under a flood of reconnecting idle connections a client's request,
 * already sent, would otherwise be shed unread. Meanwhile the router may go past `total`, up to
 * `ceiling` (1.5 x total, past which the oldest goes whatever its age), and sheds back as
 * connections season.
 */

/** What the budget needs of a connection. */
export interface Tracked {
  readonly endpoint: string;
  readonly peer: string;
  /** Closes the connection at once (it was shed). */
  shed(): void;
  /** For a connection handed to Node's http server: whether it is between requests. */
  idleInNode?: () => boolean;
}

export interface ConnectionLimits {
  /** Client connections at most, across endpoints (once every connection had its turn, see above). */
  total: number;
  /** Never more than this, even for connections that have not had their turn (default 1.5 x total). */
  ceiling?: number;
  /** The share of `total` one endpoint or one peer address may hold while others hold any (default 3/4). */
  share?: number;
  /** A new connection is not shed for this long, below the ceiling (default SEASON_MS). */
  seasonMs?: number;
}

export interface BudgetNumbers {
  /** The descriptor limit the budget came from (soft RLIMIT_NOFILE), when known. */
  limit?: number;
  reserve?: number;
  total: number;
  ceiling?: number;
}

/** The daemon's budget for a descriptor limit (see the file comment). */
export function budgetFor(limit: number): BudgetNumbers {
  const reserve = Math.max(128, Math.floor(limit / 8));
  const total = Math.max(16, Math.floor((limit - reserve) / 2));
  return { limit, reserve, total, ceiling: Math.floor(total * 1.5) };
}

/** This process's open-files limit (soft and hard) from /proc/self/limits; undefined where /proc is missing. */
export function ownOpenFilesLimit(): { soft: number | undefined; hard: number | undefined } {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return { soft: undefined, hard: undefined };
  }
}

/** Descriptors this process has open now (/proc/self/fd), or undefined. */
export function openDescriptors(): number | undefined {
  try {
    // The listing holds one of its own while it reads.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** The budget of this process: from its soft limit, or 1024 (the usual default) where it cannot be read. */
export function ownBudget(): BudgetNumbers {
  return budgetFor(ownOpenFilesLimit().soft ?? 1024);
}

type State = 'idle' | 'node' | 'head' | 'busy';

interface Entry {
  state: State;
  /** The budget's turn count when it came (see `turn`), and the time. */
  turn: number;
  at: number;
}

/** A new connection is not shed for this long (unless at the ceiling): see the file comment. */
const SEASON_MS = 100;

export interface BudgetCounts {
  open: number;
  /** Connections closed to make room, since the start. */
  shed: number;
  /** New connections refused because nothing could be shed, since the start. */
  refused: number;
}

export class ConnectionBudget {
  readonly total: number;
  readonly ceiling: number;
  private readonly groupCap: number;
  private readonly groupCeiling: number;
  private readonly seasonMs: number;
  /**
   * Counts turns of the event loop after admissions: each admission makes sure of two more (a
   * setImmediate, then one in the next turn; nothing runs while no connection comes). A
   * connection may be shed once two have passed since it came: the turn after its own has read
   * what it had sent by then.
   */
  private turn = 0;
  private turning = false;
  /** Oldest first in each (a Set keeps insertion order; a connection moves to the end as it changes state). */
  private readonly idle = new Set<Tracked>();
  private readonly node = new Set<Tracked>();
  private readonly heads = new Set<Tracked>();
  private readonly entries = new Map<Tracked, Entry>();
  private readonly perEndpoint = new Map<string, number>();
  private readonly perPeer = new Map<string, number>();
  private readonly counts: BudgetCounts = { open: 0, shed: 0, refused: 0 };

  constructor(limits: ConnectionLimits) {
    this.total = Math.max(1, Math.floor(limits.total));
    this.ceiling = Math.max(this.total, Math.floor(limits.ceiling ?? this.total * 1.5));
    this.groupCap = Math.max(1, Math.ceil(this.total * (limits.share ?? 0.75)));
    this.seasonMs = limits.seasonMs ?? SEASON_MS;
    this.groupCeiling = Math.max(this.groupCap, Math.ceil(this.ceiling * (limits.share ?? 0.75)));
  }

  /** Open connections, and how many were shed or refused so far. */
  stats(): BudgetCounts {
    return { ...this.counts };
  }

  /**
   * Takes a new connection in (as idle: it has sent nothing yet), shedding others at a cap.
   * False: nothing could be shed; the caller refuses the connection.
   */
  admit(connection: Tracked): boolean {
    this.nextTurn();
    const checks: [Map<string, number>, string, (other: Tracked) => boolean][] = [
      [this.perPeer, connection.peer, (other) => other.peer === connection.peer],
      [this.perEndpoint, connection.endpoint, (other) => other.endpoint === connection.endpoint],
    ];
    for (const [groups, key, member] of checks) {
      // The group's cap applies only while another group holds connections too.
      if (groups.size - (groups.has(key) ? 1 : 0) === 0) continue;
      while ((groups.get(key) ?? 0) >= this.groupCap && this.shedOne(member, false));
      if ((groups.get(key) ?? 0) >= this.groupCeiling && !this.shedOne(member, true)) return this.refuse();
    }
    // Back under the cap where connections that had their turn can go; past the ceiling, any may.
    while (this.counts.open >= this.total && this.shedOne(() => true, false));
    if (this.counts.open >= this.ceiling && !this.shedOne(() => true, true)) return this.refuse();
    this.entries.set(connection, { state: 'idle', turn: this.turn, at: Date.now() });
    this.idle.add(connection);
    this.counts.open += 1;
    add(this.perEndpoint, connection.endpoint, 1);
    add(this.perPeer, connection.peer, 1);
    return true;
  }

  /** Between requests (or before the first byte): the first to be shed. */
  markIdle(connection: Tracked): void {
    this.move(connection, 'idle');
  }

  /** A request head has started to come. */
  markHead(connection: Tracked): void {
    this.move(connection, 'head');
  }

  /** A request is in flight or its answer is being written: never shed. */
  markBusy(connection: Tracked): void {
    this.move(connection, 'busy');
  }

  /** Handed to Node's http server: shed only while it is between requests there (`idleInNode`). */
  markNode(connection: Tracked): void {
    this.move(connection, 'node');
  }

  /** The connection closed (idempotent). */
  release(connection: Tracked): void {
    const entry = this.entries.get(connection);
    if (!entry) return;
    this.entries.delete(connection);
    this.setOf(entry.state)?.delete(connection);
    this.counts.open -= 1;
    add(this.perEndpoint, connection.endpoint, -1);
    add(this.perPeer, connection.peer, -1);
  }

  private move(connection: Tracked, state: State): void {
    const entry = this.entries.get(connection);
    if (!entry) return;
    this.setOf(entry.state)?.delete(connection);
    entry.state = state;
    this.setOf(state)?.add(connection);
  }

  private setOf(state: State): Set<Tracked> | undefined {
    return state === 'idle' ? this.idle : state === 'node' ? this.node : state === 'head' ? this.heads : undefined;
  }

  /**
   * Closes the cheapest connection to lose among `member`s: oldest idle, then idle in Node's
   * server, then oldest slow head; only one that had its turn, unless `anyAge`.
   */
  private shedOne(member: (connection: Tracked) => boolean, anyAge: boolean): boolean {
    const now = Date.now();
    const oldEnough = (connection: Tracked): boolean => {
      if (!member(connection)) return false;
      const entry = this.entries.get(connection)!;
      return anyAge || (entry.turn <= this.turn - 2 && now - entry.at >= this.seasonMs);
    };
    const victim =
      first(this.idle, oldEnough) ??
      first(this.node, (connection) => oldEnough(connection) && (connection.idleInNode?.() ?? false)) ??
      first(this.heads, oldEnough);
    if (!victim) return false;
    this.release(victim);
    this.counts.shed += 1;
    victim.shed();
    return true;
  }

  private nextTurn(): void {
    if (this.turning) return;
    this.turning = true;
    setImmediate(() => {
      this.turn += 1;
      setImmediate(() => {
        this.turning = false;
        this.turn += 1;
      });
    });
  }

  private refuse(): false {
    this.counts.refused += 1;
    return false;
  }
}

function first(set: Set<Tracked>, member: (connection: Tracked) => boolean): Tracked | undefined {
  for (const connection of set) if (member(connection)) return connection;
  return undefined;
}

function add(groups: Map<string, number>, key: string, delta: number): void {
  const value = (groups.get(key) ?? 0) + delta;
  if (value > 0) groups.set(key, value);
  else groups.delete(key);
}
