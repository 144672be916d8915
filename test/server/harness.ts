/**
 * Starts server/oep_server.py on a free 127.0.0.1 port for one test, talks HTTP to it, and makes
 * sure it is gone afterwards (call stopAllServers() in afterEach).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_SCRIPT = join(REPO_ROOT, 'server', 'oep_server.py');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'server');
export const PYTHON = process.env.OEP_TEST_PYTHON ?? 'python3';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const EXEC_MS = /^\d+\.\d{3}$/;
export const SERVER_VERSION = 'oep-server/0.1.0';
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

// Waits for events, not budgets: generous enough for a loaded machine starting python in a container.
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

/**
 * Runs `body` (Python, with the server package importable) in the test interpreter and returns
 * its stdout; fails the test with both streams when Python fails. For tests that drive the
 * server's own modules directly (timers, the workers' shared table).
 */
export function runServerPython(body: string): string {
  const script = `import sys\nsys.path.insert(0, ${JSON.stringify(join(REPO_ROOT, 'server'))})\n${body}`;
  const result = spawnSync(PYTHON, ['-c', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `python failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Environment variables of the scoring contract that must not leak in from the shell running the tests. */
const CONTRACT_ENV = [
  'AZUREML_ENTRY_SCRIPT',
  'AML_APP_ROOT',
  'AZUREML_MODEL_DIR',
  'WORKER_COUNT',
  'SCORING_TIMEOUT_MS',
  'OEP_SERVER_PORT',
  'OEP_USE_AZMLINFSRV',
  'OEP_STUCK_RUN_RESTART_S',
  'SERVICE_NAME',
  'SERVICE_VERSION',
  'SERVICE_PATH_PREFIX',
  'AML_CORS_ORIGINS',
  'SERVER_VERSION_LOG_RESPONSE_ENABLED',
  'AZUREML_CONFIG_FILE',
  'AML_APP_INSIGHTS_ENABLED',
  'AML_APP_INSIGHTS_KEY',
];

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done, fail) => {
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => done());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

export interface ServerOptions {
  /** Folder under test/fixtures/server: becomes AML_APP_ROOT. */
  fixture: string;
  /** AZUREML_ENTRY_SCRIPT; score.py by default. */
  entryScript?: string;
  env?: Record<string, string>;
  /** Pass the port as OEP_SERVER_PORT instead of --port. */
  portFromEnv?: boolean;
  /** The interpreter; the suite's (PYTHON) by default. */
  python?: string;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
  json(): unknown;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Defaults to the server's keep-alive agent. */
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ServerProcess>();

function spawnServer(options: ServerOptions, port: number): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONTRACT_ENV) delete env[name];
  delete env.PYTHONUNBUFFERED;
  const args = [SERVER_SCRIPT, '--host', '127.0.0.1'];
  if (options.portFromEnv) env.OEP_SERVER_PORT = String(port);
  else args.push('--port', String(port));
  return spawn(options.python ?? PYTHON, args, {
    cwd: REPO_ROOT,
    env: {
      ...env,
      PYTHONDONTWRITEBYTECODE: '1',
      AML_APP_ROOT: join(FIXTURES, options.fixture),
      AZUREML_ENTRY_SCRIPT: options.entryScript ?? 'score.py',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * A spawned oep-server: its output captured, HTTP to its port, and gone after stop() (or
 * stopAllServers(), or the test process's exit). ScoringServer and the MLflow tests' MlflowServer
 * (mlflow-support.ts) are this with their own way to start.
 */
export class ServerProcess {
  readonly agent = new http.Agent({ keepAlive: true });
  private out = '';
  private err = '';
  readonly exited: Promise<ExitInfo>;

  protected constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.out += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.err += chunk));
    this.exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
    live.add(this);
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Waits until GET / answers 200; fails at once when the server exits first. */
  protected async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exit: ExitInfo | undefined;
    void this.exited.then((info) => (exit = info));
    while (Date.now() < deadline) {
      if (exit) {
        throw new Error(`oep_server.py exited (code ${exit.code}, signal ${exit.signal}) before it was ready:\n${this.err}`);
      }
      try {
        const res = await this.request({ path: '/', agent: false, timeoutMs: 1000 });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((done) => setTimeout(done, POLL_MS));
    }
    throw new Error(`oep_server.py was not ready within ${READY_TIMEOUT_MS} ms:\n${this.err}`);
  }

  request(options: RequestOptions = {}): Promise<HttpResult> {
    return httpRequest(this.port, { agent: this.agent, ...options });
  }

  /** Waits until stdout contains `text` (output arrives asynchronously). */
  waitForStdout(text: string | RegExp, timeoutMs = 30_000): Promise<void> {
    return this.waitForOutput('stdout', () => this.out, text, timeoutMs);
  }

  waitForStderr(text: string | RegExp, timeoutMs = 30_000): Promise<void> {
    return this.waitForOutput('stderr', () => this.err, text, timeoutMs);
  }

  private async waitForOutput(name: string, output: () => string, text: string | RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const found = () => (typeof text === 'string' ? output().includes(text) : text.test(output()));
    while (!found()) {
      if (Date.now() > deadline) assert.fail(`${name} never contained ${String(text)}:\n${output()}`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  /** SIGTERM, then SIGKILL after 15 s: a server that does not end by itself exits with SIGKILL. */
  async stop(): Promise<ExitInfo> {
    live.delete(this);
    this.agent.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      const info = await this.exited;
      clearTimeout(timer);
      return info;
    }
    return this.exited;
  }
}

/** oep-server running a fixture's scoring script (ServerOptions). */
export class ScoringServer extends ServerProcess {
  /** Spawns the server and waits until GET / answers 200. */
  static async start(options: ServerOptions): Promise<ScoringServer> {
    const port = await freePort();
    const server = new ScoringServer(port, spawnServer(options, port));
    await server.waitReady();
    return server;
  }

  /**
   * Waits until `count` workers ran init(): the server answers once the first one did (as
   * azmlinfsrv under gunicorn), so a test that needs them all waits for them.
   */
  waitForWorkers(count: number, timeoutMs = 60_000): Promise<void> {
    const lines = new RegExp(`(oep-server: worker \\d+ \\(pid \\d+\\) initialised\\n[\\s\\S]*){${count}}`);
    return this.waitForStdout(lines, timeoutMs);
  }
}

/** Stops every server still running (for after/afterEach: it takes no argument of theirs). */
export async function stopAllServers(): Promise<void> {
  await stopServersWhere(() => true);
}

/** Stops the servers still running that `which` picks (e.g. the MlflowServers). */
export async function stopServersWhere(which: (server: ServerProcess) => boolean): Promise<void> {
  await Promise.all([...live].filter(which).map((server) => server.stop()));
}

process.on('exit', () => {
  for (const server of live) server.child.kill('SIGKILL');
});

/** Runs the server expecting it to exit by itself (e.g. init() failing); returns its exit and output. */
export async function runUntilExit(
  options: ServerOptions,
  timeoutMs = 60_000,
): Promise<ExitInfo & { stdout: string; stderr: string }> {
  return runChildUntilExit(spawnServer(options, await freePort()), timeoutMs);
}

/** Waits for a spawned server to exit by itself (SIGKILL after `timeoutMs`); its exit and output. */
export async function runChildUntilExit(child: ChildProcess, timeoutMs: number): Promise<ExitInfo & { stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const info = await new Promise<ExitInfo>((done) => child.once('close', (code, signal) => done({ code, signal })));
  clearTimeout(timer);
  return { ...info, stdout, stderr };
}

export function httpRequest(port: number, options: RequestOptions = {}): Promise<HttpResult> {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string | string[]> = { ...(options.headers ?? {}) };
  if (body && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-length' || name.toLowerCase() === 'transfer-encoding')) {
    headers['Content-Length'] = String(body.length);
  }
  return new Promise((done, fail) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          done({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: data,
            text: data.toString('utf8'),
            json: () => JSON.parse(data.toString('utf8')),
          });
        });
        res.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${options.timeoutMs ?? 60_000} ms`)));
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * Asserts the exact set of response headers. `date` must be a valid HTTP date and is not listed;
 * values are exact strings or patterns.
 */
export function assertHeaders(res: HttpResult, expected: Record<string, string | RegExp>): void {
  const actual: Record<string, unknown> = { ...res.headers };
  assert.match(String(actual.date), HTTP_DATE, 'date header');
  delete actual.date;
  const wanted = Object.fromEntries(Object.entries(expected).map(([name, value]) => [name.toLowerCase(), value]));
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(wanted).sort(), 'header names');
  for (const [name, value] of Object.entries(wanted)) {
    if (value instanceof RegExp) assert.match(String(actual[name]), value, `header ${name}`);
    else assert.equal(actual[name], value, `header ${name}`);
  }
}

/** Values of a header in the order received, repeats kept apart. */
export function headerValues(res: HttpResult, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i].toLowerCase() === name.toLowerCase()) values.push(res.rawHeaders[i + 1]);
  }
  return values;
}

/** Headers every response that went through the scoring routes carries, with a generated request id. */
export function generatedIds(): Record<string, string | RegExp> {
  return { 'x-ms-server-version': SERVER_VERSION, 'x-request-id': UUID, 'x-ms-request-id': UUID };
}

/** What a response from /score is expected to be; see assertScoreAnswer. */
export interface ScoreAnswer {
  status: number;
  body: string;
  /** application/json unless given. */
  contentType?: string;
  /** x-ms-run-function-failed: True (run() failed or answered >= 500) rather than False. */
  runFailed?: boolean;
  /** x-ms-run-fn-exec-ms: a measured time (EXEC_MS) unless given, e.g. '0.000' when run() was not called. */
  execMs?: string | RegExp;
  /** Every other header: generatedIds() unless given. */
  headers?: Record<string, string | RegExp>;
  /** Names the case in the status assertion (in a loop). */
  message?: string;
}

/**
 * Asserts a /score response: its status, its body, and the exact set of headers (content-type,
 * content-length of the body, x-ms-run-function-failed, x-ms-run-fn-exec-ms and the others).
 */
export function assertScoreAnswer(res: HttpResult, expected: ScoreAnswer): void {
  assert.equal(res.status, expected.status, expected.message);
  assert.equal(res.text, expected.body);
  assertHeaders(res, {
    'content-type': expected.contentType ?? 'application/json',
    'content-length': String(Buffer.byteLength(expected.body)),
    'x-ms-run-function-failed': expected.runFailed ? 'True' : 'False',
    'x-ms-run-fn-exec-ms': expected.execMs ?? EXEC_MS,
    ...(expected.headers ?? generatedIds()),
  });
}

/**
 * A meeting point for the rendezvous fixture: a folder its run() calls arrive in (one file each)
 * and wait in until `peers` arrivals are there. Concurrency is then checked by who met whom, not
 * by timing; the test can arrive too, to release a call it holds. In the OS temp folder, which
 * python-in-image.sh mounts, so the server in the test image sees it as well.
 */
export class MeetingPoint {
  readonly folder = mkdtempSync(join(tmpdir(), 'oep-meet-'));

  /** The /score body for a call that waits for `peers` arrivals (at most waitS seconds). */
  body(peers = 2, waitS = 30): string {
    return JSON.stringify({ folder: this.folder, peers, wait_s: waitS });
  }

  arrivals(): number {
    return readdirSync(this.folder).length;
  }

  async waitArrivals(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.arrivals() < count) {
      if (Date.now() > deadline) assert.fail(`only ${this.arrivals()} of ${count} calls arrived in run()`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  /** The test arrives itself: a call waiting for one more peer goes on. */
  arrive(): void {
    writeFileSync(join(this.folder, 'test'), '');
  }

  remove(): void {
    rmSync(this.folder, { recursive: true, force: true });
  }
}
