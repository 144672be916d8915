/**
 * The resident CLI's wire format (src/cli/resident/): on its unix socket the command line sends
 * one JSON line, a ResidentRequest, and reads JSON lines back, each a ResidentFrame, until `exit`
 * or `fallback`. Only the CLI's own two halves speak it, both from the same build (`build`).
 * CommonJS (.cts), as the client is: a CommonJS start loads no ES module machinery.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';

/** What a command's output stream is: the resident process writes as if it were this terminal or pipe. */
export interface SinkShape {
  isTTY: boolean;
  columns: number;
}

export interface ResidentRequest {
  build: string;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  stdout: SinkShape;
  stderr: SinkShape;
}

export type ResidentFrame =
  /** The command runs here (sent at once): the command line waits for its end, however long. */
  | { running: true }
  | { out: string }
  | { err: string }
  | { exit: number }
  /** The command runs in the command line's own process instead: not a resident verb, another build, no daemon. */
  | { fallback: string };

/** The longest request accepted (the environment is most of it). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** This file is dist/src/cli/resident/protocol.cjs; the CLI's main module is beside its folder. */
const CLI_MAIN = join(__dirname, '..', 'main.js');

/**
 * Which build of oep this is: the CLI's main module, with its size and time of writing, which
 * every `tsc` run rewrites. A command line and a resident process of different builds (a rebuild,
 * another checkout with the same OEP_HOME) never run one another's code.
 */
export function cliBuild(): string {
  try {
    const stats = statSync(CLI_MAIN);
    return `${CLI_MAIN}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return `${CLI_MAIN}:missing`;
  }
}

/** Checks the shape of a request read from the socket; undefined when it is not one. */
export function parseRequest(line: string): ResidentRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const request = value as Partial<ResidentRequest>;
  const strings = (list: unknown): boolean => Array.isArray(list) && list.every((item) => typeof item === 'string');
  const sink = (shape: unknown): boolean =>
    typeof shape === 'object' && shape !== null && typeof (shape as SinkShape).isTTY === 'boolean' && Number.isInteger((shape as SinkShape).columns);
  const env = request.env;
  const envOk = typeof env === 'object' && env !== null && !Array.isArray(env) && Object.values(env).every((item) => typeof item === 'string');
  if (typeof request.build !== 'string' || !strings(request.argv) || typeof request.cwd !== 'string' || !request.cwd.startsWith('/') || !envOk || !sink(request.stdout) || !sink(request.stderr)) {
    return undefined;
  }
  return request as ResidentRequest;
}
