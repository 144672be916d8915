import { readFileSync } from 'node:fs';
import { isAlive } from './lock.js';
import { join } from 'node:path';
import type { KeeperRecord } from './keeper-protocol.js';

/** The keeper's files in OEP_HOME: its start lock, its pid, and its record (keeper.json, 0600). */
export function keeperFiles(home: string): { lock: string; pid: string; record: string } {
  return { lock: join(home, 'keeper.lock'), pid: join(home, 'keeper.pid'), record: join(home, 'keeper.json') };
}

/** The keeper's record, or undefined when there is none (or it cannot be read). */
export function readKeeperRecord(home: string): KeeperRecord | undefined {
  try {
    return JSON.parse(readFileSync(keeperFiles(home).record, 'utf8')) as KeeperRecord;
  } catch {
    return undefined;
  }
}

/** Whether a keeper runs for this home (its pid file names a live process). */
export function keeperRunning(home: string): boolean {
  try {
    const pid = Number(readFileSync(keeperFiles(home).pid, 'utf8').trim());
    return pid > 0 && isAlive(pid);
  } catch {
    return false;
  }
}
