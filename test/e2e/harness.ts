import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const OEP_BIN = join(REPO_ROOT, 'bin', 'oep.js');

/**
 * This test run's id. `npm test` sets OEP_TEST_RUN once for the whole run; a test file run on its
 * own gets one here. Every CLI and daemon a test starts inherits it, so each container and image
 * they create carries the label oep.test-run=<id>, and clean-up removes only those.
 */
export const TEST_RUN = (process.env.OEP_TEST_RUN ||= `file-${randomBytes(6).toString('hex')}`);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The image map every sandbox uses unless its env says otherwise: the examples name Azure's public
 * images, which an offline machine cannot pull; the repository's own map runs its stand-ins, as
 * the README tells an offline user to (images/offline.yml).
 */
export const TEST_IMAGE_MAP = join(REPO_ROOT, 'images', 'offline.yml');

/** A temporary OEP_HOME with its own daemon; `close()` stops the daemon and removes the folder. */
export class OepSandbox {
  readonly home: string;

  constructor(readonly env: NodeJS.ProcessEnv = {}) {
    // Short prefix: unix socket paths must stay under 108 bytes.
    this.home = mkdtempSync(join(tmpdir(), 'oep-'));
  }

  /** Runs the built CLI as a user would, with stdin not a terminal; `env` adds to the sandbox's for this command only. */
  run(args: string[], options: { cwd?: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    return new Promise((resolvePromise) => {
      const child = execFile(
        process.execPath,
        [OEP_BIN, ...args],
        {
          cwd: options.cwd ?? REPO_ROOT,
          env: { ...process.env, NO_COLOR: '1', OEP_HOME: this.home, OEP_IMAGE_MAP: TEST_IMAGE_MAP, ...this.env, ...options.env },
          timeout: options.timeoutMs ?? 120_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolvePromise({ code, stdout, stderr });
        },
      );
      // A command that exits without reading its input closes the pipe: EPIPE is not the test's concern.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input ?? '');
    });
  }

  /** Starts the CLI without waiting for it, e.g. to send it Ctrl-C (SIGINT) while it works; `env` adds to the sandbox's. */
  start(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): RunningCli {
    const child = spawn(process.execPath, [OEP_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', OEP_HOME: this.home, OEP_IMAGE_MAP: TEST_IMAGE_MAP, ...this.env, ...options.env },
    });
    const running: RunningCli = {
      child,
      stdout: '',
      stderr: '',
      exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    };
    child.stdout!.on('data', (chunk: Buffer) => (running.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (running.stderr += chunk.toString()));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end();
    return running;
  }

  /** Runs and fails the test with the whole output when the exit code is not the expected one. */
  async ok(args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new Error(`oep ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    }
    return result.stdout;
  }

  async close(): Promise<void> {
    await this.run(['daemon', 'stop']);
    // OEP_TEST_KEEP_HOME=1 keeps the sandbox for a post-mortem.
    if (process.env.OEP_TEST_KEEP_HOME !== '1') rmSync(this.home, { recursive: true, force: true });
  }
}

export interface RunningCli {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** The exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

export function example(...parts: string[]): string {
  return join(REPO_ROOT, 'examples', ...parts);
}

/** Waits for a condition: polls `probe` until it returns a value. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Compares model outputs with a tolerance, never bit for bit: the last bits of a float differ
 * with the CPU and its BLAS (scikit-learn served 5430.917515226917 where 5430.917515226918 was
 * expected). `actual` is the parsed answer, e.g. JSON.parse(stdout).
 */
export function assertPredictions(actual: unknown, expected: number[], relativeTolerance = 1e-7): void {
  assert.ok(Array.isArray(actual) && actual.length === expected.length, `expected ${expected.length} predictions, got ${JSON.stringify(actual)}`);
  actual.forEach((value, index) => {
    const want = expected[index]!;
    assert.equal(typeof value, 'number', `prediction ${index} is ${JSON.stringify(value)}, not a number`);
    const allowed = Math.max(Math.abs(want) * relativeTolerance, relativeTolerance);
    assert.ok(Math.abs((value as number) - want) <= allowed, `prediction ${index} is ${value as number}, expected ${want} (within ${allowed})`);
  });
}
