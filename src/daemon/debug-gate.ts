import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { asDebugpyAdapterSends, DapFramingError, DapReader, dapRefusal, encodeDap, type DapMessage } from '../model/dap.js';
import { DEBUG_HOST } from '../model/debug.js';
import { userName } from '../state/home-check.js';
import type { OepState } from '../state/types.js';
import { loopbackPeerUid } from './loopback-peer.js';
import { deploymentKey } from '../model/deployment-key.js';

/**
 * The daemon's debug gate: for each deployment run with --debug it listens on 127.0.0.1:<debug
 * port>, where a debugger (VS Code) attaches. A connection passes only when it comes from this
 * user (the uid Linux lists for the peer's socket in /proc/net/tcp; a connection of another user
 * gets a refusal a debugger shows, and the daemon's log says who). The gate then connects to
 * debugpy in the replica (its backend port), sends the deployment's debug token first (pydevd's
 * pydevdAuthorize) and from then on passes bytes both ways untouched. debugpy answers nothing
 * without the token, and only the daemon has it: a local user who finds the backend port can
 * neither pause the replica nor run code in it.
 *
 * When nothing can keep others out (the replica's debugpy does not take the token, or the
 * system cannot tell who connects) the deployment's debug port is "open": the gate lets the
 * debugger through as before and, once no debugger has been attached through it for `idleMs`,
 * asks the daemon to turn the deployment back into a normal one (`onIdle`).
 */
export interface DebugGateOptions {
  /** The debug token of a deployment (src/state/secrets.ts debugToken). */
  token: (endpoint: string, deployment: string) => string;
  /** The user whose connections pass (default: the daemon's). */
  uid?: number;
  /** Who opened a connection's other end; undefined when the system cannot say. */
  peerUid?: (socket: Socket) => Promise<number | null | undefined>;
  /** Whether `peerUid` can tell at all on this system (default: /proc/net/tcp exists). */
  peersKnown?: boolean;
  /** An open debug port this long without a debugger through the gate: `onIdle`. */
  idleMs: number;
  onIdle: (endpoint: string, deployment: string) => void;
  /** The replica's debugpy answered without asking for the token (an older debugpy's adapter). */
  onOpen: (endpoint: string, deployment: string, reason: string) => void;
  log: (line: string) => void;
  /** How long the replica may take to answer the token (default 10 s). */
  handshakeMs?: number;
  /** How often the gate looks whether a new replica's debugpy listens, and how (default 500 ms). */
  probeMs?: number;
}

/** Why a debug port is open when the system cannot tell which user a loopback connection is. */
export const PEERS_UNKNOWN = 'this system does not tell oep which user a connection to 127.0.0.1 comes from (no /proc/net/tcp)';
/** Why it is open when the replica's debugpy answered without the token. */
export const ADAPTER_WITHOUT_TOKEN = "the replica's debugpy answers debuggers without oep's debug token";

interface Entry {
  key: string;
  endpoint: string;
  deployment: string;
  port: number;
  backendPort: number;
  open?: string;
  server: Server;
  /** Debuggers let through and connected now. */
  connections: Set<Socket>;
  /** Every socket of this entry, refused or not, to end them with it. */
  sockets: Set<Socket>;
  idleTimer?: NodeJS.Timeout;
  closed: boolean;
  /** The backend port whose debugpy the gate has seen answer (with the token, or open). */
  checked?: number;
  /** A check of the backend under way: a debugger's connection waits for it (pydevd takes one connection at a time). */
  probing?: Promise<void>;
  probeTimer?: NodeJS.Timeout;
  /** Debuggers' connections being set up (peer check, backend, token). */
  connecting: number;
}

export class DebugGate {
  private readonly entries = new Map<string, Entry>();
  private readonly openListeners = new Map<string, Set<(reason: string) => void>>();
  private readonly uid: number;
  readonly peersKnown: boolean;

  constructor(private readonly options: DebugGateOptions) {
    this.uid = options.uid ?? process.geteuid?.() ?? 0;
    this.peersKnown = options.peersKnown ?? existsSync('/proc/net/tcp');
  }

  /**
   * Makes the listeners match the state: one per deployment with --debug (a new one when its
   * port changed), none for the others. Returns a problem per deployment whose port it could not
   * listen on ("endpoint/deployment" -> message).
   */
  async sync(state: OepState): Promise<Map<string, string>> {
    const wanted = new Map<string, { endpoint: string; deployment: string; port: number; backendPort: number; open?: string }>();
    for (const owner of Object.values(state.endpoints)) {
      for (const [name, record] of Object.entries(owner.deployments)) {
        if (!record.debug?.backendPort || record.provisioning_state === 'Deleting' || owner.provisioning_state === 'Deleting') continue;
        wanted.set(deploymentKey(owner.spec.name, name), { endpoint: owner.spec.name, deployment: name, port: record.debug.port, backendPort: record.debug.backendPort, open: record.debug.open });
      }
    }
    for (const [key, entry] of this.entries) {
      const want = wanted.get(key);
      if (!want || want.port !== entry.port) this.closeEntry(entry);
    }
    const problems = new Map<string, string>();
    for (const [key, want] of wanted) {
      let entry = this.entries.get(key);
      if (!entry) {
        try {
          entry = await this.listen(key, want.endpoint, want.deployment, want.port, want.backendPort);
        } catch (error) {
          const message = `the debug gate cannot listen on ${DEBUG_HOST}:${want.port}: ${(error as Error).message}`;
          this.options.log(`${key}: ${message}`);
          problems.set(key, message);
          continue;
        }
      }
      entry.backendPort = want.backendPort;
      const open = want.open ?? (this.peersKnown ? undefined : PEERS_UNKNOWN);
      if (open !== entry.open) {
        entry.open = open;
        this.activity(entry);
      }
      if (entry.checked !== entry.backendPort && !entry.open) this.scheduleProbe(entry, 0);
    }
    return problems;
  }

  /**
   * Calls `listener` if the gate finds that any local user can attach to a deployment's replica
   * (its debugpy does not take the token), until the returned function is called. A create or
   * update with --debug listens while it runs, to warn on its stderr.
   */
  whenOpen(endpoint: string, deployment: string, listener: (reason: string) => void): () => void {
    const key = deploymentKey(endpoint, deployment);
    const listeners = this.openListeners.get(key) ?? new Set();
    listeners.add(listener);
    this.openListeners.set(key, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.openListeners.delete(key);
    };
  }

  /** Resolves once the gate has seen how the deployment's current replica answers (or after `timeoutMs`). */
  async checked(endpoint: string, deployment: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = this.entries.get(deploymentKey(endpoint, deployment));
      if (!entry || entry.open || entry.checked === entry.backendPort || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Whether a deployment's debug port is open to any local user now, and why. */
  openReason(endpoint: string, deployment: string): string | undefined {
    return this.entries.get(deploymentKey(endpoint, deployment))?.open;
  }

  close(): void {
    for (const entry of [...this.entries.values()]) this.closeEntry(entry);
  }

  private listen(key: string, endpoint: string, deployment: string, port: number, backendPort: number): Promise<Entry> {
    const entry: Entry = { key, endpoint, deployment, port, backendPort, server: createServer(), connections: new Set(), sockets: new Set(), closed: false, connecting: 0 };
    entry.server.on('connection', (socket) => void this.admit(entry, socket));
    return new Promise((resolve, reject) => {
      entry.server.once('error', reject);
      entry.server.listen({ host: DEBUG_HOST, port, exclusive: true }, () => {
        entry.server.off('error', reject);
        entry.server.on('error', (error) => this.options.log(`${key}: debug gate on ${DEBUG_HOST}:${port}: ${error.message}`));
        this.entries.set(key, entry);
        this.options.log(`${key}: debug gate listens on ${DEBUG_HOST}:${port} (debugpy at ${DEBUG_HOST}:${backendPort})`);
        resolve(entry);
      });
    });
  }

  private closeEntry(entry: Entry): void {
    entry.closed = true;
    clearTimeout(entry.idleTimer);
    clearTimeout(entry.probeTimer);
    entry.server.close();
    for (const socket of entry.sockets) socket.destroy();
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  /** One debugger's connection: who it is, then the replica, then the token, then bytes both ways. */
  private async admit(entry: Entry, client: Socket): Promise<void> {
    entry.sockets.add(client);
    client.on('close', () => entry.sockets.delete(client));
    client.on('error', () => undefined);
    client.setNoDelay(true);
    // What the debugger sends meanwhile is kept whole for the replica, and read for its first request.
    const fromClient: Buffer[] = [];
    const clientReader = new DapReader();
    let firstRequest: DapMessage | undefined;
    const firstArrived: (() => void)[] = [];
    const onClientData = (chunk: Buffer): void => {
      fromClient.push(chunk);
      if (firstRequest) return;
      try {
        firstRequest = clientReader.push(chunk).find((message) => message.type === 'request');
      } catch (error) {
        if (error instanceof DapFramingError) client.destroy();
      }
      if (firstRequest) for (const arrived of firstArrived.splice(0)) arrived();
    };
    client.on('data', onClientData);
    const refuse = async (message: string): Promise<void> => {
      if (!firstRequest && !client.destroyed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          firstArrived.push(() => {
            clearTimeout(timer);
            resolve();
          });
          client.once('close', () => resolve());
        });
      }
      if (client.destroyed) return;
      client.off('data', onClientData);
      client.end(encodeDap(dapRefusal(firstRequest, message)));
      setTimeout(() => client.destroy(), 1000).unref();
    };
    const where = `${entry.key}: debug gate ${DEBUG_HOST}:${entry.port}`;

    const peer = this.options.peerUid ? await this.options.peerUid(client) : this.peersKnown ? await loopbackPeerUid(client) : undefined;
    if (peer !== undefined && peer !== this.uid) {
      this.options.log(`${where}: refused a debugger of ${peer === null ? 'a user oep could not tell' : userName(peer)} (only ${userName(this.uid)} may attach)`);
      return refuse(
        `oep: ${DEBUG_HOST}:${entry.port} is the debug port of deployment ${entry.deployment} (endpoint ${entry.endpoint}) of ${userName(this.uid)}; only that user can attach a debugger to it.`,
      );
    }
    if (entry.closed || client.destroyed) {
      client.destroy();
      return;
    }
    entry.connecting += 1;
    try {
      await this.pass(entry, client, fromClient, onClientData, refuse, where);
    } finally {
      entry.connecting -= 1;
    }
  }

  private async pass(entry: Entry, client: Socket, fromClient: Buffer[], onClientData: (chunk: Buffer) => void, refuse: (message: string) => Promise<void>, where: string): Promise<void> {
    // pydevd serves one connection at a time: a check of the replica under way ends first.
    await entry.probing;
    const notListening = `oep: deployment ${entry.deployment} (endpoint ${entry.endpoint}) has no replica listening for a debugger yet (it is starting, or it stopped); attach again in a moment (oep deployment show -n ${entry.deployment} -e ${entry.endpoint} says how it is).`;
    const backend = await connectTo(entry.backendPort).catch(() => undefined);
    if (!backend) return refuse(notListening);
    entry.sockets.add(backend);
    backend.on('close', () => entry.sockets.delete(backend));
    backend.on('error', () => undefined);
    backend.setNoDelay(true);

    // The token first: pydevd answers nothing else until it has it.
    const answer = await this.authorize(entry, backend);
    if (answer.kind === 'gone') {
      backend.destroy();
      return refuse(notListening);
    }
    if (answer.kind === 'refused') {
      backend.destroy();
      this.options.log(`${where}: the replica refused oep's debug token: ${answer.message}`);
      return refuse(`oep: the replica of deployment ${entry.deployment} did not take oep's debug token (${answer.message}); run the update with --debug again.`);
    }
    entry.checked = entry.backendPort;
    if (answer.kind === 'open') this.found(entry, answer.message);
    if (entry.closed || client.destroyed) {
      backend.destroy();
      client.destroy();
      return;
    }

    // From here on the gate passes the replica's bytes as they are, and the debugger's messages
    // as debugpy's own adapter would (continue and pause for every thread).
    client.off('data', onClientData);
    for (const message of answer.before) client.write(encodeDap(message));
    if (answer.rest.length > 0) client.write(answer.rest);
    const requests = new DapReader();
    const forward = (chunk: Buffer): void => {
      let messages: DapMessage[];
      try {
        messages = requests.push(chunk);
      } catch {
        client.destroy();
        return;
      }
      for (const message of messages) backend.write(encodeDap(asDebugpyAdapterSends(message)));
    };
    if (fromClient.length > 0) forward(Buffer.concat(fromClient));
    client.on('data', forward);
    backend.pipe(client);
    entry.connections.add(client);
    this.activity(entry);
    const end = (): void => {
      client.destroy();
      backend.destroy();
      if (entry.connections.delete(client)) this.activity(entry);
    };
    client.once('close', end);
    backend.once('close', end);
  }

  /** Sends the token; what the replica answered, with the messages it sent before the answer. */
  private authorize(entry: Entry, backend: Socket): Promise<Authorization> {
    const reader = new DapReader();
    const before: DapMessage[] = [];
    return new Promise((resolve) => {
      const done = (result: Authorization): void => {
        clearTimeout(timer);
        backend.off('data', onData);
        backend.off('close', onClose);
        resolve(result);
      };
      const onClose = (): void => done({ kind: 'gone' });
      const onData = (chunk: Buffer): void => {
        let messages: DapMessage[];
        try {
          messages = reader.push(chunk);
        } catch {
          return done({ kind: 'gone' });
        }
        for (const message of messages) {
          if (message.type !== 'response' || message.command !== 'pydevdAuthorize') {
            before.push(message);
            continue;
          }
          if (message.success) return done({ kind: 'ok', before, rest: reader.rest });
          const text = message.message ?? 'refused';
          // pydevd's own answer to a wrong token; anything else is debugpy's adapter, which has no token to check.
          if (text === 'Client not authenticated.') return done({ kind: 'refused', message: text });
          return done({ kind: 'open', message: text, before, rest: reader.rest });
        }
      };
      const timer = setTimeout(() => done({ kind: 'gone' }), this.options.handshakeMs ?? 10_000);
      backend.on('data', onData);
      backend.once('close', onClose);
      backend.write(encodeDap({ seq: 0, type: 'request', command: 'pydevdAuthorize', arguments: { debugServerAccessToken: this.options.token(entry.endpoint, entry.deployment) } }));
    });
  }

  /** The replica's debugpy answered without the token: the deployment's debug port is open. */
  private found(entry: Entry, answer: string): void {
    if (entry.open) return;
    entry.open = ADAPTER_WITHOUT_TOKEN;
    this.options.log(`${entry.key}: debugpy at ${DEBUG_HOST}:${entry.backendPort} answered without oep's debug token (${answer}): any local user can attach to it`);
    this.options.onOpen(entry.endpoint, entry.deployment, ADAPTER_WITHOUT_TOKEN);
    for (const listener of this.openListeners.get(entry.key) ?? []) listener(ADAPTER_WITHOUT_TOKEN);
    this.activity(entry);
  }

  /**
   * Looks, while no debugger is attached through the gate, whether the replica's debugpy listens
   * yet and whether it takes the token (then closes: a debugger that attaches later is a new
   * connection, which pydevd accepts in its place). Again and again until it answers.
   */
  private scheduleProbe(entry: Entry, delayMs: number): void {
    clearTimeout(entry.probeTimer);
    entry.probeTimer = setTimeout(() => {
      if (entry.closed || entry.checked === entry.backendPort) return;
      if (entry.connections.size > 0 || entry.connecting > 0 || entry.probing) return this.scheduleProbe(entry, this.options.probeMs ?? 500);
      entry.probing = this.probe(entry).finally(() => {
        entry.probing = undefined;
        if (entry.checked !== entry.backendPort) this.scheduleProbe(entry, this.options.probeMs ?? 500);
      });
    }, delayMs);
    entry.probeTimer.unref();
  }

  private async probe(entry: Entry): Promise<void> {
    const port = entry.backendPort;
    const backend = await connectTo(port).catch(() => undefined);
    if (!backend) return;
    backend.on('error', () => undefined);
    let linger = 0;
    try {
      const answer = await this.authorize(entry, backend);
      if (answer.kind === 'gone' || entry.backendPort !== port) return;
      entry.checked = port;
      if (answer.kind === 'open') {
        this.found(entry, answer.message);
        // debugpy's own adapter ends (and with it every later attach) when a client leaves the
        // instant it was answered; one that stays a moment is let go as usual.
        linger = 2000;
      } else if (answer.kind === 'refused') this.options.log(`${entry.key}: debugpy at ${DEBUG_HOST}:${port} refused oep's debug token: ${answer.message}`);
    } finally {
      if (linger > 0) setTimeout(() => backend.destroy(), linger).unref();
      else backend.destroy();
    }
  }

  /** A debugger came or went: an open port with none attached starts counting towards `onIdle`. */
  private activity(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    if (!entry.open || entry.closed || entry.connections.size > 0) return;
    entry.idleTimer = setTimeout(() => {
      if (entry.closed || entry.connections.size > 0 || this.entries.get(entry.key) !== entry) return;
      this.options.log(`${entry.key}: no debugger attached through ${DEBUG_HOST}:${entry.port} for ${Math.round(this.options.idleMs / 1000)} s while any local user could attach: back to a normal deployment`);
      this.options.onIdle(entry.endpoint, entry.deployment);
    }, this.options.idleMs);
    entry.idleTimer.unref();
  }
}

type Authorization =
  | { kind: 'ok'; before: DapMessage[]; rest: Buffer }
  | { kind: 'open'; message: string; before: DapMessage[]; rest: Buffer }
  | { kind: 'refused'; message: string }
  | { kind: 'gone' };

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: DEBUG_HOST, port });
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
