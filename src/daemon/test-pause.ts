import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A test-only hook for the fault suite (test/faults/delete-interrupted.test.ts): with
 * `OEP_TEST_PAUSE_AT=<point>[,<point>...]` in the daemon's environment, the daemon stops at that
 * named step of its work, writes `$OEP_HOME/test-paused-at-<point>` and never goes on, so a test
 * can kill it there with SIGKILL instead of guessing a moment. Each point pauses once per home
 * (the file stays): a daemon restarted with the same environment (by a test, or by whatever
 * restarts a crashed daemon) finishes the work instead of pausing again. Unset, it does nothing.
 * The points are listed in docs/reliability.md ("The daemon killed during a delete").
 */
export async function pauseForTest(home: string, point: string, log: (line: string) => void): Promise<void> {
  const wanted = (process.env.OEP_TEST_PAUSE_AT ?? '').split(',').map((each) => each.trim());
  if (!wanted.includes(point)) return;
  const marker = join(home, `test-paused-at-${point}`);
  try {
    // O_EXCL: the first daemon to reach the point pauses; later ones (the file is there) go on.
    closeSync(openSync(marker, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600));
  } catch {
    return;
  }
  log(`paused at ${point} (OEP_TEST_PAUSE_AT, a test hook): this daemon goes no further with that work`);
  await new Promise<never>(() => undefined);
}
