import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem, loadAnySpec } from '../../src/spec/index.js';
import { REPO_ROOT } from '../e2e/harness.js';

/**
 * Endpoint and deployment YAMLs. Not: conda files; MLflow model folders (their YAML is MLflow's);
 * registry assets (environment or model YAML, checked by `oep environment|model create` in
 * test/e2e/readme.test.ts).
 */
function yamlFiles(dir: string): string[] {
  if (existsSync(join(dir, 'MLmodel'))) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    // conda files are environments, not endpoint or deployment specs.
    if (!/\.ya?ml$/.test(entry.name) || /conda/.test(entry.name)) return [];
    return /^\$schema: .*\/(environment|model)\.schema\.json/m.test(readFileSync(path, 'utf8')) ? [] : [path];
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
