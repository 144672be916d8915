import { createServer, type Server, type Socket } from 'node:net';
import type { PortProvider } from '../router/router.js';
import { isKeeperMessage, type DaemonToKeeper, type KeeperInfo } from './keeper-protocol.js';

/**
 * The daemon's side of the keeper (src/daemon/keeper.ts): the endpoints' ports are opened by the
 * keeper, which sends a copy of each listening socket; the daemon accepts on it itself (a keeper
 * of an older install passes each connection in instead). `oep daemon restart` arrives as
 * `drain`: the daemon stops accepting, and connections wait in the socket's queue for the next
 * daemon. Should the keeper go (killed), the daemon keeps its copies, and listens itself on any
 * port it had none of, so the endpoints stay up.
 */
export class KeeperLink implements PortProvider {
  private readonly accepts = new Map<number, (socket: Socket) => void>();
  private readonly opening = new Map<number, (failure: NodeJS.ErrnoException | null) => void>();
  /** The listening sockets this daemon accepts on: the keeper's copies, or its own once the keeper is gone. */
  private readonly direct = new Map<number, Server>();
  private lost = false;
  /** `drain` came: the ports are the next daemon's; closing the router's listeners must not close them. */
  private handingOver = false;
  private latest?: KeeperInfo;
  private go?: () => void;
  /** `oep daemon restart`: the keeper wants this daemon to hand over. */
  onDrain?: () => void;

  /** The link when this daemon runs under a keeper (started by it with an IPC channel), else undefined. */
  static fromProcess(log: (line: string) => void): KeeperLink | undefined {
    if (process.env.OEP_KEEPER !== '1' || !process.send) return undefined;
    return new KeeperLink(log);
  }

  private constructor(private readonly log: (line: string) => void) {
    process.on('message', (message: unknown, handle?: unknown) => this.onMessage(message, handle as Socket | undefined));
    process.once('disconnect', () => void this.onLost());
  }

  /** What the keeper told this daemon at its start (shown by `oep daemon status`). */
  info(): KeeperInfo | undefined {
    if (this.latest) return this.latest;
    try {
      return JSON.parse(process.env.OEP_KEEPER_INFO ?? '') as KeeperInfo;
    } catch {
      return undefined;
    }
  }

  /**
   * A standby (OEP_KEEPER_STANDBY=1) waits here, its code loaded, until the keeper says go; a
   * standby whose keeper goes exits.
   */
  async standby(): Promise<void> {
    if (process.env.OEP_KEEPER_STANDBY !== '1') return;
    await new Promise<void>((resolve) => (this.go = resolve));
  }

  get connected(): boolean {
    return !this.lost;
  }

  open(port: number, accept: (socket: Socket) => void): Promise<NodeJS.ErrnoException | null> {
    this.accepts.set(port, accept);
    if (this.lost) return this.listenDirect(port);
    return new Promise((resolve) => {
      this.opening.set(port, resolve);
      this.send({ kind: 'listen', port });
    });
  }

  close(port: number): void {
    this.accepts.delete(port);
    this.direct.get(port)?.close();
    this.direct.delete(port);
    if (!this.lost && !this.handingOver) this.send({ kind: 'unlisten', port });
  }

  /** Every port is open and the control socket answers. */
  ready(): void {
    this.send({ kind: 'ready' });
  }

  /** `oep daemon restart` (a new `entry` for an upgrade): the keeper drains this daemon and starts the next. */
  restart(entry?: string): boolean {
    if (this.lost) return false;
    this.send({ kind: 'restart', ...(entry && { entry }) });
    return true;
  }

  /** `oep daemon stop`: the keeper exits once this daemon has. */
  stopping(): void {
    if (!this.lost) this.send({ kind: 'stopping' });
  }

  /** An idle connection handed back while draining; resolves once the keeper has it. */
  handBack(port: number, socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      if (this.lost || !process.send) {
        socket.destroy();
        return resolve();
      }
      process.send({ kind: 'connection', port } satisfies DaemonToKeeper, socket, {}, () => resolve());
    });
  }

  private send(message: DaemonToKeeper): void {
    if (this.lost || !process.send) return;
    process.send(message, undefined, {}, (error: Error | null) => {
      if (error) this.log(`could not tell the keeper ${message.kind}: ${error.message}`);
    });
  }

  private onMessage(message: unknown, handle?: Socket): void {
    if (!isKeeperMessage(message)) return;
    switch (message.kind) {
      case 'listening':
        return void this.onListening(message.port, handle);
      case 'listen-failed': {
        const resolve = this.opening.get(message.port);
        this.opening.delete(message.port);
        return resolve?.(Object.assign(new Error(message.code), { code: message.code }));
      }
      case 'connection': {
        const accept = this.accepts.get(message.port);
        if (!handle) return;
        if (!accept) return void handle.destroy();
        return accept(handle);
      }
      case 'drain':
        // New connections wait in the sockets' queues (the keeper's copies keep them listening) for the next daemon.
        this.handingOver = true;
        for (const server of this.direct.values()) server.close();
        this.direct.clear();
        return this.onDrain?.();
      case 'go':
        this.latest = message.info;
        return this.go?.();
    }
  }

  /**
   * The keeper's answer to `listen`: with the listening socket, this daemon listens on it and
   * accepts (a failure, say another program bound the port meanwhile, gives the keeper's copy back
   * so the router's next try binds anew); without one (an older keeper), connections come one by one.
   */
  private async onListening(port: number, handle: unknown): Promise<void> {
    const resolve = this.opening.get(port);
    this.opening.delete(port);
    if (!handle) return resolve?.(null);
    if (!this.accepts.has(port) || this.direct.has(port)) {
      // Closed meanwhile, or already accepting: this copy is not needed.
      (handle as { close(): void }).close();
      return resolve?.(null);
    }
    const failure = await this.listenOn(port, handle);
    if (failure) this.send({ kind: 'unlisten', port });
    resolve?.(failure);
  }

  /** The keeper is gone: its copies of the ports went with it; this daemon keeps its own and listens itself on any other. */
  private async onLost(): Promise<void> {
    // A standby not yet called on has nothing to keep up.
    if (process.env.OEP_KEEPER_STANDBY === '1' && !this.latest) process.exit(0);
    if (this.lost) return;
    this.lost = true;
    this.log('the keeper is gone: this daemon listens on the endpoints\' ports itself; a crash of it now needs an oep command to start it again');
    const pending = [...this.opening.entries()];
    this.opening.clear();
    for (const port of this.accepts.keys()) {
      const failure = await this.listenDirect(port);
      if (failure) this.log(`could not listen on 127.0.0.1:${port} after the keeper went: ${failure.code ?? failure.message}`);
    }
    for (const [port, resolve] of pending) resolve(this.direct.has(port) ? null : Object.assign(new Error('EADDRINUSE'), { code: 'EADDRINUSE' }));
  }

  private listenDirect(port: number): Promise<NodeJS.ErrnoException | null> {
    if (this.direct.has(port)) return Promise.resolve(null);
    return this.listenOn(port, undefined);
  }

  /** Listens on 127.0.0.1:port, or on the listening socket the keeper sent (`handle`). */
  private listenOn(port: number, handle: unknown): Promise<NodeJS.ErrnoException | null> {
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accepts.get(port)?.(socket));
    return new Promise((resolve) => {
      server.once('error', resolve);
      const listening = (): void => {
        server.off('error', resolve);
        // The endpoint went while this was opening: nothing to accept for.
        if (!this.accepts.has(port)) return void server.close(() => resolve(null));
        server.on('error', (error) => this.log(`a connection to 127.0.0.1:${port} could not be accepted: ${error.message}`));
        this.direct.set(port, server);
        resolve(null);
      };
      // Node's net.Server takes a received TCP handle as its listening socket (as a cluster worker's).
      if (handle) server.listen(handle as Parameters<Server['listen']>[0], listening);
      else server.listen(port, '127.0.0.1', listening);
    });
  }
}
