import { fork, type ChildProcess } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import * as net from 'node:net';
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { decideRestart, describeExit, DEFAULT_RESTART_POLICY, type RestartPolicy } from '../model/restart-policy.js';
import { writeFileNoFollowSync } from '../state/atomic-write.js';
import { ensureHome } from '../state/home-check.js';
import { oepPaths, resolveOepHome } from '../state/paths.js';
import { acquireLock, releaseLock } from './lock.js';
import { isDaemonMessage, type KeeperInfo, type KeeperRecord, type KeeperToDaemon } from './keeper-protocol.js';
import { keeperFiles } from './keeper-files.js';

/**
 * The keeper: the small process `oep` starts in the background. It runs the daemon as its child,
 * starts it again when it dies (at once, then with backoff; a crash loop ends it, recorded in
 * keeper.json and the log), and holds every endpoint's listening socket: the running daemon gets
 * a copy of it and accepts on it itself; the keeper's own copy is never polled, it only keeps the
 * socket listening, so connections made while no daemon runs wait in the socket's queue, then go
 * to the next daemon. `oep daemon restart`
 * (and an upgrade) hands over without refusing a connection: the old daemon finishes what is in
 * flight and hands its idle connections back, the new one takes them. docs/reliability.md.
 */
const DAEMON_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));
/** How long after a daemon is ready its standby is started. */
const STANDBY_AFTER_MS = 1000;

/**
 * A bound TCP socket as libuv holds it (Node's internal TCP handle): the keeper's copy of an
 * endpoint's listening socket. Node's own cluster module holds its shared sockets the same way.
 */
interface ServerHandle {
  close(): void;
  getsockname(out: { port?: number }): number;
}

/**
 * Binds 127.0.0.1:port without polling it: Node's net._createServerHandle (what the cluster
 * module's primary uses for the handles its workers share) returns the bound handle, or a
 * negative errno. Nothing in the keeper reads it: the daemon that receives a copy calls listen()
 * on it and accepts; the socket stays listening as long as either process holds it.
 */
function bindUnpolled(port: number): ServerHandle | NodeJS.ErrnoException {
  const bind = (net as unknown as { _createServerHandle(address: string, port: number, addressType: number): ServerHandle | number })._createServerHandle;
  const handle = bind('127.0.0.1', port, 4);
  if (typeof handle === 'number') return errnoError(handle);
  // libuv keeps a failed bind's EADDRINUSE for the listen() that follows, which happens in the
  // daemon on a copy of an unbound socket (it would listen on a random port): asked here instead.
  const address: { port?: number } = {};
  const failure = handle.getsockname(address);
  if (failure === 0 && address.port === port) return handle;
  handle.close();
  return errnoError(failure === 0 ? -constants.errno.EADDRINUSE : failure);
}

function errnoError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(code), { code });
}

interface HeldPort {
  /** The keeper's copy of the listening socket (never polled here). */
  handle: ServerHandle;
  /** Connections handed back by a draining daemon, waiting for the next daemon that wants this port. */
  waiting: Socket[];
  /** The running daemon asked for this port (it is passed its connections). */
  wanted: boolean;
}

class Keeper {
  private readonly paths = oepPaths(resolveOepHome());
  private readonly files = keeperFiles(this.paths.home);
  private readonly ports = new Map<number, HeldPort>();
  private child?: ChildProcess;
  /**
   * A daemon process started ahead, its code loaded, waiting for `go`: after a crash or for a
   * hand-over it takes over in the time it takes to read the state and adopt the replicas,
   * instead of a Node start and every module's load first.
   */
  private standby?: { process: ChildProcess; entry: string };
  /** The daemon has said it is ready (a daemon that dies before is a failed start, not a crash). */
  private ready = false;
  private everReady = false;
  /** What ends the current daemon on purpose: a hand-over to a new one, or a stop. */
  private ending?: 'restart' | 'stop';
  private entry = DAEMON_ENTRY;
  private restarts = 0;
  private crashes: number[] = [];
  private lastExit?: { text: string; at: string };
  private stopping = false;

  constructor(private readonly policy: RestartPolicy) {}

  start(): void {
    ensureHome(this.paths.home);
    if (!acquireLock(this.files.lock)) {
      // Another keeper runs this home: it keeps the daemon.
      process.exit(0);
    }
    writeFileNoFollowSync(this.files.pid, String(process.pid));
    this.record({ state: 'running' });
    process.on('SIGTERM', () => this.stop());
    process.on('SIGINT', () => this.stop());
    process.on('SIGHUP', () => this.restart());
    this.spawn();
  }

  private spawn(): void {
    this.ready = false;
    this.ending = undefined;
    const info: KeeperInfo = {
      pid: process.pid,
      restarts: this.restarts,
      ...(this.lastExit && { last_exit: this.lastExit.text, last_exit_at: this.lastExit.at }),
    };
    // Connections for ports the previous daemon had wait until this one asks for them.
    for (const held of this.ports.values()) held.wanted = false;
    const standby = this.standby;
    this.standby = undefined;
    if (standby && standby.entry === this.entry && standby.process.connected) {
      this.child = standby.process;
      standby.process.send({ kind: 'go', info } satisfies KeeperToDaemon);
      return;
    }
    standby?.process.kill('SIGKILL');
    this.child = this.fork(info, false);
  }

  private fork(info: KeeperInfo, standby: boolean): ChildProcess {
    const child = fork(this.entry, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, OEP_KEEPER: '1', OEP_KEEPER_INFO: JSON.stringify(info), ...(standby && { OEP_KEEPER_STANDBY: '1' }) },
    });
    child.on('message', (message: unknown, handle?: unknown) => this.onMessage(child, message, handle as Socket | undefined));
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    return child;
  }

  /** A standby for the next restart, once the daemon is up (it does not compete with its start). */
  private prepareStandby(): void {
    if (this.standby || this.stopping || process.env.OEP_KEEPER_STANDBY_OFF === '1') return;
    this.standby = { process: this.fork({ pid: process.pid, restarts: this.restarts }, true), entry: this.entry };
  }

  private onMessage(child: ChildProcess, message: unknown, handle?: Socket): void {
    if (!isDaemonMessage(message) || child !== this.child) {
      handle?.destroy();
      return;
    }
    switch (message.kind) {
      case 'listen':
        return void this.listen(child, message.port);
      case 'unlisten':
        return this.unlisten(message.port);
      case 'ready':
        this.ready = true;
        this.everReady = true;
        // A moment later: a daemon stopped at once (a script's one command) never pays for it.
        setTimeout(() => this.child === child && this.ready && this.prepareStandby(), STANDBY_AFTER_MS);
        // Ports the daemon before had and this one did not ask for (an endpoint deleted meanwhile).
        for (const [port, held] of this.ports) if (!held.wanted) this.unlisten(port);
        return;
      case 'restart':
        if (message.entry && message.entry !== this.entry) {
          // An upgrade: the standby runs the old code; the new entry's daemon is started fresh.
          this.entry = message.entry;
          this.standby?.process.kill('SIGKILL');
          this.standby = undefined;
        }
        return this.restart();
      case 'stopping':
        this.ending = 'stop';
        return;
      case 'connection':
        // An idle connection the draining daemon hands back: the next daemon gets it.
        if (handle) this.take(message.port, quiet(handle));
        return;
    }
  }

  /**
   * The daemon wants `port`: it gets a copy of the listening socket (bound here once, kept across
   * daemons) and accepts on it itself, so a connection costs the daemon an accept and nothing
   * here. Connections handed back by the daemon before follow.
   */
  private listen(child: ChildProcess, port: number): void {
    let held = this.ports.get(port);
    if (!held) {
      const bound = bindUnpolled(port);
      if (bound instanceof Error) {
        send(child, { kind: 'listen-failed', port, code: bound.code ?? bound.message });
        return;
      }
      held = { handle: bound, waiting: [], wanted: false };
      this.ports.set(port, held);
    }
    if (child !== this.child) return;
    held.wanted = true;
    send(child, { kind: 'listening', port }, held.handle);
    const waiting = held.waiting.splice(0);
    for (const socket of waiting) this.pass(port, socket);
  }

  private unlisten(port: number): void {
    const held = this.ports.get(port);
    if (!held) return;
    this.ports.delete(port);
    held.handle.close();
    for (const socket of held.waiting) socket.destroy();
  }

  /** A connection a draining daemon handed back for `port`: to the daemon when it wants the port and is not ending, else it waits. */
  private take(port: number, socket: Socket): void {
    const held = this.ports.get(port);
    if (!held) return void socket.destroy();
    socket.once('error', () => undefined);
    if (held.wanted && this.child && this.ending === undefined && this.child.connected) return this.pass(port, socket);
    held.waiting.push(socket);
    socket.once('close', () => {
      const at = held.waiting.indexOf(socket);
      if (at >= 0) held.waiting.splice(at, 1);
    });
  }

  private pass(port: number, socket: Socket): void {
    const child = this.child;
    if (!child?.connected) return void this.ports.get(port)?.waiting.push(socket);
    child.send({ kind: 'connection', port } satisfies KeeperToDaemon, socket, (error) => {
      // The daemon went between: the connection waits for the next one (if Node still has it).
      if (error && !socket.destroyed) this.ports.get(port)?.waiting.push(socket);
    });
  }

  /** Hands over to a new daemon: the current one drains and exits, then the next starts. */
  private restart(): void {
    if (this.stopping || !this.child || this.ending) return;
    this.ending = 'restart';
    log('keeper: handing over to a new daemon');
    send(this.child, { kind: 'drain' });
  }

  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.ending = 'stop';
    this.standby?.process.kill('SIGKILL');
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    else this.exit(0, 'stopped');
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.standby?.process === child) {
      // The standby died (or was replaced): the next ready daemon makes another.
      this.standby = undefined;
      return;
    }
    if (child !== this.child) return;
    this.child = undefined;
    const how = this.ending === 'restart' && code === 0 ? 'restart' : describeExit(code, signal);
    this.lastExit = { text: how, at: new Date().toISOString() };
    if (this.stopping || this.ending === 'stop') return this.exit(0, 'stopped');
    if (this.ending === 'restart' && code === 0) return this.spawn();
    if (!this.everReady) {
      // The first daemon did not start: the command that started us shows its log; nothing to keep.
      // Exit code 0 is a daemon that found another one running this home.
      return this.exit(code === 0 ? 0 : 1, code === 0 ? 'stopped' : 'gave-up');
    }
    this.crashes.push(Date.now());
    const decision = decideRestart(this.crashes, Date.now(), this.policy);
    if (!decision.restart) {
      log(`keeper: the daemon ended (${how}) ${decision.crashes} times in ${decision.windowMs / 1000} s; not starting it again. Run any oep command (or oep daemon start) to try again.`);
      this.record({ state: 'gave-up', crashes: decision.crashes, window_s: decision.windowMs / 1000 });
      return this.exit(1, 'gave-up');
    }
    this.restarts += 1;
    log(`keeper: the daemon ended (${how}); starting it again${decision.delayMs > 0 ? ` in ${decision.delayMs} ms` : ''}`);
    setTimeout(() => this.spawn(), decision.delayMs);
  }

  private exit(code: number, state: KeeperRecord['state']): void {
    this.standby?.process.kill('SIGKILL');
    for (const port of [...this.ports.keys()]) this.unlisten(port);
    if (state !== 'gave-up') this.record({ state });
    try {
      unlinkSync(this.files.pid);
    } catch {
      // already gone
    }
    releaseLock(this.files.lock);
    process.exit(code);
  }

  private record(fields: Pick<KeeperRecord, 'state'> & Partial<KeeperRecord>): void {
    const record: KeeperRecord = {
      pid: process.pid,
      restarts: this.restarts,
      ...(this.lastExit && { last_exit: this.lastExit.text }),
      at: new Date().toISOString(),
      ...fields,
    };
    try {
      writeFileNoFollowSync(this.files.record, `${JSON.stringify(record, null, 2)}\n`);
    } catch (error) {
      log(`keeper: could not write ${this.files.record}: ${(error as Error).message}`);
    }
  }
}

/**
 * A connection handed back by a draining daemon arrives reading (Node starts every received
 * socket); stopped at once, in the same tick, so the bytes of the client's next request stay in
 * the kernel and travel with the descriptor to the next daemon.
 */
function quiet(socket: Socket): Socket {
  (socket as unknown as { _handle?: { readStop?: () => number } })._handle?.readStop?.();
  return socket;
}

function send(child: ChildProcess, message: KeeperToDaemon, handle?: ServerHandle): void {
  if (!child.connected) return;
  const done = (error: Error | null): void => void (error && log(`keeper: could not tell the daemon ${message.kind}: ${error.message}`));
  // Node sends a copy of the handle's descriptor and leaves the keeper's own open.
  if (handle) child.send(message, handle as unknown as Parameters<ChildProcess['send']>[1], done);
  else child.send(message, done);
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** Test-only: OEP_KEEPER_BACKOFF_MS scales the backoff down (docs/reliability.md); the limits stay. */
function policyFromEnv(): RestartPolicy {
  const base = Number(process.env.OEP_KEEPER_BACKOFF_MS);
  return Number.isFinite(base) && base > 0 ? { ...DEFAULT_RESTART_POLICY, baseDelayMs: base, maxDelayMs: base * 16 } : DEFAULT_RESTART_POLICY;
}

process.on('uncaughtException', (error) => log(`keeper: uncaught exception: ${error.stack ?? error.message}`));
new Keeper(policyFromEnv()).start();

