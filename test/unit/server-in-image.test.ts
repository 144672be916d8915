import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The scoring-server files that check only the server's own logic, need packages the test image
 * has not (scikit-learn, Flask), or test what only the process runtime does with the host's
 * interpreter (the warm spare): they run once, with the host's python3. Every other file runs a
 * second time in the image (test/server/run-in-image.sh, IN_IMAGE_FILES).
 */
const HOST_ONLY = ['contract', 'cluster', 'routes', 'score', 'swagger', 'schema', 'request-ids', 'replica-secret', 'parity', 'mlflow-score', 'mlflow-swagger', 'spare', 'batch-mlflow', 'batch-jobs', 'batch-jobs-docker'];

/** The names run-in-image.sh lists in IN_IMAGE_FILES=( ... ). */
function inImageFiles(): string[] {
  const script = readFileSync(join(REPO_ROOT, 'test/server/run-in-image.sh'), 'utf8');
  const list = /^IN_IMAGE_FILES=\(([^)]*)\)/m.exec(script);
  assert.ok(list, 'run-in-image.sh has no IN_IMAGE_FILES=( ... ) list');
  return list[1]!.split(/\s+/).filter((name) => name !== '');
}

describe("the scoring-server suite's second pass, in the test image", () => {
  it('names each server test file once: in the image, or on the host only', () => {
    const files = readdirSync(join(REPO_ROOT, 'test/server'))
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => file.slice(0, -'.test.ts'.length))
      .sort();
    const inImage = inImageFiles();
    for (const name of inImage) assert.ok(files.includes(name), `run-in-image.sh names ${name}, which is not a file of test/server/`);
    const both = inImage.filter((name) => HOST_ONLY.includes(name));
    assert.deepEqual(both, [], 'a file is both in the image list and host-only');
    const unplaced = files.filter((name) => !inImage.includes(name) && !HOST_ONLY.includes(name));
    assert.deepEqual(unplaced, [], 'a new server test file: add it to IN_IMAGE_FILES in run-in-image.sh when its outcome can depend on the interpreter, or to HOST_ONLY here');
  });
});
