import { createServer, type Server, type Socket } from 'node:net';
import type { PortProvider } from '../router/router.js';
import { isKeeperMessage, type DaemonToKeeper, type KeeperInfo } from './keeper-protocol.js';

/**
 * The daemon's side of the keeper (src/daemon/keeper.ts): the endpoints' ports are opened by the
 * keeper, which passes each connection in; `oep daemon restart` arrives as `drain`. Should the
 * keeper go (killed), the daemon listens on the ports itself from then on, so the endpoints stay up.
 */
export class KeeperLink implements PortProvider {
  private readonly accepts = new Map<number, (socket: Socket) => void>();
  private readonly opening = new Map<number, (failure: NodeJS.ErrnoException | null) => void>();
  private readonly direct = new Map<number, Server>();
  private lost = false;
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
    if (!this.lost) this.send({ kind: 'unlisten', port });
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
      case 'listen-failed': {
        const resolve = this.opening.get(message.port);
        this.opening.delete(message.port);
        const failure = message.kind === 'listen-failed' ? Object.assign(new Error(message.code), { code: message.code }) : null;
        return resolve?.(failure);
      }
      case 'connection': {
        const accept = this.accepts.get(message.port);
        if (!handle) return;
        if (!accept) return void handle.destroy();
        return accept(handle);
      }
      case 'drain':
        return this.onDrain?.();
      case 'go':
        this.latest = message.info;
        return this.go?.();
    }
  }

  /** The keeper is gone (its ports closed with it): listen on every port here, as a daemon without a keeper does. */
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
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accepts.get(port)?.(socket));
    return new Promise((resolve) => {
      server.once('error', resolve);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', resolve);
        server.on('error', (error) => this.log(`a connection to 127.0.0.1:${port} could not be accepted: ${error.message}`));
        this.direct.set(port, server);
        resolve(null);
      });
    });
  }
}
