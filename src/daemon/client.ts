import type { RequestOptions } from 'node:http';
import { OepError } from '../errors.js';
import type { ProgressEvent } from '../model/progress.js';
import { APPEND_NOFOLLOW } from '../model/file-flags.js';
import { checkNotLink, ensureHome } from '../state/home-check.js';
import { oepPaths, type OepPaths } from '../state/paths.js';
import { readLogTail } from '../telemetry/log-tail.js';
import type { MethodName, ParamsOf, ResultOf } from './api.js';
import { DaemonConnectionLost, explainLostCall } from './connection-lost.js';
import { RPC_PATH, type Frame } from './protocol.js';

export interface CallOptions {
  onEvent?: (event: ProgressEvent) => void;
  onLog?: (text: string) => void;
  signal?: AbortSignal;
  /** Resolve as soon as the daemon has accepted the work (--no-wait), with what it accepted. */
  untilAccepted?: boolean;
  /** Told when the daemon has accepted (recorded) the work, whether or not the call then succeeds. */
  onAccepted?: () => void;
  /**
   * A connection that drops before the last frame: ask the daemon again what became of the work
   * (the default), or report the drop as it is (the asking itself, so that it never recurses).
   */
  whenLost?: 'ask-again' | 'report';
}

// Built-ins through getBuiltinModule, not `import` (start-up time; src/cli/colour.ts says why).
const { existsSync, openSync, closeSync } = process.getBuiltinModule('node:fs');
const { fileURLToPath } = process.getBuiltinModule('node:url');

/** The daemon's file, and the keeper's (src/daemon/keeper.ts), which runs the daemon and restarts it when it dies. */
export const DAEMON_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));
const KEEPER_ENTRY = fileURLToPath(new URL('./keeper.js', import.meta.url));
const START_TIMEOUT_MS = 15_000;
/**
 * node:http through getBuiltinModule, not `import`: Node builds an ES module's view of a built-in by
 * reading every export, and node:http's WebSocket, MessageEvent and fetch-related getters then load
 * Node's bundled undici, http2, tls and crypto: 20-40 ms of every command's start on Node 22
 * (bench/cli-latency), for a client that needs `request` alone.
 */
const { request } = process.getBuiltinModule('node:http');
/**
 * The socket has no TLS, so no server name. Without one given, the http agent works it out and
 * first checks whether "localhost" is an IP address, which compiles Node's IPv6 pattern: about
 * 5 ms of every command's start (bench/cli-latency). Node's types list the option for https only.
 */
const NO_SERVER_NAME = { servername: '' } as RequestOptions;

/**
 * What the CLI and the use cases need of a daemon client: its OEP_HOME's paths and the two ways to
 * call it. DaemonClient is the real one; the CLI's table tests (test/unit/cli-table.test.ts) give
 * commands a fake with the same types, so a command line runs in-process without a daemon.
 */
export interface DaemonCaller {
  readonly paths: OepPaths;
  call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M>>;
  callIfRunning<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M> | undefined>;
}

/** Talks to the daemon over its unix socket, starting it on first use. */
export class DaemonClient implements DaemonCaller {
  readonly paths: OepPaths;

  constructor(home: string) {
    this.paths = oepPaths(home);
  }

  /**
   * Calls a method of the API (src/daemon/api.ts), starting the daemon first when nothing
   * answers. With `untilAccepted`, resolves with what the daemon accepted instead.
   */
  async call<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M>> {
    const [params = {} as ParamsOf<M>, options = {}] = args;
    try {
      try {
        return await this.send<ResultOf<M>>(method, params, options);
      } catch (error) {
        if (!isNotRunning(error)) throw error;
      }
      await this.start();
      return await this.send<ResultOf<M>>(method, params, options);
    } catch (error) {
      throw this.notPermitted(error) ?? (await this.explainLoss(error, options)) ?? error;
    }
  }

  /**
   * The daemon stopped answering mid-call: ask it again (a daemon is started when none answers,
   * unless it was stopped on purpose: its socket is then gone) whether the work was recorded.
   */
  private async explainLoss(error: unknown, options: CallOptions): Promise<DaemonConnectionLost | undefined> {
    if (!(error instanceof DaemonConnectionLost) || options.whenLost === 'report') return undefined;
    const stoppedOnPurpose = !existsSync(this.paths.socket);
    return explainLostCall(error, {
      daemonLog: this.paths.daemonLog,
      ask: (method, params) => (stoppedOnPurpose ? this.callIfRunning(method, params as never) : this.call(method, params as never, { whenLost: 'report' })),
    });
  }

  /** Another user's OEP_HOME (or socket) is not ours to use: say so instead of a stack trace. */
  private notPermitted(error: unknown): OepError | undefined {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return undefined;
    const path = (error as NodeJS.ErrnoException).path ?? (error as { address?: string }).address ?? this.paths.socket;
    return new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `oep cannot use ${path} (${code}): OEP_HOME ${this.paths.home} belongs to another user or is not writable.`, {
      hint: 'Use an OEP_HOME of your own (unset OEP_HOME for the default, ~/.local/state/oep), or ask its owner to run the command.',
    });
  }

  /** Calls a method only if the daemon is already running; undefined otherwise. */
  async callIfRunning<M extends MethodName>(method: M, ...args: CallArgs<M>): Promise<ResultOf<M> | undefined> {
    const [params = {} as ParamsOf<M>, options = {}] = args;
    try {
      return await this.send<ResultOf<M>>(method, params, options);
    } catch (error) {
      if (isNotRunning(error)) return undefined;
      throw error;
    }
  }

  /**
   * Starts the daemon in the background, under its keeper (OEP_NO_KEEPER=1: the daemon alone, as
   * before the keeper; a crash then waits for the next command), and waits until it answers.
   */
  async start(): Promise<void> {
    ensureHome(this.paths.home);
    checkNotLink(this.paths.daemonLog);
    // Never through a link: daemon.log -> some other file would be appended to.
    const log = openSync(this.paths.daemonLog, APPEND_NOFOLLOW, 0o600);
    const [command, args] = daemonCommand();
    // Loaded here: a command finds the daemon running far more often than it starts one.
    const { spawn } = await import('node:child_process');
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, OEP_HOME: this.paths.home },
    });
    closeSync(log);
    let exitCode: number | null = null;
    child.once('exit', (code) => (exitCode = code ?? 1));
    child.unref();
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        await this.send('status', {}, {});
        return;
      } catch (error) {
        if (!isNotRunning(error)) throw error;
      }
      // Exit code 0 means another daemon won the start race; keep waiting for it to answer.
      if ((exitCode !== null && exitCode !== 0) || Date.now() > deadline) {
        const tail = (await readLogTail(this.paths.daemonLog, 8)).split('\n').filter((line) => line.trim() !== '');
        throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'The oep daemon did not start.', {
          details: tail.length > 0 ? ['Last lines of its log:', ...tail.map((line) => `  ${line}`)] : [],
          hint: `See its whole log: ${this.paths.daemonLog}`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private send<T>(method: MethodName, params: object, options: CallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const payload = JSON.stringify({ method, params });
      let settled = false;
      let connected = false;
      let accepted = false;
      // The connection ended before the last frame (the daemon was killed, crashed or stopped).
      const lost = (): void => {
        if (settled) return;
        settled = true;
        // Ctrl-C (get-logs --follow): the caller ended it, and knows.
        if (options.signal?.aborted) reject(options.signal.reason);
        else reject(DaemonConnectionLost.plain({ method, params, accepted }, this.paths.daemonLog));
      };
      const req = request(
        {
          socketPath: this.paths.socket,
          // A connection per call: a kept-alive one may belong to a daemon that has just died
          // (its close not seen yet), which would make a daemon that is there look gone.
          agent: false,
          ...NO_SERVER_NAME,
          path: RPC_PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          signal: options.signal,
        },
        (res) => {
          res.setEncoding('utf8');
          let buffered = '';
          const handleLine = (line: string): void => {
            if (line.trim() === '') return;
            const frame = JSON.parse(line) as Frame;
            if ('event' in frame) options.onEvent?.(frame.event);
            else if ('accepted' in frame) {
              accepted = true;
              options.onAccepted?.();
              if (!options.untilAccepted || settled) return;
              settled = true;
              resolve(frame.accepted as T);
              // The daemon carries on without us.
              res.destroy();
            }
            else if ('log' in frame) options.onLog?.(frame.log);
            else if ('result' in frame) {
              settled = true;
              resolve(frame.result as T);
            } else if ('error' in frame) {
              settled = true;
              reject(OepError.fromJSON(frame.error));
            }
          };
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline >= 0) {
              handleLine(buffered.slice(0, newline));
              buffered = buffered.slice(newline + 1);
              newline = buffered.indexOf('\n');
            }
          });
          res.once('end', () => {
            handleLine(buffered);
            lost();
          });
          // Cut mid-answer: 'aborted', then 'error' (ECONNRESET), then 'close'.
          res.once('error', lost);
          res.once('close', lost);
        },
      );
      req.once('socket', (socket) => socket.once('connect', () => (connected = true)));
      req.once('error', (error) => {
        // Before connecting, the daemon is not there (ENOENT, ECONNREFUSED: the caller starts one);
        // after, it went away before answering.
        if (connected) return lost();
        if (settled) return;
        settled = true;
        reject(error);
      });
      req.end(payload);
    });
  }
}

/**
 * How the daemon is started: through `sh`, which raises the soft limit on open files to the hard
 * one and then becomes the daemon (exec, same pid). Node has no setrlimit, and the daemon needs
 * descriptors for every client connection, replica connection, probe and start: with the usual
 * soft limit of 1024 a few hundred idle connections would take them all. The daemon reads the
 * limit it got from /proc/self/limits and sizes its connection budget from it
 * (src/router/connection-budget.ts). Where `ulimit` cannot raise it, the daemon starts anyway.
 */
function daemonCommand(): [string, string[]] {
  const entry = process.env.OEP_NO_KEEPER === '1' ? DAEMON_ENTRY : KEEPER_ENTRY;
  if (process.platform === 'win32' || !existsSync('/bin/sh')) return [process.execPath, [entry]];
  return ['/bin/sh', ['-c', 'ulimit -n "$(ulimit -H -n)" 2>/dev/null; exec "$0" "$@"', process.execPath, entry]];
}

/** A method's parameters (optional when it takes none) and the call's options. */
export type CallArgs<M extends MethodName> = Record<string, never> extends ParamsOf<M>
  ? [params?: ParamsOf<M>, options?: CallOptions]
  : [params: ParamsOf<M>, options?: CallOptions];

function isNotRunning(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}
