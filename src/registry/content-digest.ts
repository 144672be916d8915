import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What a file or folder holds, as one digest: the relative paths, kinds and bytes of everything
 * in it, links followed (as a registered snapshot copies them). Two folders with the same files
 * have the same digest wherever they are, as Azure's upload hash names the same content the same
 * way. Python's byte-code caches (`__pycache__`, `*.pyc`) are left out: a scoring run writes
 * them beside the model, and they are no part of what was registered.
 */
export async function contentDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  await addEntry(hash, path, '.', new Set());
  return hash.digest('hex');
}

const IGNORED = /^(__pycache__|.*\.py[co])$/;

async function addEntry(hash: Hash, path: string, relative: string, folders: Set<string>): Promise<void> {
  const info = await stat(path);
  if (info.isDirectory()) {
    // A link back up the tree would never end; it is named, not followed again.
    const real = await realpath(path);
    if (folders.has(real)) {
      hash.update(`loop ${relative}\0`);
      return;
    }
    hash.update(`dir ${relative}\0`);
    const inside = new Set(folders).add(real);
    for (const entry of (await readdir(path)).sort()) {
      if (IGNORED.test(entry)) continue;
      await addEntry(hash, join(path, entry), `${relative}/${entry}`, inside);
    }
    return;
  }
  if (!info.isFile()) {
    // A FIFO or device is never read (it could block); registering refuses it with its own message.
    hash.update(`special ${relative}\0`);
    return;
  }
  hash.update(`file ${relative} ${info.size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
