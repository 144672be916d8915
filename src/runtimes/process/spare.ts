import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../state/paths.js';
import { TOKEN_VARIABLE } from './replica-records.js';

/** The warm interpreter's entry (server/oep_spare.py). */
export const SPARE_ENTRY = join(PACKAGE_ROOT, 'server', 'oep_spare.py');

/** How a replica's process is started: what a spare must have been started with to stand in for it. */
export interface ProcessLaunch {
  python: string;
  cwd: string;
  /** The replica's environment, without its token (each process gets its own). */
  env: NodeJS.ProcessEnv;
}

/** What the spare says about itself once oep-server is imported: the interpreter that will run the replica. */
export interface SpareInterpreter {
  executable: string;
  version: string;
}

/**
 * A replica's process started ahead of time (server/oep_spare.py): the interpreter has started
 * and imported oep-server, and waits on stdin for the port and the log file. It is the same
 * process a cold start would make (same interpreter, working directory and environment, checked
 * by `launchKey`), so taking it changes nothing but the time: the start-up it saves is off the
 * path from a save to serving. It never imports the user's script before it is taken.
 *
 * It is the daemon's own child, as a cold replica is, so a replica made from it ends, stops and
 * is recorded as any other. It ends by itself when its stdin closes (the daemon is gone).
 */
export class Spare {
  readonly child: ChildProcess;
  /** The replica token in its environment (replica-records.ts): the record of the replica it becomes carries it. */
  readonly token = randomBytes(16).toString('hex');
  readonly key: string;
  /** Resolves once oep-server is imported, with the interpreter; undefined when it ended first. */
  readonly interpreter: Promise<SpareInterpreter | undefined>;
  private taken = false;

  constructor(launch: ProcessLaunch) {
    this.key = launchKey(launch);
    this.child = spawn(launch.python, [SPARE_ENTRY], {
      cwd: launch.cwd,
      env: { ...launch.env, [TOKEN_VARIABLE]: this.token },
      // Until it is taken nothing of it is anyone's log: a spare that fails is replaced by a cold start, which logs why.
      stdio: ['pipe', 'pipe', 'ignore'],
      // A session of its own, as a cold replica: it outlives a daemon crash once taken, and a stop reaches its workers.
      detached: true,
    });
    // A spare that cannot start (no interpreter) is simply not used; its end is noticed by `alive`.
    this.child.on('error', () => undefined);
    this.child.stdin?.on('error', () => undefined);
    this.child.unref();
    unrefStream(this.child.stdin);
    unrefStream(this.child.stdout);
    this.interpreter = readHello(this.child);
  }

  /** Started for this launch, still running, and not taken. */
  fits(launch: ProcessLaunch): boolean {
    return !this.taken && this.running() && this.key === launchKey(launch);
  }

  /**
   * Makes it the replica: it opens `logFile` for its output and runs oep-server with `argv`.
   * Returns its process, whose exit is the replica's.
   */
  take(argv: string[], logFile: string): ChildProcess {
    this.taken = true;
    this.child.stdin!.end(`${JSON.stringify({ argv, log: logFile })}\n`);
    return this.child;
  }

  /** Ends a spare nobody will take: its stdin closes, and it exits. */
  discard(): void {
    if (this.taken) return;
    this.taken = true;
    this.child.stdin?.end();
  }

  private running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** Interpreter, working directory and environment in one digest: a spare stands in only for the same launch. */
export function launchKey(launch: ProcessLaunch): string {
  const env = Object.entries(launch.env)
    .filter(([name, value]) => value !== undefined && name !== TOKEN_VARIABLE)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify({ python: launch.python, cwd: launch.cwd, env })).digest('hex');
}

/** The first line the spare writes on stdout (its interpreter), or undefined when it ends without one. */
function readHello(child: ChildProcess): Promise<SpareInterpreter | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const stdout = child.stdout;
    if (!stdout) return resolve(undefined);
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) return;
      try {
        const hello = JSON.parse(text.slice(0, end)) as Partial<SpareInterpreter>;
        resolve(typeof hello.executable === 'string' && typeof hello.version === 'string' ? { executable: hello.executable, version: hello.version } : undefined);
      } catch {
        resolve(undefined);
      }
    });
    stdout.on('error', () => resolve(undefined));
    stdout.on('close', () => resolve(undefined));
  });
}

/** A spare's pipes must not keep the daemon (or a test) running. */
function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}
