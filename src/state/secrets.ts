import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The home's key: 32 random bytes, hex, in this file of OEP_HOME (0600). */
export const HOME_KEY_FILE = 'daemon.key';

const cache = new Map<string, Buffer>();

/**
 * The key of an OEP_HOME, made on first use and kept in the home (0600), so everything derived
 * from it stays the same across daemon restarts: replicas re-adopted after a restart keep their
 * secret, and the metrics URL keeps its token. Made with a link(2) of a complete file, so two
 * processes making it at once agree on one key.
 */
export function homeKey(home: string): Buffer {
  const cached = cache.get(home);
  if (cached) return cached;
  const file = join(home, HOME_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temp, file);
    } catch (linkError) {
      if ((linkError as NodeJS.ErrnoException).code !== 'EEXIST') throw linkError;
    } finally {
      unlinkSync(temp);
    }
    text = readFileSync(file, 'utf8');
  }
  const key = Buffer.from(text.trim(), 'hex');
  if (key.length < 32) throw new Error(`${file} is damaged (expected 64 hex digits); remove it and restart the daemon (oep daemon stop).`);
  cache.set(home, key);
  return key;
}

function derive(home: string, purpose: string): string {
  return createHmac('sha256', homeKey(home)).update(purpose).digest('hex');
}

/**
 * The secret a deployment's replicas require in `x-oep-replica-secret` (the router adds it):
 * a replica's loopback port answers nobody who did not come through the endpoint's key check.
 */
export function replicaSecret(home: string, endpoint: string, deployment: string): string {
  return derive(home, `replica\u0000${endpoint}\u0000${deployment}`);
}

/**
 * The token a debugged deployment's debugpy requires (pydevd's pydevdAuthorize) before it answers
 * anything: only the daemon's debug gate knows it and sends it, for connections of the user's own
 * (src/daemon/debug-gate.ts). Stable across restarts, so an adopted debugged replica still takes it.
 */
export function debugToken(home: string, endpoint: string, deployment: string): string {
  return derive(home, `debug\u0000${endpoint}\u0000${deployment}`);
}

/** The token of the daemon's metrics URL (`oep daemon status` prints the URL with it). */
export function metricsToken(home: string): string {
  return derive(home, 'metrics').slice(0, 32);
}

/**
 * The secret a deployment's replicas send in the `secret` header to the managed-identity
 * endpoint (MSI_SECRET), as Azure ML's does: one per deployment, stable across restarts.
 */
export function msiSecret(home: string, endpoint: string, deployment: string): string {
  return derive(home, `msi\u0000${endpoint}\u0000${deployment}`);
}

/** A stable UUID (version-4 shape) derived from the home's key, e.g. the local tenant's id. */
export function homeUuid(home: string, purpose: string): string {
  return uuidOf(derive(home, `uuid\u0000${purpose}`));
}

/** A UUID of version-4 shape made of the first 32 hex digits of `hex`. */
export function uuidOf(hex: string): string {
  const digits = `${hex.slice(0, 12)}4${hex.slice(13, 16)}${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 32)}`;
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20, 32)}`;
}

/** The ids of the home's identities: fresh UUIDs, and stable ones derived from the home's key. */
export function identityIds(home: string): { uuid: () => string; stable: (purpose: string) => string } {
  return { uuid: randomUUID, stable: (purpose) => homeUuid(home, purpose) };
}
