/** The last `lines` lines of a file ('' when it does not exist). Reads at most the last 256 KiB. */
export async function readLogTail(file: string, lines: number): Promise<string> {
  // Loaded here, not imported: every command loads this module, few read a log (start-up time).
  const { open } = process.getBuiltinModule('node:fs/promises');
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 256 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const all = buffer.toString('utf8').split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}

/** The last Python traceback in a log, from "Traceback (most recent call last):" to its exception line. */
export function extractTraceback(log: string): string | undefined {
  const lines = log.split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith('Traceback (most recent call last):')) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const out = [lines[start]!];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    out.push(line);
    // The exception line is the first unindented line after the frames.
    if (!line.startsWith(' ') && line.trim() !== '') break;
  }
  return out.join('\n');
}
