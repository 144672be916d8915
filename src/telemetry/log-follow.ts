import { open, stat } from 'node:fs/promises';
import { rotatedLog } from './log-rotation.js';

const POLL_MS = 200;
/** The first lines come from at most this much of the end of the log (as readLogTail). */
const TAIL_BYTES = 256 * 1024;

interface FileState {
  size: number;
  ino: number;
  mtimeMs: number;
}

/**
 * Sends the last `lines` lines of a log, then everything appended to it, until `signal` aborts.
 * Polls the file size: cheap, and it survives the file being created later or truncated. It also
 * survives a rotation (see log-rotation.ts): when `<file>.1` changes, what had not been sent yet
 * is read from there, and the follow goes on from the start of the emptied file.
 */
export async function followLog(file: string, lines: number, write: (text: string) => void, signal: AbortSignal): Promise<void> {
  let position = await sizeOf(file);
  let rotated = await stateOf(rotatedLog(file));
  /** Where the file was truncated under us (a rotation whose copy was not seen yet). */
  let truncatedAt: number | undefined;
  // The tail up to `position` exactly: what is appended meanwhile comes with the follow, once.
  const tail = lastLines(await readRange(file, Math.max(0, position - TAIL_BYTES), position).catch(() => ''), lines);
  if (tail) write(`${tail}\n`);
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = await stateOf(rotatedLog(file));
    if (now && (!rotated || now.ino !== rotated.ino || now.mtimeMs !== rotated.mtimeMs || now.size !== rotated.size)) {
      // Rotated since the last look: the rest of what was followed is now the end of <file>.1.
      const from = truncatedAt ?? position;
      if (now.size > from) write(await readRange(rotatedLog(file), from, now.size));
      if (truncatedAt === undefined) position = 0;
    }
    // A rotation copies before it truncates: its copy shows by the next look, or it was no rotation.
    truncatedAt = undefined;
    rotated = now;
    const size = await sizeOf(file);
    if (size < position) {
      truncatedAt = position;
      position = 0;
    }
    if (size === position) continue;
    write(await readRange(file, position, size));
    position = size;
  }
}

function lastLines(text: string, lines: number): string {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}

async function readRange(file: string, from: number, to: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function stateOf(file: string): Promise<FileState | undefined> {
  try {
    const info = await stat(file);
    return { size: info.size, ino: info.ino, mtimeMs: info.mtimeMs };
  } catch {
    return undefined;
  }
}

async function sizeOf(file: string): Promise<number> {
  return (await stateOf(file))?.size ?? 0;
}
