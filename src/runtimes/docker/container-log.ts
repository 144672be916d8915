import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { APPEND_NOFOLLOW } from '../../model/file-flags.js';
import type Dockerode from 'dockerode';

export interface LogFollower {
  /** Resolves once everything the container wrote is in the file (or following failed). */
  readonly done: Promise<void>;
  stop(): void;
}

/**
 * Copies a container's stdout and stderr into the replica's log file, so `get-logs` and
 * `--follow` read containers and processes alike. An adopted container resumes from the log
 * file's last write, so a daemon restart neither loses nor repeats much.
 */
export async function followContainerLog(docker: Dockerode, container: Dockerode.Container, file: string, resume: boolean): Promise<LogFollower> {
  let since: string | undefined;
  if (resume) {
    const mtime = await stat(file).then((info) => info.mtimeMs).catch(() => undefined);
    // Docker reads "seconds.nanoseconds"; a millisecond clock is enough here.
    if (mtime !== undefined) since = `${Math.floor(mtime / 1000)}.${String(Math.floor(mtime % 1000) * 1_000_000).padStart(9, '0')}`;
  }
  // Never through a link (O_NOFOLLOW); flags as a number, which fs.open takes.
  const out = createWriteStream(file, { flags: APPEND_NOFOLLOW as unknown as string, mode: 0o600 });
  const options = { follow: true as const, stdout: true, stderr: true, ...(since ? { since: since as unknown as number } : {}) };
  let source: NodeJS.ReadableStream | undefined;
  const done = (async () => {
    try {
      source = await container.logs(options);
      const sink = new PassThrough();
      sink.pipe(out, { end: false });
      docker.modem.demuxStream(source, sink, sink);
      await new Promise<void>((resolve) => {
        source!.once('end', resolve);
        source!.once('close', resolve);
        source!.once('error', () => resolve());
      });
      sink.end();
      await new Promise<void>((resolve) => sink.once('end', resolve));
    } catch {
      // The container is gone or the engine stopped answering: nothing more to copy.
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
  })();
  return {
    done,
    stop: () => {
      const stream = source as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
      stream?.destroy?.();
    },
  };
}
