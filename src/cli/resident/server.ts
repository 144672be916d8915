/**
 * The resident CLI: a process the daemon starts beside itself (src/daemon/resident-cli.ts) with
 * oep's command-line code already loaded, which runs the read-only verbs (`resident` in
 * src/cli/noun.ts: list, show) for command lines that send them (client.ts). Starting Node and
 * loading commander, the command and its output formats is most of what `oep endpoint list`
 * costs; here it is paid once. The command runs exactly as in its own process: the same main(),
 * with the command line's working directory, environment and terminal shape in its context.
 * It ends when the daemon does (its stdin closes), on SIGTERM, or when oep is rebuilt.
 */
import type { Socket } from 'node:net';
import { DaemonClient } from '../../daemon/client.js';
import { oepPaths, resolveOepHome } from '../../state/paths.js';
import type { CliContext, TextSink } from '../context.js';
import { cliBuild, MAX_REQUEST_BYTES, parseRequest, type ResidentFrame, type ResidentRequest } from './protocol.cjs';

const { createServer } = process.getBuiltinModule('node:net');
const { chmodSync, lstatSync, unlinkSync } = process.getBuiltinModule('node:fs');
const { Readable } = process.getBuiltinModule('node:stream');

/** Command lines served at once; more run in their own processes. */
const MAX_RUNNING = 8;
/** How long a connection may take to send its request line before it is closed. */
const REQUEST_WAIT_MS = 5_000;

const home = resolveOepHome(process.env);
const paths = oepPaths(home);
// Before the commands are loaded (main.js below, through import()): a rebuild from here on shows
// as another build (protocol.cts). This file's own few imports are older by a moment.
const build = cliBuild();
const { isResidentCommandLine, loadResidentVerbs, main } = await import('../main.js');
const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} resident CLI: ${line}\n`);

/** The command line should run in its own process; nothing has been printed. */
class RunItThere extends Error {}

/**
 * The daemon client of a command run here: the CLI's own, asking, explaining a lost connection and
 * reporting errors as in the command line's process, except that it never starts a daemon.
 * Starting one (with the command line's environment, or not at all after `daemon stop`) is the
 * command line's own business: the command then runs there, having printed nothing here.
 */
class DaemonIfRunning extends DaemonClient {
  constructor(
    home: string,
    private readonly fallBack: () => void,
  ) {
    super(home);
  }

  override async start(): Promise<void> {
    this.fallBack();
    throw new RunItThere('the daemon is not running');
  }
}

await loadResidentVerbs();
await warmUp();
let running = 0;
const server = createServer({ allowHalfOpen: true }, (socket) => void serve(socket));
removeSocket(paths.cliSocket);
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(paths.cliSocket, () => resolve());
});
chmodSync(paths.cliSocket, 0o600);
// Ours to remove at the end, unless a later resident process has put its own there.
const ownSocket = lstatSync(paths.cliSocket).ino;
log(`ready on ${paths.cliSocket} (pid ${process.pid})`);

const stop = (why: string): void => {
  log(`stopping: ${why}`);
  server.close();
  removeSocket(paths.cliSocket, ownSocket);
  process.exit(0);
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
// The daemon holds the other end of stdin: when it ends, so does this process.
process.stdin.on('data', () => {});
process.stdin.once('end', () => stop('the daemon has gone'));
process.stdin.once('error', () => stop('the daemon has gone'));
// A bug in one command is that command's failure, never the end of this process.
process.on('uncaughtException', (error) => log(`uncaught exception: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`));

async function serve(socket: Socket): Promise<void> {
  const abort = new AbortController();
  socket.once('close', () => abort.abort());
  socket.on('error', () => abort.abort());
  // A connection that never sends its request is closed, not kept; the command's own time is not limited.
  socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
  const line = await firstLine(socket);
  socket.setTimeout(0);
  const request = line === undefined ? undefined : parseRequest(line);
  if (!request) return void socket.end(`${JSON.stringify({ fallback: 'malformed request' })}\n`);
  let frames: ResidentFrame[];
  // The command runs here: the command line waits for it (without this it would give up, client.cts).
  const runningHere = (): void => void socket.write(`${JSON.stringify({ running: true })}\n`);
  try {
    frames = await answer(request, abort.signal, runningHere);
  } catch (error) {
    // main() reports a command's own errors; this is oep's bug, and the command line runs it itself.
    log(`could not run oep ${request.argv.slice(0, 2).join(' ')}: ${(error as Error).stack ?? String(error)}`);
    frames = [{ fallback: 'internal error' }];
  }
  if (!socket.destroyed) socket.end(frames.map((frame) => `${JSON.stringify(frame)}\n`).join(''));
}

/** What a command line gets back: its output and exit code, or `fallback` (run it yourself). */
async function answer(request: ResidentRequest, signal: AbortSignal, runningHere: () => void): Promise<ResidentFrame[]> {
  if (request.build !== build) {
    // This process is the older build: the next daemon start brings the new one.
    if (cliBuild() !== build) setImmediate(() => stop('oep was rebuilt'));
    return [{ fallback: 'another build' }];
  }
  if (resolveOepHome(request.env, request.cwd) !== home) return [{ fallback: 'another OEP_HOME' }];
  if (running >= MAX_RUNNING) return [{ fallback: 'busy' }];
  running++;
  // Held until the command ends: a command that must run in its own process after all has printed nothing.
  const frames: ResidentFrame[] = [];
  let fellBack = false;
  try {
    if (!(await isResidentCommandLine(request.argv))) return [{ fallback: 'not here' }];
    runningHere();
    const started = process.hrtime.bigint();
    const code = await main(request.argv, residentContext(request, frames, signal, () => (fellBack = true)));
    if (fellBack) return [{ fallback: 'the daemon is not running' }];
    frames.push({ exit: code });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log(`oep ${request.argv.slice(0, 2).join(' ')}: exit ${code} in ${ms.toFixed(1)} ms`);
    return frames;
  } finally {
    running--;
  }
}

/** The command line's context (src/cli/context.ts): its directory, environment, terminal shape; no input. */
function residentContext(request: ResidentRequest, frames: ResidentFrame[], signal: AbortSignal, fallBack: () => void): CliContext {
  const sink = (key: 'out' | 'err', shape: ResidentRequest['stdout']): TextSink => ({
    write: (text: string) => frames.push({ [key]: text } as ResidentFrame),
    isTTY: shape.isTTY,
    columns: shape.columns,
  });
  return {
    env: request.env,
    cwd: request.cwd,
    stdout: sink('out', request.stdout),
    stderr: sink('err', request.stderr),
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    home,
    client: new DaemonIfRunning(home, fallBack),
    confirm: () => Promise.reject(new Error('a resident verb asked a question')),
    interrupt: signal,
    claimInterrupt() {},
  };
}

/**
 * Runs `endpoint list` in each output format a few times against a made-up answer, so that V8 has
 * compiled the common path before the first real command line (the first run of a command takes
 * several times as long as the next ones).
 */
async function warmUp(): Promise<void> {
  const sample = [{ name: 'warm-up', provisioning_state: 'Succeeded', kind: 'Managed', location: 'local', traffic: { blue: 100 } }];
  const answer = (async () => JSON.parse(JSON.stringify(sample))) as unknown as CliContext['client']['call'];
  const request: ResidentRequest = { build, argv: [], cwd: process.cwd(), env: { NO_COLOR: '1' }, stdout: { isTTY: false, columns: 0 }, stderr: { isTTY: false, columns: 0 } };
  for (let round = 0; round < 10; round++) {
    for (const output of ['table', 'json', 'tsv', 'yaml']) {
      const ctx = residentContext(request, [], new AbortController().signal, () => {});
      await main(['endpoint', 'list', '-o', output, '--query', '[].name'], { ...ctx, client: { paths, call: answer, callIfRunning: answer } });
    }
  }
}

/** The request's line, or undefined when the connection ends first or it is too long. */
function firstLine(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    const done = (value: string | undefined): void => {
      socket.removeAllListeners('data');
      resolve(value);
    };
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline >= 0) done(text.slice(0, newline));
      else if (text.length > MAX_REQUEST_BYTES) done(undefined);
    });
    socket.once('end', () => done(undefined));
  });
}

/** A socket (this process's own, when `inode` is given, or one a killed one left); never anything else. */
function removeSocket(path: string, inode?: number): void {
  try {
    const stats = lstatSync(path);
    if (stats.isSocket() && (inode === undefined || stats.ino === inode)) unlinkSync(path);
  } catch {
    // nothing there
  }
}
