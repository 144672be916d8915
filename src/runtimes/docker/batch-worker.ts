import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { PassThrough, type Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { APPEND_NOFOLLOW } from '../../model/file-flags.js';
import type { MiniBatch } from '../../model/batch-plan.js';
import { parseMessage } from '../process/batch-worker.js';
import type { BatchWorker, WorkerEnd, WorkerLauncher, WorkerMessage } from '../types.js';
import { batchContainerOptions, containerPath, type BatchDockerLaunch } from './batch-launch.js';
import { BATCH_LABELS, homeLabel, LABELS } from './labels.js';

/**
 * Batch workers as containers, one per worker, speaking the worker protocol (docs/batch.md) over
 * the container's attached streams: stdin carries mini-batches, stdout (demultiplexed) only the
 * protocol, stderr goes to the worker's log file. The image is prepared once, by the first start;
 * a container is removed when its worker ends, whichever way (`ended` resolves after that).
 */
export function dockerWorkerLauncher(launch: BatchDockerLaunch): WorkerLauncher {
  let image: Promise<{ reference: string; python: string }> | undefined;
  return {
    async start(slot) {
      image ??= launch.image();
      const prepared = await image;
      const docker = await launch.engine.docker();
      const container = await docker.createContainer({ ...batchContainerOptions(launch.plan, prepared, slot), name: launch.name(slot) });
      let stream: Duplex;
      try {
        // Attached before the start, so not a line of the worker's output is missed.
        stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
        await container.start();
      } catch (error) {
        await removeContainer(container);
        throw new Error(`the worker container could not start: ${dockerMessage(error)}`);
      }
      return attachedWorker(docker, container, stream, launch, slot);
    },
  };
}

/** The protocol over a started container's attached streams. */
function attachedWorker(docker: Dockerode, container: Dockerode.Container, stream: Duplex, launch: BatchDockerLaunch, slot: number): BatchWorker {
  const log = createWriteStream(launch.logFile(slot), { flags: APPEND_NOFOLLOW as unknown as string, mode: 0o600 });
  // A log that cannot be written (a link where it should be: ELOOP) loses the log, not the daemon.
  log.on('error', () => undefined);
  const stdout = new PassThrough();
  docker.modem.demuxStream(stream, stdout, log);
  // A write after the container is gone (a kill while a mini-batch was sent).
  stream.on('error', () => undefined);
  let listener: ((message: WorkerMessage) => void) | undefined;
  const early: WorkerMessage[] = [];
  createInterface({ input: stdout }).on('line', (line) => {
    const message = parseMessage(line);
    if (listener) listener(message);
    else early.push(message);
  });
  const streamEnded = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  let killed = false;
  const ended = (async (): Promise<WorkerEnd> => {
    let end: WorkerEnd;
    try {
      const result = (await container.wait()) as { StatusCode?: number };
      end = killed ? { code: null, signal: 'SIGKILL' } : { code: result.StatusCode ?? null, signal: null };
    } catch (error) {
      end = { code: null, signal: null, error: `the worker container was lost: ${dockerMessage(error)}` };
    }
    // Every message the worker wrote is delivered before its end.
    await streamEnded;
    stdout.end();
    await new Promise<void>((resolve) => log.end(resolve));
    await removeContainer(container);
    return end;
  })();
  return {
    send(batch: MiniBatch) {
      const files = batch.files.map((file) => containerPath(launch.plan.inputMap, file));
      stream.write(`${JSON.stringify({ mini_batch: batch.index, files })}\n`);
    },
    onMessage(fn) {
      listener = fn;
      for (const message of early.splice(0)) fn(message);
    },
    ended,
    finish() {
      // Half-closes the attach connection: the engine closes the worker's stdin (StdinOnce).
      stream.end();
    },
    async kill() {
      killed = true;
      await container.kill().catch(() => undefined);
      await ended;
    },
  };
}

/**
 * Removes the batch worker containers of a home created before `before` (ms since the epoch, the
 * daemon's start): left by a daemon that was killed, whose jobs are Failed at the next start.
 * Workers of jobs this daemon started meanwhile are not touched.
 */
export async function removeBatchWorkers(docker: Dockerode, home: string, before: number): Promise<number> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.home}=${homeLabel(home)}`, BATCH_LABELS.job] } });
  // Docker's Created is in whole seconds.
  const left = listed.filter((container) => container.Created * 1000 < before - 1000);
  for (const container of left) await removeContainer(docker.getContainer(container.Id));
  return left.length;
}

async function removeContainer(container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch {
    // Gone already (404), being removed (409), or the engine went away: nothing left to do here.
  }
}

function dockerMessage(error: unknown): string {
  return ((error as { json?: { message?: string } }).json?.message ?? (error as Error).message ?? String(error)).trim();
}
