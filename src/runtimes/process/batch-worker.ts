import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { MiniBatch } from '../../model/batch-plan.js';
import type { BatchWorker, WorkerEnd, WorkerLauncher, WorkerMessage } from '../types.js';
import { APPEND_NOFOLLOW } from '../../model/file-flags.js';
import { signalGroup } from './replica-records.js';

/** How every worker of one job starts: the same launch a scoring server would get, another program. */
export interface BatchProcessLaunch {
  python: string;
  /** Arguments after the interpreter (oep's batch worker). */
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The file a worker's stderr (the script's prints and logging) goes to. */
  logFile: (slot: number) => string;
}

/**
 * Batch workers as child processes of the daemon. stdin carries mini-batches, stdout only the
 * worker's protocol (the worker points its own fd 1 at stderr for the script's prints), stderr
 * the log. Each worker leads its own process group, so a kill also ends what run() started.
 * A worker whose daemon dies sees its stdin close and ends after the mini-batch it is on.
 */
export function processWorkerLauncher(launch: BatchProcessLaunch): WorkerLauncher {
  return {
    async start(slot) {
      const log = await open(launch.logFile(slot), APPEND_NOFOLLOW, 0o600);
      const child = spawn(launch.python, [...launch.args], { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', log.fd], detached: true }) as ChildProcessByStdio<Writable, Readable, null>;
      let listener: ((message: WorkerMessage) => void) | undefined;
      const early: WorkerMessage[] = [];
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const message = parseMessage(line);
        if (listener) listener(message);
        else early.push(message);
      });
      // A worker killed while a mini-batch was being written to it.
      child.stdin.on('error', () => undefined);
      const ended = new Promise<WorkerEnd>((resolve) => {
        child.once('error', (error: NodeJS.ErrnoException) => {
          resolve({
            code: null,
            signal: null,
            error: error.code === 'ENOENT' ? `the Python interpreter "${launch.python}" was not found` : `could not start "${launch.python}": ${error.message}`,
          });
        });
        // 'close': stdout fully read, so every message the worker wrote is delivered before its end.
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      let gone = false;
      void ended.then(() => (gone = true));
      // Only now, with the child's 'error' listened for: a spawn that failed (no such interpreter)
      // emits it while this await yields, and unheard it would end the daemon.
      await log.close();
      return {
        send(batch: MiniBatch) {
          child.stdin.write(`${JSON.stringify({ mini_batch: batch.index, files: batch.files })}\n`);
        },
        onMessage(fn) {
          listener = fn;
          for (const message of early.splice(0)) fn(message);
        },
        ended,
        finish() {
          child.stdin.end();
          // What the worker started and left behind (init()'s background processes) goes with it.
          void ended.then(() => {
            if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
          });
        },
        async kill() {
          if (!gone && child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
          await ended;
        },
      };
    },
  };
}

/** A protocol line; anything else the worker wrote there is reported as what it is (the docker launcher reads lines the same way). */
export function parseMessage(line: string): WorkerMessage {
  try {
    const message = JSON.parse(line) as WorkerMessage;
    if (message && typeof message === 'object' && typeof message.event === 'string') return message;
  } catch {
    // Not JSON: fall through.
  }
  return { event: 'failed', mini_batch: -1, error: `the batch worker wrote something that is not its protocol: ${line.slice(0, 200)}` };
}
