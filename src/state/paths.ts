// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { homedir, tmpdir } = process.getBuiltinModule('node:os');
const { fileURLToPath } = process.getBuiltinModule('node:url');
const { join, resolve } = process.getBuiltinModule('node:path');

/** Everything oep keeps lives under one directory: OEP_HOME, or a per-user state directory. */
export function resolveOepHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OEP_HOME) return resolve(env.OEP_HOME);
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'oep');
}

export interface OepPaths {
  home: string;
  socket: string;
  pidFile: string;
  lockFile: string;
  stateFile: string;
  daemonLog: string;
  logsDir: string;
  runDir: string;
}

/** Unix socket paths longer than this fail on Linux (107 bytes) and macOS (103): keep under both. */
const MAX_SOCKET_PATH = 100;

/**
 * OEP_HOME's hash, for socket paths that would be too long in OEP_HOME itself. node:crypto is
 * required here, when needed, not imported: loading it is a few ms of every command's start
 * (bench/cli-latency), and most OEP_HOMEs are short enough to need no hash.
 */
function homeDigest(home: string): string {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(home).digest('hex').slice(0, 16);
}

/**
 * The daemon's socket: `daemon.sock` in OEP_HOME, or, when that path is too long for a unix socket
 * (deep CI workspaces), a per-user 0700 folder in the temp directory, named after OEP_HOME's hash.
 */
export function socketPathFor(home: string, temp = tmpdir(), uid = process.getuid?.() ?? 0): string {
  const inHome = join(home, 'daemon.sock');
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return inHome;
  const digest = homeDigest(home);
  return join(temp, `oep-${uid}`, `${digest}.sock`);
}

/**
 * The daemon's managed-identity socket (src/identity/msi-server.ts): `msi/socket/msi.sock` in
 * OEP_HOME (`msi/` is 0700; `socket/` is what containers mount), or, for a long OEP_HOME, in a
 * folder beside the daemon's socket in the per-user 0700 folder of the temp directory.
 */
export function msiSocketPathFor(home: string, temp = tmpdir(), uid = process.getuid?.() ?? 0): string {
  const inHome = join(home, 'msi', 'socket', 'msi.sock');
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return inHome;
  const digest = homeDigest(home);
  return join(temp, `oep-${uid}`, `${digest}-msi`, 'socket', 'msi.sock');
}

export function oepPaths(home: string): OepPaths {
  return {
    home,
    socket: socketPathFor(home),
    pidFile: join(home, 'daemon.pid'),
    lockFile: join(home, 'daemon.lock'),
    stateFile: join(home, 'state.json'),
    daemonLog: join(home, 'daemon.log'),
    logsDir: join(home, 'logs'),
    runDir: join(home, 'run'),
  };
}

export function deploymentLogDir(paths: OepPaths, endpoint: string, deployment: string): string {
  return join(paths.logsDir, endpoint, deployment);
}

/** What the runtime prepared for a deployment (image, mounts, environment), for `get-logs --container storage-initializer`. */
export function storageInitializerLog(paths: OepPaths, endpoint: string, deployment: string): string {
  return join(paths.logsDir, endpoint, deployment, 'storage-initializer.log');
}

export function endpointAccessLog(paths: OepPaths, endpoint: string): string {
  return join(paths.logsDir, endpoint, 'access.log');
}

/**
 * Where a deployment's data collection goes (`data_collector`): one folder per collection below
 * it, as in Azure's blob layout `<endpoint>/<deployment>/<collection>/<yyyy>/<MM>/<dd>/<HH>/`.
 * Kept when the deployment is deleted, as Azure keeps the blobs.
 */
export function dataCollectorDir(paths: OepPaths, endpoint: string, deployment: string): string {
  return join(paths.home, 'data-collector', endpoint, deployment);
}

export function deploymentRunDir(paths: OepPaths, endpoint: string, deployment: string): string {
  return join(paths.runDir, endpoint, deployment);
}

/** The installed package's root (holds server/ and schemas/); this file is dist/src/state/paths.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
