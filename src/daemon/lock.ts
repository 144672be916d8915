import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Takes the daemon's start lock (a file created exclusively, holding our pid). Returns false
 * when a live process holds it; a lock left by a dead process is taken over.
 */
export function acquireLock(file: string): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readSafe(file));
    if (holder && holder !== process.pid && isAlive(holder)) return false;
    try {
      unlinkSync(file);
    } catch {
      // another starter removed it first; try again
    }
  }
  return false;
}

export function releaseLock(file: string): void {
  if (Number(readSafe(file)) === process.pid) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

function readSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/** A process that exited but was not reaped yet (a zombie) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
