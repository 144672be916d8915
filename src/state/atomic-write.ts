import { open, rename, unlink } from 'node:fs/promises';

/**
 * Writes a file so that readers see the old content or the new content, never a mix: write a
 * sibling temporary file, fsync it, then rename it over the target (atomic on POSIX).
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, 'w', mode);
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
