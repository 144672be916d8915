/**
 * Where OEP_HOME is and where its sockets go. CommonJS (a .cts file) because the resident CLI's
 * client (src/cli/resident/client.cts) needs them and is CommonJS for its start-up time; the rest
 * of oep imports them through paths.ts.
 */
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Everything oep keeps lives under one directory: OEP_HOME, or a per-user state directory. A
 * relative OEP_HOME is taken from `cwd` (the resident CLI passes the command line's).
 */
export function resolveOepHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.OEP_HOME) return resolve(cwd, env.OEP_HOME);
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'oep');
}

/** Unix socket paths longer than this fail on Linux (107 bytes) and macOS (103): keep under both. */
export const MAX_SOCKET_PATH = 100;

/**
 * OEP_HOME's hash, for socket paths that would be too long in OEP_HOME itself. node:crypto is
 * required here, when needed, not at the top: loading it is a few ms of every command's start
 * (bench/cli-latency), and most OEP_HOMEs are short enough to need no hash.
 */
export function homeDigest(home: string): string {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(home).digest('hex').slice(0, 16);
}

/**
 * A socket of the daemon's (`daemon.sock`, the resident CLI's `cli.sock`) in OEP_HOME, or, when
 * that path is too long for a unix socket (deep CI workspaces), in a per-user 0700 folder of the
 * temp directory, named after OEP_HOME's hash.
 */
export function socketPathFor(home: string, temp = tmpdir(), uid = process.getuid?.() ?? 0, name = 'daemon'): string {
  const inHome = join(home, `${name}.sock`);
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return inHome;
  const digest = homeDigest(home);
  return join(temp, `oep-${uid}`, name === 'daemon' ? `${digest}.sock` : `${digest}-${name}.sock`);
}
