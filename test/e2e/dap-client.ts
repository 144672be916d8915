import { connect, type Socket } from 'node:net';
import type { DapMessage } from '../../src/model/dap.js';

/**
 * A small Debug Adapter Protocol client, as a debugger (VS Code) talks to debugpy: JSON messages
 * over TCP, each framed by a `Content-Length` header. Enough to attach, set breakpoints, see where
 * a thread stopped and continue it.
 */
export type { DapMessage } from '../../src/model/dap.js';

export interface StackFrame {
  id: number;
  name: string;
  line: number;
  source?: { path?: string };
}

export class DapClient {
  private seq = 1;
  private buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve: (message: DapMessage) => void; reject: (error: Error) => void }>();
  /** Every event received, in order. */
  readonly events: DapMessage[] = [];
  private readonly eventWaiters = new Set<{ match: (event: DapMessage) => boolean; resolve: (event: DapMessage) => void }>();
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.closed = true;
      for (const { reject } of this.pending.values()) reject(new Error('the debug adapter closed the connection'));
      this.pending.clear();
    });
    socket.on('error', () => undefined);
  }

  /**
   * Connects to host:port and initializes the session, retrying while no debug adapter answers
   * yet (a replica still starting). A connection alone proves nothing: Docker's published port
   * accepts one before debugpy listens inside the container, then closes it.
   */
  static async connect(port: number, host = '127.0.0.1', timeoutMs = 60_000): Promise<DapClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let client: DapClient | undefined;
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host, port }, () => resolve(socket));
          socket.once('error', reject);
        });
        client = new DapClient(socket);
        await client.request('initialize', { clientID: 'oep-test', adapterID: 'debugpy', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true }, 5000);
        return client;
      } catch (error) {
        client?.socket.destroy();
        if (Date.now() > deadline) throw new Error(`no debug adapter answered on ${host}:${port}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Sends a request; resolves with its response (rejects when it failed). */
  request(command: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<DapMessage> {
    if (this.closed) return Promise.reject(new Error(`cannot send ${command}: the connection is closed`));
    const seq = this.seq++;
    const payload = Buffer.from(JSON.stringify({ seq, type: 'request', command, arguments: args }), 'utf8');
    this.socket.write(Buffer.concat([Buffer.from(`Content-Length: ${payload.length}\r\n\r\n`, 'ascii'), payload]));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no response to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (message) => {
          clearTimeout(timer);
          if (message.success) resolve(message);
          else reject(new Error(`${command} failed: ${message.message ?? JSON.stringify(message.body)}`));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Resolves with the first event (already received or to come) named `name` that `match` accepts. */
  waitForEvent(name: string, match: (event: DapMessage) => boolean = () => true, timeoutMs = 60_000, from = 0): Promise<DapMessage> {
    const seen = this.events.slice(from).find((event) => event.event === name && match(event));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match: (event: DapMessage) => event.event === name && match(event),
        resolve: (event: DapMessage) => {
          clearTimeout(timer);
          resolve(event);
        },
      };
      const timer = setTimeout(() => {
        this.eventWaiters.delete(waiter);
        reject(new Error(`no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.eventWaiters.add(waiter);
    });
  }

  /**
   * VS Code's attach sequence after initialize: attach (answered once configuration is done),
   * then on `initialized` the breakpoints (file -> lines) and configurationDone.
   */
  async attach(attachArguments: Record<string, unknown>, breakpoints: Record<string, number[]>): Promise<Record<string, Record<string, unknown>[]>> {
    const attached = this.request('attach', attachArguments);
    await this.waitForEvent('initialized', undefined, 30_000);
    const verified: Record<string, Record<string, unknown>[]> = {};
    for (const [path, lines] of Object.entries(breakpoints)) {
      const response = await this.request('setBreakpoints', { source: { path }, breakpoints: lines.map((line) => ({ line })) });
      verified[path] = (response.body?.breakpoints ?? []) as Record<string, unknown>[];
    }
    await this.request('setExceptionBreakpoints', { filters: [] });
    await this.request('configurationDone');
    await attached;
    return verified;
  }

  /** The frames of a stopped thread, innermost first. */
  async stackTrace(threadId: number): Promise<StackFrame[]> {
    const response = await this.request('stackTrace', { threadId });
    return (response.body?.stackFrames ?? []) as StackFrame[];
  }

  async continue(threadId: number): Promise<void> {
    await this.request('continue', { threadId });
  }

  /** Detaches (the replica goes on running) and closes the connection. */
  async close(): Promise<void> {
    if (!this.closed) await this.request('disconnect', { terminateDebuggee: false }, 5000).catch(() => undefined);
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const length = Number(/Content-Length:\s*(\d+)/i.exec(header)?.[1]);
      if (!Number.isFinite(length)) throw new Error(`bad DAP header: ${header}`);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.dispatch(JSON.parse(body) as DapMessage);
    }
  }

  private dispatch(message: DapMessage): void {
    if (message.type === 'response' && message.request_seq !== undefined) {
      const pending = this.pending.get(message.request_seq);
      this.pending.delete(message.request_seq);
      pending?.resolve(message);
      return;
    }
    if (message.type === 'event') {
      this.events.push(message);
      for (const waiter of [...this.eventWaiters]) {
        if (!waiter.match(message)) continue;
        this.eventWaiters.delete(waiter);
        waiter.resolve(message);
      }
    }
    // Reverse requests (e.g. runInTerminal) are not used when attaching.
  }
}
