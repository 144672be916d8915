import { closeSync, openSync, writeSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { APPEND_NOFOLLOW, CREATE_NEW, REPLACE_NOFOLLOW } from '../model/file-flags.js';

/**
 * Writes a file so that readers see the old content or the new content, never a mix: write a
 * sibling temporary file, fsync it, then rename it over the target (atomic on POSIX). The
 * temporary file is a new one (O_EXCL | O_NOFOLLOW: nothing already there, a link included, is
 * written through), and the rename replaces a link at the target rather than following it.
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, CREATE_NEW, mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** Writes a small file whole, never through a symbolic link (ELOOP instead). */
export function writeFileNoFollowSync(file: string, content: string, mode = 0o600): void {
  const fd = openSync(file, REPLACE_NOFOLLOW, mode);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** Appends to a file (made if missing), never through a symbolic link (ELOOP instead). */
export async function appendFileNoFollow(file: string, content: string, mode = 0o600): Promise<void> {
  const handle = await open(file, APPEND_NOFOLLOW, mode);
  try {
    await handle.appendFile(content);
  } finally {
    await handle.close();
  }
}

/**
 * A file kept open for appending while something writes to it often (a batch job's output file
 * and log: one append per mini-batch), never through a symbolic link; opened on the first write.
 * Writes go out in the order they are given; close() waits for them.
 */
export class AppendOnlyFile {
  private handle: Promise<FileHandle> | undefined;
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly mode = 0o600,
  ) {}

  append(content: string): Promise<void> {
    const write = this.last.then(async () => {
      this.handle ??= open(this.file, APPEND_NOFOLLOW, this.mode);
      await (await this.handle).write(content);
    });
    this.last = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.last;
    const opening = this.handle;
    this.handle = undefined;
    // A file that could not be opened has nothing to close (its appends failed, and said so).
    const handle = await opening?.catch(() => undefined);
    await handle?.close().catch(() => undefined);
  }
}
