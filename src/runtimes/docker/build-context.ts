import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import dockerignore, { type Ignore } from '@balena/dockerignore';
import { pack as createPack } from 'tar-stream';
import { OepError } from '../../errors.js';
import { InputFileError, readInputText } from '../../spec/input-file.js';
import { MAX_YAML_BYTES } from '../../spec/yaml-source.js';

// A CommonJS module typed with `export default`: from ESM the import is the module, whose
// `default` is the same factory.
const createIgnore = dockerignore.default;

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
 * .dockerignore, as Docker reads it: parseDockerignore).
 */
export async function readContext(root: string, dockerfile = 'Dockerfile'): Promise<ContextEntry[]> {
  // The Dockerfile and .dockerignore are always sent, as Docker does.
  const kept = new Set([posix.normalize(dockerfile.split(sep).join(posix.sep)), '.dockerignore']);
  // Bounded, and never a FIFO or a device: a .dockerignore that is a named pipe must not block the build.
  const ignoreFile = join(root, '.dockerignore');
  const ignore = parseDockerignore(
    await readInputText(ignoreFile, MAX_YAML_BYTES).catch((error: unknown) => {
      if (error instanceof InputFileError && error.problem === 'missing') return '';
      // Not ignored silently: what it would have kept out of the image must not go in.
      if (error instanceof InputFileError) throw new OepError('OEP_ERR_FILE_NOT_FOUND', `The build context's .dockerignore ${error.message}.`, { hint: 'Make it a regular file (or remove it).' });
      throw error;
    }),
    ignoreFile,
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

/** The compiled rules of a .dockerignore. */
export type DockerignoreRules = Ignore;

/**
 * The rules of a .dockerignore, matched by @balena/dockerignore (a port of Docker's own matcher:
 * `*`, `?`, `**`, character classes such as `[a-c]`, `!` exceptions, the last matching rule
 * wins, a rule matching a folder matches what is in it). Case-sensitive, as Docker is on Linux.
 * A line that is not a pattern (an unclosed `[`, say) stops the build, as Docker's does.
 */
export function parseDockerignore(text: string, file = '.dockerignore'): DockerignoreRules {
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => checkPattern(line, file, index + 1));
  return createIgnore({ ignorecase: false }).add(lines.map(escapeLiterals));
}

export function isIgnored(name: string, rules: DockerignoreRules): boolean {
  return rules.ignores(name);
}

/**
 * Docker (moby/patternmatcher) matches `+ ( ) | { }` as themselves; @balena/dockerignore follows
 * Docker 19.03, which left them to the regular expression (`a+b` matched `aab`). A backslash
 * before each gives today's meaning; characters the line already escapes stay as they are.
 */
function escapeLiterals(line: string): string {
  let escaped = '';
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && i + 1 < line.length) {
      escaped += char + line[i + 1]!;
      i++;
    } else {
      escaped += '+()|{}'.includes(char) ? `\\${char}` : char;
    }
  }
  return escaped;
}

/** A pattern the matcher cannot compile is refused with its file and line, not a stack trace. */
function checkPattern(line: string, file: string, lineNumber: number): void {
  const probe = createIgnore({ ignorecase: false }).add(escapeLiterals(line));
  try {
    // Rules compile when first matched.
    probe.ignores('probe');
  } catch {
    throw new OepError('OEP_ERR_IMAGE_BUILD_FAILED', `${file}:${lineNumber}: "${line.trim()}" is not a valid .dockerignore pattern.`, {
      hint: 'Close every "[" with "]", and put a backslash before a character meant as itself (e.g. "\\[").',
    });
  }
}
