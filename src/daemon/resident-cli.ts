/**
 * The daemon starts the resident CLI (src/cli/resident/server.ts) beside itself: a process with
 * oep's command-line code loaded, which runs `oep endpoint list` and the other read-only verbs for
 * command lines in a few milliseconds instead of a whole Node start (bench/cli-latency). Started
 * by path, not imported (the CLI sits above the daemon); it lives as long as the daemon: its stdin
 * is a pipe from here, and it ends when that closes, even when the daemon is killed.
 */
import type { ChildProcess } from 'node:child_process';
const { spawn } = process.getBuiltinModule('node:child_process');
const { fileURLToPath } = process.getBuiltinModule('node:url');

const ENTRY = fileURLToPath(new URL('../cli/resident/server.js', import.meta.url));

export interface ResidentCli {
  /** Ends the resident process (daemon stop or hand-over); resolves once it has exited (at most 2 s). */
  stop(): Promise<void>;
}

const STOP_WAIT_MS = 2_000;

/**
 * Starts the resident CLI for this OEP_HOME, unless OEP_CLI_RESIDENT=0. Its lines go to the
 * daemon's log; if it dies, command lines run in their own processes, as before it existed.
 */
export function startResidentCli(home: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): ResidentCli {
  if (env.OEP_CLI_RESIDENT === '0') return { stop: async () => {} };
  let stopped = false;
  const child: ChildProcess = spawn(process.execPath, [ENTRY], {
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...env, OEP_HOME: home },
  });
  child.once('error', (error) => log(`resident CLI could not start: ${error.message}`));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopped) log(`resident CLI ended (${signal ?? `exit ${code}`}); commands run in their own processes`);
      resolve();
    });
    child.once('error', () => resolve());
  });
  return {
    async stop() {
      stopped = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}
