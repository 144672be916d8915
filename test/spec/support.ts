import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProblem } from '../../src/spec/index.js';
import type { SpecResult } from '../../src/spec/index.js';

/** The repository root (compiled tests run from dist/test/spec). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = 'test/fixtures/spec';

/** Every problem as the user sees it. */
export function formatted(r: SpecResult<unknown>): { errors: string[]; warnings: string[] } {
  return { errors: r.errors.map(formatProblem), warnings: r.warnings.map(formatProblem) };
}

/** Runs `fn` in a fresh temporary directory holding `files` (path -> content), then removes it. */
export async function withTree<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'oep-spec-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
