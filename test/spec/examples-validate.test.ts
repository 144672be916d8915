import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem, loadAnySpec } from '../../src/spec/index.js';
import { REPO_ROOT } from '../e2e/harness.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    // conda files are environments, not endpoint or deployment specs.
    return /\.ya?ml$/.test(entry.name) && !/conda/.test(entry.name) ? [path] : [];
  });
}

describe('every YAML under examples/ validates', () => {
  const files = yamlFiles(join(REPO_ROOT, 'examples'));
  it('finds the examples', () => assert.ok(files.length >= 2));
  for (const file of files) {
    it(relative(REPO_ROOT, file), async () => {
      const result = await loadAnySpec({ file, cwd: REPO_ROOT });
      assert.deepEqual(result.errors.map(formatProblem), []);
    });
  }
});
