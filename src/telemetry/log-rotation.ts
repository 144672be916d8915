import { constants } from 'node:fs';
import { copyFile, lstat, open, readdir, rm } from 'node:fs/promises';
import { WRITE_EXISTING_NOFOLLOW } from '../model/file-flags.js';
import { join } from 'node:path';

/** The rotated copy of a log: one is kept, the next rotation replaces it. */
export function rotatedLog(file: string): string {
  return `${file}.1`;
}

/**
 * Rotates a log past `maxBytes`: its content becomes `<file>.1` (replacing the previous one) and
 * the file is emptied in place (copy, then truncate). In place, because the writers hold the file
 * open: a process replica's stdout, a container's log follower, the access log; they all append
 * (O_APPEND), so they go on writing at the start of the emptied file. Lines written between the
 * copy and the truncation are lost (logrotate's copytruncate has the same window, a few
 * microseconds). Returns whether it rotated.
 */
export async function rotateIfLarger(file: string, maxBytes: number): Promise<boolean> {
  let size: number;
  try {
    // lstat: a link in place of a log is not rotated (nor copied, nor emptied through).
    const info = await lstat(file);
    if (!info.isFile()) return false;
    size = info.size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  // copyFile gives the copy the source's mode (0600). It writes the copy through a link at
  // <log>.1, so whatever is there goes first and the copy is a new file (COPYFILE_EXCL).
  await rm(rotatedLog(file), { force: true });
  await copyFile(file, rotatedLog(file), constants.COPYFILE_EXCL);
  // Emptied through what was opened without following a link (truncate by name would follow one).
  const handle = await open(file, WRITE_EXISTING_NOFOLLOW);
  try {
    await handle.truncate(0);
  } finally {
    await handle.close();
  }
  return true;
}

export interface LogRotatorOptions {
  /** Folders whose `*.log` files rotate (searched recursively: logs/<endpoint>/<deployment>/). */
  dirs: string[];
  /** Single files that rotate too (the daemon's own log). */
  files?: string[];
  /** The size limit, read at every sweep so a changed setting applies without a restart. */
  maxBytes: () => Promise<number>;
  /** How often the sizes are checked (default 5 s). */
  intervalMs?: number;
  log?: (line: string) => void;
}

/**
 * The daemon's log rotation: every few seconds it rotates each log past the size limit
 * (`oep config set log_max_mb`). A log can pass the limit by what is written between two checks.
 */
export class LogRotator {
  private timer?: NodeJS.Timeout;
  private running?: Promise<string[]>;

  constructor(private readonly options: LogRotatorOptions) {}

  start(): void {
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.sweep().finally(tick);
      }, this.options.intervalMs ?? 5000);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Rotates what is over the limit now; returns the files it rotated. */
  sweep(): Promise<string[]> {
    this.running ??= this.rotateAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async rotateAll(): Promise<string[]> {
    const rotated: string[] = [];
    let maxBytes: number;
    try {
      maxBytes = await this.options.maxBytes();
    } catch (error) {
      this.options.log?.(`log rotation: cannot read the size limit: ${(error as Error).message}`);
      return rotated;
    }
    const files = [...(this.options.files ?? [])];
    for (const dir of this.options.dirs) files.push(...(await logsUnder(dir)));
    for (const file of files) {
      try {
        if (await rotateIfLarger(file, maxBytes)) rotated.push(file);
      } catch (error) {
        this.options.log?.(`log rotation: cannot rotate ${file}: ${(error as Error).message}`);
      }
    }
    return rotated;
  }
}

/** Every `*.log` file below a folder. */
async function logsUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await logsUnder(path)));
    else if (entry.isFile() && entry.name.endsWith('.log')) out.push(path);
  }
  return out;
}
