import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pack as createPack } from 'tar-stream';
import { OepError } from '../../errors.js';
import { InputFileError, readInputText } from '../../spec/input-file.js';
import { MAX_YAML_BYTES } from '../../spec/yaml-source.js';

/** One file of a build context, by its path relative to the context root (posix separators). */
export interface ContextEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  /** Absolute path on disk (files), or the content itself (generated contexts). */
  source: string | Buffer;
  linkname?: string;
}

/**
 * The files of a build context, sorted, without what .dockerignore excludes (the context's own
 * .dockerignore; `*`, `**`, `?`, `!` negation, as Docker reads it).
 */
export async function readContext(root: string, dockerfile = 'Dockerfile'): Promise<ContextEntry[]> {
  // The Dockerfile and .dockerignore are always sent, as Docker does.
  const kept = new Set([posix.normalize(dockerfile.split(sep).join(posix.sep)), '.dockerignore']);
  // Bounded, and never a FIFO or a device: a .dockerignore that is a named pipe must not block the build.
  const ignore = parseDockerignore(
    await readInputText(join(root, '.dockerignore'), MAX_YAML_BYTES).catch((error: unknown) => {
      if (error instanceof InputFileError && error.problem === 'missing') return '';
      // Not ignored silently: what it would have kept out of the image must not go in.
      if (error instanceof InputFileError) throw new OepError('OEP_ERR_FILE_NOT_FOUND', `The build context's .dockerignore ${error.message}.`, { hint: 'Make it a regular file (or remove it).' });
      throw error;
    }),
  );
  const entries: ContextEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const entryName of names) {
      const absolute = join(dir, entryName);
      const name = relative(root, absolute).split(sep).join(posix.sep);
      const stat = await lstat(absolute);
      const ignored = !kept.has(name) && isIgnored(name, ignore);
      if (stat.isDirectory()) {
        // A directory is walked even when ignored, since a later "!" pattern may re-include a file.
        if (!ignored) entries.push({ name, type: 'directory', mode: stat.mode & 0o7777, size: 0, source: absolute });
        await walk(absolute);
      } else if (!ignored && stat.isSymbolicLink()) {
        entries.push({ name, type: 'symlink', mode: stat.mode & 0o7777, size: 0, source: absolute, linkname: await readlink(absolute) });
      } else if (!ignored && stat.isFile()) {
        entries.push({ name, type: 'file', mode: stat.mode & 0o7777, size: stat.size, source: absolute });
      }
    }
  };
  await walk(root);
  return entries;
}

/** A generated context from in-memory files (e.g. the conda step's Dockerfile and conda.yaml). */
export function memoryContext(files: Record<string, string>): ContextEntry[] {
  return Object.keys(files)
    .sort()
    .map((name) => {
      const content = Buffer.from(files[name]!, 'utf8');
      return { name, type: 'file' as const, mode: 0o644, size: content.length, source: content };
    });
}

/** A digest of names, types, executable bits and contents: equal digests mean equal contexts. */
export async function digestContext(entries: ContextEntry[]): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of entries) {
    hash.update(`${entry.type}\0${entry.name}\0${entry.mode & 0o111 ? 'x' : '-'}\0`);
    if (entry.type === 'symlink') hash.update(`${entry.linkname}\0`);
    if (entry.type === 'file') hash.update(`${await digestFile(entry.source)}\0`);
  }
  return hash.digest('hex');
}

async function digestFile(source: string | Buffer): Promise<string> {
  if (Buffer.isBuffer(source)) return createHash('sha256').update(source).digest('hex');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The context as the tar stream the Docker build API reads. Files are streamed, not buffered. */
export function packContext(entries: ContextEntry[]): Readable {
  const pack = createPack();
  void (async () => {
    try {
      for (const entry of entries) {
        const header = { name: entry.name, mode: entry.mode, mtime: new Date(0) };
        if (entry.type === 'directory') {
          pack.entry({ ...header, type: 'directory' });
        } else if (entry.type === 'symlink') {
          pack.entry({ ...header, type: 'symlink', linkname: entry.linkname });
        } else if (Buffer.isBuffer(entry.source)) {
          pack.entry({ ...header, size: entry.size }, entry.source);
        } else {
          await new Promise<void>((resolve, reject) => {
            const sink = pack.entry({ ...header, size: entry.size }, (error) => (error ? reject(error) : resolve()));
            createReadStream(entry.source as string).once('error', reject).pipe(sink);
          });
        }
      }
      pack.finalize();
    } catch (error) {
      pack.destroy(error as Error);
    }
  })();
  // tar-stream builds on streamx; a node Readable over it is what the Docker client pipes.
  return Readable.from(pack);
}

interface IgnoreRule {
  pattern: RegExp;
  negate: boolean;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (!line || line === '.') continue;
    rules.push({ pattern: globToRegExp(line), negate });
  }
  return rules;
}

/** The last matching rule wins; a rule matching a parent directory matches its files too. */
export function isIgnored(name: string, rules: IgnoreRule[]): boolean {
  let ignored = false;
  const parts = name.split('/');
  for (const rule of rules) {
    for (let length = 1; length <= parts.length; length++) {
      if (rule.pattern.test(parts.slice(0, length).join('/'))) {
        ignored = !rule.negate;
        break;
      }
    }
  }
  return ignored;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        // "**/" matches any number of directories, including none.
        if (glob[i + 2] === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}
