/**
 * The command line's half of the resident CLI: sends the command line to the resident process
 * (server.ts) when one is listening for this OEP_HOME and prints what it answers. Loads nothing
 * else of oep: this is the whole start-up of `oep endpoint list` when the daemon is up
 * (bench/cli-latency). Anything unexpected means "run it here instead" (undefined). CommonJS
 * (.cts), as bin/oep.js is: a CommonJS start loads no ES module machinery (about 3 ms).
 */
import { lstatSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { resolveOepHome, socketPathFor } from '../../state/home-paths.cjs';
import { cliBuild, type ResidentFrame, type ResidentRequest, type SinkShape } from './protocol.cjs';

/**
 * How long the resident process may take to say that it runs the command (or that it does not):
 * one that accepts connections but never answers (stopped, stuck) costs a command this, then the
 * command runs in its own process. Its own answer comes in a few milliseconds.
 */
const ANSWER_WAIT_MS = 2_000;
/** Output past this size goes through Node's stream (which Ctrl-C can interrupt), not one blocking write. */
const DIRECT_WRITE_MAX = 64 * 1024;

/**
 * Runs the command line in the resident process and returns its exit code, or undefined when the
 * command line should run in this process: no resident process, OEP_CLI_RESIDENT=0, a verb that
 * is not resident, another build, no daemon running, or a socket that is not this user's alone.
 */
export async function runResident(argv: readonly string[]): Promise<number | undefined> {
  const env = process.env;
  if (env.OEP_CLI_RESIDENT === '0') return undefined;
  const home = resolveOepHome(env);
  const cliSocket = socketPathFor(home, undefined, undefined, 'cli');
  // The request carries the environment: only to a socket this user's own process made (a socket
  // file belongs to whoever bound it). The command itself checks OEP_HOME as everywhere else.
  if (!ownPrivateSocket(cliSocket)) return undefined;
  // Loaded only now: most command lines without a resident process never need them.
  const { connect } = process.getBuiltinModule('node:net');
  const { isatty } = process.getBuiltinModule('node:tty');
  const request: ResidentRequest = {
    build: cliBuild(),
    argv: [...argv],
    cwd: process.cwd(),
    env: env as Record<string, string>,
    stdout: shapeOf(isatty(1), () => process.stdout),
    stderr: shapeOf(isatty(2), () => process.stderr),
  };
  return new Promise((resolve) => {
    const socket = connect(cliSocket);
    let buffered = '';
    let printed = false;
    let settled = false;
    const settle = (code: number | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(unanswered);
      socket.destroy();
      resolve(code);
    };
    const unanswered = setTimeout(() => settle(undefined), ANSWER_WAIT_MS);
    const lost = (): void => {
      if (settled) return;
      // Nothing printed yet: this process runs the command itself, as if no resident process were there.
      if (!printed) return settle(undefined);
      process.stderr.write('error: the resident oep process stopped before the command finished.\nhint: run the command again.\n(OEP_ERR_DAEMON_UNAVAILABLE)\n');
      settle(1);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0 && !settled; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let frame: ResidentFrame;
        try {
          frame = JSON.parse(line) as ResidentFrame;
        } catch {
          return lost();
        }
        clearTimeout(unanswered);
        if ('running' in frame) continue;
        if ('out' in frame) {
          printed = true;
          print(1, frame.out, () => process.stdout);
        } else if ('err' in frame) {
          printed = true;
          print(2, frame.err, () => process.stderr);
        } else if ('exit' in frame) settle(frame.exit);
        else if ('fallback' in frame && !printed) settle(undefined);
        else lost();
      }
    });
    socket.once('error', lost);
    socket.once('close', lost);
    socket.end(`${JSON.stringify(request)}\n`);
  });
}

/** A terminal and its width, or a pipe or file (whose stream is not made until something is written: start-up time). */
function shapeOf(terminal: boolean, stream: () => NodeJS.WriteStream): SinkShape {
  return terminal ? { isTTY: true, columns: stream().columns ?? 0 } : { isTTY: false, columns: 0 };
}

/**
 * Writes to stdout or stderr without making Node's stream for it (for a pipe that loads the
 * streams, about 1 ms): straight to the descriptor, as Node's own streams do for files, pipes and
 * terminals on Linux (synchronously). A descriptor someone left non-blocking (EAGAIN) gets the
 * rest through the stream, which waits; a reader that has gone (EPIPE) ends oep quietly, as
 * bin/oep.js does for the stream.
 */
function print(fd: number, text: string, stream: () => NodeJS.WriteStream): void {
  let rest = Buffer.from(text);
  if (!throughStream.has(fd) && rest.length <= DIRECT_WRITE_MAX) {
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw error;
    }
  }
  // From here on everything for this descriptor goes through the stream, in order.
  if (!throughStream.has(fd)) stream().on('error', quietOnEpipe);
  throughStream.add(fd);
  stream().write(rest);
}

/** The descriptors whose output goes through Node's stream (see print()). */
const throughStream = new Set<number>();

/** For stdout's stream: a reader that stops early (oep ... | head) ends oep quietly, as other tools do, not with an unhandled EPIPE. */
export function quietOnEpipe(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
}

/** A unix socket owned by this user, in a folder only this user can write to. */
function ownPrivateSocket(path: string): boolean {
  const uid = process.geteuid?.();
  try {
    const socket = lstatSync(path);
    const folder = lstatSync(dirname(path));
    return socket.isSocket() && socket.uid === uid && folder.isDirectory() && folder.uid === uid && (folder.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
