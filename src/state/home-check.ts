import type { Stats } from 'node:fs';

// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { lstatSync, mkdirSync, readFileSync, realpathSync, statSync } = process.getBuiltinModule('node:fs');
const { dirname, resolve } = process.getBuiltinModule('node:path');
import { OepError } from '../errors.js';

/**
 * Whether an OEP_HOME is safe to use, checked the way OpenSSH's StrictModes checks a user's
 * files: everything oep reads and writes sits under it, and the daemon may run as root, so a
 * folder another user can change would let them choose what oep overwrites, chmods or runs.
 *
 * - The home (when it exists) must be a folder of this user that nobody else can write (no group
 *   or other write bit, sticky or not: anyone could create files in it).
 * - Each folder above it, up to and including the first one this user owns (or the root), must
 *   belong to this user or to root, and nobody else may write it, unless its sticky bit is set
 *   (like /tmp, 1777): there others may create entries but not rename or remove this user's.
 *   Folders above the first one of the user's are not looked at: nobody but their owner could
 *   swap the user's folder for one of theirs without the check seeing a foreign owner below.
 *
 * Symbolic links on the way are resolved first (the folders checked are the real ones). A home
 * that does not exist yet is checked through its parents; `ensureHome` makes it and checks again,
 * so a folder someone else slipped in meanwhile is refused.
 */
export function homeProblem(home: string, uid: number = process.geteuid?.() ?? 0): OepError | undefined {
  const absolute = resolve(home);
  let existing = absolute;
  while (!exists(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  let real: string;
  try {
    real = realpathSync(existing);
  } catch {
    return undefined; // Nothing to check (an unreadable root): the first write reports it.
  }
  const homeExists = existing === absolute;
  let dir = real;
  let isHome = homeExists;
  for (;;) {
    let stats: Stats;
    try {
      stats = statSync(dir);
    } catch {
      return undefined;
    }
    if (isHome) {
      if (!stats.isDirectory()) {
        return unsafe(`OEP_HOME ${absolute} is not a folder${real !== absolute ? ` (it leads to ${real})` : ''}.`, 'Point OEP_HOME at a folder of your own (unset it for the default, ~/.local/state/oep).');
      }
      if (stats.uid !== uid) {
        return unsafe(`OEP_HOME ${absolute}${where(absolute, real)} belongs to ${userName(stats.uid)}, not to you (${userName(uid)}): oep keeps its state, keys and logs only in a folder of your own.`, OWN_HOME_HINT);
      }
      if ((stats.mode & 0o022) !== 0) {
        return unsafe(
          `OEP_HOME ${absolute}${where(absolute, real)} can be written by other users (mode ${mode(stats)}), so they could put files or links there that oep would read or write.`,
          `Make it private: chmod 700 ${real} (or use another OEP_HOME). Nothing was changed.`,
        );
      }
      isHome = false;
    } else {
      if (stats.uid !== uid && stats.uid !== 0) {
        return unsafe(`OEP_HOME ${absolute} is inside ${dir}, which belongs to ${userName(stats.uid)}: that user could replace the folders below it.`, OWN_HOME_HINT);
      }
      if ((stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0) {
        return unsafe(
          `OEP_HOME ${absolute} is inside ${dir}, which other users can write (mode ${mode(stats)}, no sticky bit): they could replace the folders below it.`,
          `Use an OEP_HOME in a folder only you can write (unset OEP_HOME for the default, ~/.local/state/oep), or remove the write bits: chmod go-w ${dir}. Nothing was changed.`,
        );
      }
      // The first folder of the user's that nobody else can change: what is above is not looked at.
      if (stats.uid === uid) return undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Throws OEP_ERR_HOME_UNSAFE (exit 2, nothing changed) for an OEP_HOME `homeProblem` refuses. */
export function checkHome(home: string, uid?: number): void {
  const problem = homeProblem(home, uid);
  if (problem) throw problem;
}

/** Makes OEP_HOME (0700) if it is missing, after checking where it goes and again once it exists. */
export function ensureHome(home: string, uid?: number): void {
  checkHome(home, uid);
  if (exists(home)) return;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  checkHome(home, uid);
}

/**
 * Refuses a file oep is about to write in OEP_HOME when it is a symbolic link or not a regular
 * file (a FIFO, a device, a folder): oep never writes through a link it did not make. For files
 * written by a library that follows links (conf's settings.json).
 */
export function checkNotLink(file: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch {
    return;
  }
  if (stats.isFile()) return;
  const what = stats.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
  throw new OepError('OEP_ERR_HOME_UNSAFE', `${file} is ${what}: oep does not write through links or into special files in OEP_HOME.`, {
    hint: `Remove it (rm ${file}); oep makes a new one. Nothing was changed.`,
  });
}

const OWN_HOME_HINT = 'Use an OEP_HOME of your own (unset OEP_HOME for the default, ~/.local/state/oep), or run the command as its owner. Nothing was changed.';

function unsafe(message: string, hint: string): OepError {
  return new OepError('OEP_ERR_HOME_UNSAFE', message, { hint });
}

function where(absolute: string, real: string): string {
  return real === absolute ? '' : ` (${real})`;
}

function mode(stats: Stats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** "user nobody (uid 65534)", or "uid 1234" when /etc/passwd does not name it. */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid && id !== '') return `user ${name} (uid ${uid})`;
    }
  } catch {
    // No /etc/passwd: the number alone.
  }
  return `uid ${uid}`;
}
