import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/**
 * Reading a file the user named (a YAML, a conda file, a Dockerfile, the image map) without
 * trusting what the path turns out to be: it is opened without blocking (a FIFO with no writer
 * opens at once), checked to be a regular file on the open descriptor, and read up to a limit
 * (a file that grows, or reports no size as /proc's do, stops there). A FIFO, a device or a
 * socket is refused before a byte is read, so `-f /dev/zero`, `-f /dev/urandom` or a named pipe
 * can neither fill memory nor block the process in a read that no signal ends.
 */
export type InputFileProblem = 'missing' | 'directory' | 'special' | 'too-large' | 'unreadable';

export class InputFileError extends Error {
  override readonly name = 'InputFileError';
  constructor(
    readonly path: string,
    readonly problem: InputFileProblem,
    /** What went wrong, in words, without the path (e.g. "is a named pipe (FIFO), not a regular file"). */
    readonly reason: string,
    /** The errno code behind it, when there is one. */
    readonly code?: string,
  ) {
    super(`${path} ${reason}`);
  }
}

/** What a path that is neither a regular file nor a folder is, in words ("a named pipe (FIFO)"). */
export function describeSpecialFile(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

const NON_BLOCKING_READ = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
/** The first read; larger files get a buffer of their size (and one byte more, to see past it). */
const FIRST_READ_BYTES = 64 * 1024;

/** Reads the regular file at `path`, at most `maxBytes` of it; throws InputFileError otherwise. */
export async function readInputFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, NON_BLOCKING_READ);
  } catch (error) {
    throw await openFailure(path, error as NodeJS.ErrnoException);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new InputFileError(path, 'directory', 'is a directory, not a file', 'EISDIR');
    if (!info.isFile()) throw new InputFileError(path, 'special', `is ${describeSpecialFile(info)}, not a regular file`);
    if (info.size > maxBytes) throw tooLarge(path, info.size, maxBytes);
    let buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(info.size + 1, FIRST_READ_BYTES)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw tooLarge(path, undefined, maxBytes);
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw tooLarge(path, undefined, maxBytes);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputFileError(path, 'unreadable', `cannot be read (${code ?? (error as Error).message})`, code);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Reads the regular file at `path` as UTF-8 text, at most `maxBytes` of it. */
export async function readInputText(path: string, maxBytes: number): Promise<string> {
  return (await readInputFile(path, maxBytes)).toString('utf8');
}

/** Its reason says the size when it is known ("is 12.3 MB"), else "is larger than 10 MB"; callers add the limit. */
function tooLarge(path: string, size: number | undefined, maxBytes: number): InputFileError {
  return new InputFileError(path, 'too-large', size === undefined ? `is larger than ${formatMegabytes(maxBytes)}` : `is ${(size / 1024 / 1024).toFixed(1)} MB`);
}

/** A limit in bytes as "10 MB" (MiB, as the caps are written). */
export function formatMegabytes(bytes: number): string {
  const mb = bytes / 1024 / 1024;
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

async function openFailure(path: string, error: NodeJS.ErrnoException): Promise<InputFileError> {
  const code = error.code;
  if (code === 'ENOENT') return new InputFileError(path, 'missing', 'does not exist', code);
  if (code === 'EISDIR') return new InputFileError(path, 'directory', 'is a directory, not a file', code);
  // A unix socket cannot be opened (ENXIO); say what it is.
  if (code === 'ENXIO' || code === 'EOPNOTSUPP') {
    const info = await stat(path).catch(() => undefined);
    if (info && !info.isFile() && !info.isDirectory()) return new InputFileError(path, 'special', `is ${describeSpecialFile(info)}, not a regular file`, code);
  }
  return new InputFileError(path, 'unreadable', `cannot be read (${code ?? error.message})`, code);
}
