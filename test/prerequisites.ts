/**
 * One rule for tests that need something the machine may lack (an image, a Docker engine, Flask,
 * kubectl, a python3 with pandas, root, ...): on a developer's machine they skip and say why; under
 * CI=true they fail, because CI must run every test (see "How to test" in docs/project-layout.md).
 *
 *   describe('...', { skip: prerequisiteSkip('Flask tests', !hasFlask && 'Flask is not importable') }, ...)
 *
 * A skip that does not stand for a missing prerequisite (e.g. "this engine has a GPU runtime")
 * stays a plain `{ skip }` / `t.skip()`.
 */

/**
 * True when this process runs the scoring-server suite inside a test image
 * (test/server/run-in-image.sh sets OEP_TEST_PYTHON to test/server/python-in-image.sh). That image
 * deliberately lacks some packages (Flask, scikit-learn), so their tests skip there even in CI.
 */
export const IN_TEST_IMAGE = (process.env.OEP_TEST_PYTHON ?? '').endsWith('python-in-image.sh');

/**
 * The value for `{ skip }`: `reason` when the prerequisite is missing (written to stderr as
 * `# skipping <what>: <reason>`), false when it is there. Under CI=true a missing prerequisite
 * throws `<what> cannot run in CI: <reason>` instead, so the test file fails.
 *
 * `expected` (e.g. `IN_TEST_IMAGE && 'the test image has no Flask'`) says why the skip is expected
 * here: then it never fails, and the reason says so ("<reason> (expected: <expected>)").
 */
export function prerequisiteSkip(what: string, reason: string, expected?: string | false): string;
export function prerequisiteSkip(what: string, reason: string | false, expected?: string | false): string | false;
export function prerequisiteSkip(what: string, reason: string | false, expected: string | false = false): string | false {
  if (!reason) return false;
  if (expected) return said(what, `${reason} (expected: ${expected})`);
  if (process.env.CI === 'true') throw new Error(`${what} cannot run in CI: ${reason}`);
  return said(what, reason);
}

const told = new Set<string>();

/** Writes `# skipping <what>: <reason>` once per file, however many tests share it. */
function said(what: string, reason: string): string {
  const line = `# skipping ${what}: ${reason}\n`;
  if (!told.has(line)) process.stderr.write(line);
  told.add(line);
  return reason;
}
