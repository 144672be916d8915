// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { tmpdir } = process.getBuiltinModule('node:os');
const { fileURLToPath } = process.getBuiltinModule('node:url');
const { join } = process.getBuiltinModule('node:path');
const { createRequire } = process.getBuiltinModule('node:module');
import type * as HomePaths from './home-paths.cjs';

/**
 * Through require, not `import`: an ES import of a CommonJS file makes Node start its CommonJS
 * export lexer for it, about 5 ms of every command's start (bench/cli-latency).
 */
const { homeDigest, MAX_SOCKET_PATH, resolveOepHome, socketPathFor } = createRequire(import.meta.url)('./home-paths.cjs') as typeof HomePaths;

export { resolveOepHome, socketPathFor };

export interface OepPaths {
  home: string;
  socket: string;
  /** The resident CLI's socket (src/cli/resident/server.ts), beside the daemon's. */
  cliSocket: string;
  pidFile: string;
  lockFile: string;
  stateFile: string;
  daemonLog: string;
  logsDir: string;
  runDir: string;
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
    cliSocket: socketPathFor(home, undefined, undefined, 'cli'),
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
