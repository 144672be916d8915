import { open, stat } from 'node:fs/promises';
import { readLogTail } from './log-tail.js';

const POLL_MS = 200;

/**
 * Sends the last `lines` lines of a log, then everything appended to it, until `signal` aborts.
 * Polls the file size: cheap, and it survives the file being created later or truncated.
 */
export async function followLog(file: string, lines: number, write: (text: string) => void, signal: AbortSignal): Promise<void> {
  let position = await sizeOf(file);
  const tail = await readLogTail(file, lines);
  if (tail) write(`${tail}\n`);
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const size = await sizeOf(file);
    if (size < position) position = 0;
    if (size === position) continue;
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(size - position);
      await handle.read(buffer, 0, buffer.length, position);
      position = size;
      write(buffer.toString('utf8'));
    } finally {
      await handle.close();
    }
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
