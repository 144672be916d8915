import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_EXIT_CODES } from '../../src/errors.js';
import { REPO_ROOT } from '../e2e/harness.js';

test('docs/errors.md lists exactly the error codes of src/errors.ts, with the same exit codes', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  const documented = new Map<string, number>();
  for (const match of doc.matchAll(/^\| `(OEP_ERR_[A-Z_]+)` \| (\d+) \|/gm)) documented.set(match[1]!, Number(match[2]));
  assert.deepEqual(Object.fromEntries([...documented].sort()), Object.fromEntries(Object.entries(ERROR_EXIT_CODES).sort()));
});
