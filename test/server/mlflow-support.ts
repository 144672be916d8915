/**
 * For the MLflow scoring tests: an interpreter with scikit-learn (to write the test's own MLflow
 * model and serve it), and oep-server started with oep's MLflow scoring script on such a model.
 *
 * The interpreter is, in order: OEP_TEST_MLFLOW_PYTHON; the suite's interpreter (OEP_TEST_PYTHON
 * or python3) when it has numpy, pandas, scikit-learn and cloudpickle; Debian's /usr/bin/python3
 * (apt-get install python3-sklearn python3-pandas python3-cloudpickle python3-yaml); python3 in
 * the image oep-test/python-mlflow:bookworm (images/build.sh mlflow). With none, the tests skip
 * with that advice, and fail under CI=true (prerequisiteSkip), except when the suite itself runs
 * inside a test image (test/server/run-in-image.sh), where the skip is expected.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { IN_TEST_IMAGE, prerequisiteSkip } from '../prerequisites.js';
import { freePort, PYTHON, REPO_ROOT, runChildUntilExit, SERVER_SCRIPT, ServerProcess, stopServersWhere, type ExitInfo, type HttpResult } from './harness.js';

export const MLFLOW_SCRIPT = join(REPO_ROOT, 'server', 'oep_mlflow_score.py');
export const MLFLOW_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'mlflow');
export const MLFLOW_IMAGE = 'oep-test/python-mlflow:bookworm';
const IN_IMAGE = join(REPO_ROOT, 'test', 'server', 'python-in-image.sh');
const SUITE_IN_IMAGE = IN_TEST_IMAGE;

export interface Interpreter {
  command: string;
  /** Extra environment for it (e.g. which image python-in-image.sh runs). */
  env: Record<string, string>;
  label: string;
}

/** Environment variables of the scoring contract that must not leak in from the shell running the tests. */
const CONTRACT_ENV = /^(AZUREML_|AML_|MLFLOW_|WORKER_COUNT$|SCORING_TIMEOUT_MS$|OEP_SERVER_PORT$|OEP_USE_AZMLINFSRV$|SERVICE_|PYTHONPATH$)/;

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!CONTRACT_ENV.test(name)) env[name] = value;
  return env;
}

function run(command: string, args: string[], env: Record<string, string>, timeout = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...baseEnv(), ...env }, timeout, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function hasSklearn(candidate: Interpreter): Promise<boolean> {
  const probe = await run(candidate.command, ['-c', 'import numpy, pandas, sklearn, cloudpickle'], candidate.env);
  return probe.code === 0;
}

async function imageExists(image: string): Promise<boolean> {
  return (await run('docker', ['image', 'inspect', image], {}, 30_000)).code === 0;
}

let found: Promise<Interpreter | undefined> | undefined;

export function findSklearnPython(): Promise<Interpreter | undefined> {
  found ??= (async () => {
    const explicit = process.env.OEP_TEST_MLFLOW_PYTHON;
    if (explicit) return { command: explicit, env: {}, label: explicit };
    const candidates: Interpreter[] = [{ command: PYTHON, env: {}, label: PYTHON }];
    if (!SUITE_IN_IMAGE && PYTHON !== '/usr/bin/python3' && existsSync('/usr/bin/python3')) {
      candidates.push({ command: '/usr/bin/python3', env: {}, label: '/usr/bin/python3' });
    }
    for (const candidate of candidates) if (await hasSklearn(candidate)) return candidate;
    if ((await imageExists(MLFLOW_IMAGE)) && (await hasSklearn(IN_MLFLOW_IMAGE))) return IN_MLFLOW_IMAGE;
    return undefined;
  })();
  return found;
}

/** The interpreter for a test that needs scikit-learn, or undefined after skipping the test (failing under CI). */
export async function needSklearnPython(t: TestContext): Promise<Interpreter | undefined> {
  const python = await findSklearnPython();
  if (python) return python;
  t.skip(skipReason());
  return undefined;
}

/** For `describe(..., { skip })`: why there is no such interpreter (failing under CI), or false. */
export async function sklearnSkipReason(): Promise<string | false> {
  if (await findSklearnPython()) return false;
  return skipReason();
}

/** prerequisiteSkip for a missing interpreter: throws under CI, except inside the test image. */
function skipReason(): string {
  return prerequisiteSkip('MLflow tests', noInterpreterAdvice(), SUITE_IN_IMAGE && 'the test image has no scikit-learn');
}

function noInterpreterAdvice(): string {
  return (
    `no Python with numpy, pandas, scikit-learn and cloudpickle (tried ${PYTHON}${SUITE_IN_IMAGE ? '' : ', /usr/bin/python3'} and ${MLFLOW_IMAGE}): ` +
    'apt-get install python3-sklearn python3-pandas python3-cloudpickle python3-yaml, or bash images/build.sh mlflow, ' +
    'or set OEP_TEST_MLFLOW_PYTHON'
  );
}

/** python3 in the MLflow test image (numpy, pandas, scikit-learn 1.2, cloudpickle, pyyaml; no mlflow). */
export const IN_MLFLOW_IMAGE: Interpreter = { command: IN_IMAGE, env: { OEP_TEST_IMAGE: MLFLOW_IMAGE }, label: `python3 in ${MLFLOW_IMAGE}` };

/** Writes an MLflow model with make_model.py (see its arguments) into `out`. */
export async function writeMlflowModel(python: Interpreter, out: string, args: string[] = []): Promise<void> {
  const result = await run(python.command, [join(MLFLOW_FIXTURES, 'make_model.py'), out, ...args], python.env);
  if (result.code !== 0) throw new Error(`make_model.py ${args.join(' ')} failed (${python.label}):\n${result.stderr}`);
}

/** A temporary folder laid out as AZUREML_MODEL_DIR (azureml-models/<name>/<version>) for one test. */
export class ModelDir {
  readonly root = mkdtempSync(join(tmpdir(), 'oep-mlflow-'));
  readonly modelDir = join(this.root, 'azureml-models', 'sklearn-model', '1');

  constructor() {
    mkdirSync(this.modelDir, { recursive: true });
  }

  /** Writes an MLflow model with make_model.py into <model dir>/<folder>; returns its path. */
  async write(python: Interpreter, args: string[] = [], folder = 'model'): Promise<string> {
    const out = join(this.modelDir, folder);
    await writeMlflowModel(python, out, args);
    return out;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface MlflowServerOptions {
  python: Interpreter;
  modelDir: string;
  env?: Record<string, string>;
}

function spawnServer(options: MlflowServerOptions, port: number): ChildProcess {
  return spawn(options.python.command, [SERVER_SCRIPT, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: REPO_ROOT,
    env: {
      ...baseEnv(),
      ...options.python.env,
      PYTHONDONTWRITEBYTECODE: '1',
      AZUREML_MODEL_DIR: options.modelDir,
      AZUREML_ENTRY_SCRIPT: MLFLOW_SCRIPT,
      AML_APP_ROOT: options.modelDir,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** oep-server running oep's MLflow scoring script. */
export class MlflowServer extends ServerProcess {
  static async start(options: MlflowServerOptions): Promise<MlflowServer> {
    const port = await freePort();
    const server = new MlflowServer(port, spawnServer(options, port));
    await server.waitReady();
    return server;
  }

  /**
   * Waits until stdout matches (the server's lines reach us through a pipe, through docker for the
   * image's python3: readiness can come first), then asserts it.
   */
  async expectStdout(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
    assert.match(this.stdout, pattern);
  }

  /** POST /score with a JSON body. */
  score(body: unknown): Promise<HttpResult> {
    return this.request({
      method: 'POST',
      path: '/score',
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }
}

export async function stopMlflowServers(): Promise<void> {
  await stopServersWhere((server) => server instanceof MlflowServer);
}

/** Runs the server expecting it to exit by itself (init() failing); returns its exit and output. */
export async function runMlflowUntilExit(options: MlflowServerOptions, timeoutMs = 60_000): Promise<ExitInfo & { stdout: string; stderr: string }> {
  return runChildUntilExit(spawnServer(options, await freePort()), timeoutMs);
}

/** Asserts numbers equal within a tolerance (float predictions of a fitted model). */
export function assertClose(actual: unknown, expected: number[], tolerance = 1e-6): void {
  if (!Array.isArray(actual) || actual.length !== expected.length) {
    throw new Error(`expected ${JSON.stringify(expected)} (±${tolerance}), got ${JSON.stringify(actual)}`);
  }
  actual.forEach((value, i) => {
    if (typeof value !== 'number' || Math.abs(value - expected[i]!) > tolerance) {
      throw new Error(`expected ${JSON.stringify(expected)} (±${tolerance}), got ${JSON.stringify(actual)}`);
    }
  });
}
