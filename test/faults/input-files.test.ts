import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox } from '../e2e/harness.js';
import { FAULTS_FIXTURE } from './bodies-support.js';

/**
 * YAML that hangs (issue, point 6): the yaml library's duplicate-key check is quadratic (a 1.2 MB
 * file of 100,000 keys ran past 30 s, 5.5 MB would take about an hour), `-f /dev/zero` read 630 MB,
 * a FIFO or /dev/urandom as `-f` hung (and then ignored SIGTERM), `model create --path <FIFO>`
 * printed a stack trace, and a conda_file that is a FIFO wedged the create and the later delete.
 *
 * The guarantee: any `-f` under the 10 MB cap validates (exit 0 or 2, a located message) in a few
 * seconds, and anything but a regular file is refused before a byte is read. The tests run each
 * file with a generous timeout and assert the outcome, not the time; the times are printed for
 * docs/reliability.md.
 */
const GENEROUS_MS = 60_000;

/** Files just under the cap (10 MB) or the token limit (200,000), in the shapes that cost the most. */
function worstCases(dir: string): Record<string, string> {
  const files: Record<string, string> = {
    // Refused by their token count, whatever their size.
    '100k-keys.yml': `name: keys\nenvironment_variables:\n${Array.from({ length: 100_000 }, (_, i) => `  K${i}: "v"\n`).join('')}`,
    '1.4M-lines-of-items.yml': `name: items\ntags:\n${'- 1\n'.repeat(1_400_000)}`,
    // Parsed: the most tokens allowed, with 9 MB of values; as many problems as keys; a flow map.
    'long-values.yml': `name: values\nenvironment_variables:\n${Array.from({ length: 28_000 }, (_, i) => `  K${i}: "${'v'.repeat(300)}"\n`).join('')}`,
    'unknown-keys.yml': `name: unknown\n${Array.from({ length: 28_000 }, (_, i) => `k${i}: 1\n`).join('')}`,
    'flow-map.yml': `name: flow\ntags: {${Array.from({ length: 24_000 }, (_, i) => `k${i}: 1`).join(', ')}}\n`,
    'repeated-keys.yml': `name: repeated\nenvironment_variables:\n${Array.from({ length: 28_000 }, (_, i) => `  K${i % 100}: "v"\n`).join('')}`,
    'one-string.yml': `name: string\ndescription: "${'\\u0041'.repeat(1_700_000)}"\n`,
    'deep.yml': `name: deep\ntags: ${'['.repeat(90_000)}${']'.repeat(90_000)}\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return files;
}

describe('input files: YAML under the cap validates in seconds; FIFOs and devices are refused unread', { timeout: 900_000 }, () => {
  let oep: OepSandbox;
  let dir = '';

  before(async () => {
    oep = new OepSandbox();
    dir = mkdtempSync(join(tmpdir(), 'oep-input-'));
    execFileSync('mkfifo', [join(dir, 'pipe.yml')]);
  });
  after(async () => {
    await oep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every worst case under the 10 MB cap ends with exit 0, or 2 and its located message, never a timeout', async () => {
    const figures: string[] = [];
    for (const name of Object.keys(worstCases(dir))) {
      const started = performance.now();
      const result = await oep.run(['validate', '-f', name], { cwd: dir, timeoutMs: GENEROUS_MS });
      figures.push(`${name} ${((performance.now() - started) / 1000).toFixed(2)} s`);
      // A valid endpoint with a 10 MB description: exit 0.
      assert.equal(result.code, name === 'one-string.yml' ? 0 : 2, `${name}: exit ${result.code}\n${result.stderr.slice(0, 2000)}`);
      assert.doesNotMatch(result.stderr, /this is a bug|\n {4}at /, name);
      if (name === 'one-string.yml') continue;
      if (name === '100k-keys.yml' || name === '1.4M-lines-of-items.yml') {
        assert.match(result.stderr, new RegExp(`${name.replace(/\./g, '\\.')} has more than 200,000 YAML tokens`), name);
      } else {
        assert.match(result.stderr, new RegExp(`${name.replace(/\./g, '\\.')}:\\d+:\\d+`), name);
      }
      if (name === 'repeated-keys.yml') assert.match(result.stderr, /repeated-keys\.yml:103:3: YAML syntax: Map keys must be unique\./);
    }
    console.log(`# validate, each: ${figures.join('; ')}`);
  });

  it('a FIFO, /dev/zero and /dev/urandom as -f: exit 2 at once, nothing read, what to do instead', async () => {
    for (const file of ['pipe.yml', '/dev/zero', '/dev/urandom']) {
      for (const command of [['validate'], ['deployment', 'create'], ['endpoint', 'create'], ['model', 'create']]) {
        const result = await oep.run([...command, '-f', file], { cwd: dir, timeoutMs: GENEROUS_MS });
        assert.equal(result.code, 2, `${command.join(' ')} -f ${file}: exit ${result.code}\n${result.stderr}`);
        assert.match(result.stderr, new RegExp(`${file.replace(/\./g, '\\.')} is (a named pipe \\(FIFO\\)|a character device), not a regular file; oep reads YAML from regular files only`));
        assert.match(result.stderr, /write the YAML to a file first/);
      }
    }
  });

  it('a FIFO a writer holds open is refused too, and the writer is never read from', async () => {
    const writer = spawn('sh', ['-c', `exec 3>"${join(dir, 'pipe.yml')}"; sleep 30`], { stdio: 'ignore' });
    try {
      const result = await oep.run(['validate', '-f', 'pipe.yml'], { cwd: dir, timeoutMs: GENEROUS_MS });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /pipe\.yml is a named pipe \(FIFO\), not a regular file/);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('model create --path <FIFO>, or a folder with a FIFO or a link to /dev/zero in it: exit 2, no stack trace, nothing registered', async () => {
    const withPipe = join(dir, 'model-with-pipe');
    mkdirSync(withPipe);
    writeFileSync(join(withPipe, 'model.pkl'), 'x');
    execFileSync('mkfifo', [join(withPipe, 'pipe')]);
    const withDevice = join(dir, 'model-with-device');
    mkdirSync(withDevice);
    symlinkSync('/dev/zero', join(withDevice, 'zero'));
    const cases: [string, RegExp][] = [
      ['pipe.yml', /path: "pipe\.yml" is a named pipe \(FIFO\); expected a file or a directory\./],
      [withPipe, /path: ".*model-with-pipe\/pipe" \(inside path ".*model-with-pipe"\) is a named pipe \(FIFO\); a registered version holds regular files and folders only\./],
      [withDevice, /path: ".*model-with-device\/zero" \(inside path ".*model-with-device"\) is a character device; a registered version holds regular files and folders only\./],
    ];
    for (const [path, expected] of cases) {
      const result = await oep.run(['model', 'create', '--name', 'piped', '--path', path], { cwd: dir, timeoutMs: GENEROUS_MS });
      assert.equal(result.code, 2, `${path}: exit ${result.code}\n${result.stderr}`);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /this is a bug|\n {4}at /);
    }
    assert.equal((await oep.ok(['model', 'list', '--query', 'length(@)', '-o', 'tsv'])).trim(), '0');
  });

  it('a conda_file that is a FIFO: deployment create refuses it at once (exit 2), and the endpoint deletes at once', async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FAULTS_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    const deployment = join(dir, 'piped-conda.yml');
    writeFileSync(
      deployment,
      `name: piped\nendpoint_name: faults\ncode_configuration:\n  code: ${join(FAULTS_FIXTURE, 'code')}\n  scoring_script: score.py\n` +
        `environment:\n  image: oep-test/python:bookworm\n  conda_file: ./pipe.yml\ninstance_type: Standard_DS3_v2\n`,
    );
    const create = await oep.run(['deployment', 'create', '-f', deployment, '--runtime', 'docker'], { cwd: dir, timeoutMs: GENEROUS_MS });
    assert.equal(create.code, 2, create.stderr);
    assert.match(create.stderr, /piped-conda\.yml:8:\d+ environment\.conda_file: "\.\/pipe\.yml" is a named pipe \(FIFO\); expected a file\./);
    const deleted = await oep.run(['endpoint', 'delete', '-n', 'faults', '--yes'], { timeoutMs: GENEROUS_MS });
    assert.equal(deleted.code, 0, deleted.stderr);
  });
});
