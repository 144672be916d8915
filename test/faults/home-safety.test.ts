import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OEP_BIN, REPO_ROOT, type RunResult } from '../e2e/harness.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { homeProblem } from '../../src/state/home-check.js';
import { appendFileNoFollow, writeFileAtomic, writeFileNoFollowSync } from '../../src/state/atomic-write.js';
import { rotateIfLarger } from '../../src/telemetry/log-rotation.js';
import { writePreparedLog } from '../../src/runtimes/prepared-log.js';

/**
 * An OEP_HOME another user owns or can write is refused before oep reads or writes anything there
 * (OEP_ERR_HOME_UNSAFE, exit 2), its parents up to the first folder of the user's too (sticky /tmp
 * is fine); and no file oep writes is written through a symbolic link (docs/reliability.md).
 */
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix = 'oep-safety-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Runs the built CLI against `home`, as this user or (setpriv) as another one. */
function oep(home: string, args: string[], uid?: number): Promise<RunResult> {
  const cwd = tempDir('oep-cwd-');
  chmodSync(cwd, 0o777);
  const command = uid === undefined ? process.execPath : 'setpriv';
  const argv = uid === undefined ? [OEP_BIN, ...args] : [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, OEP_BIN, ...args];
  return new Promise((resolve) => {
    execFile(command, argv, { cwd: uid === undefined ? REPO_ROOT : cwd, env: { ...process.env, OEP_HOME: home, NO_COLOR: '1', HOME: cwd }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A root-owned file that must survive: its content and mode, to compare after. */
function precious(): { file: string; unchanged: () => void } {
  const file = join(tempDir('oep-victim-'), 'precious.conf');
  writeFileSync(file, 'root-owned content\n', { mode: 0o644 });
  chmodSync(file, 0o644);
  return {
    file,
    unchanged: () => {
      assert.equal(readFileSync(file, 'utf8'), 'root-owned content\n');
      assert.equal(statSync(file).mode & 0o7777, 0o644);
    },
  };
}

describe('an OEP_HOME other users can change is refused, exit 2, nothing touched', () => {
  it('a 0777 home holding settings.json -> a root-owned file: refused; the file keeps its content and mode', async () => {
    const home = tempDir();
    chmodSync(home, 0o777);
    const victim = precious();
    symlinkSync(victim.file, join(home, 'settings.json'));
    const log = precious();
    symlinkSync(log.file, join(home, 'daemon.log'));
    for (const args of [['config', 'set', 'runtime', 'process'], ['endpoint', 'list'], ['daemon', 'start']]) {
      const result = await oep(home, args);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `error: OEP_HOME ${home} can be written by other users (mode 0777), so they could put files or links there that oep would read or write.\n` +
          `hint: Make it private: chmod 700 ${home} (or use another OEP_HOME). Nothing was changed.\n` +
          '(OEP_ERR_HOME_UNSAFE)\n',
      );
    }
    victim.unchanged();
    log.unchanged();
    assert.equal(statSync(home).mode & 0o7777, 0o777, 'the home is left as it was');
    assert.deepEqual(readdir(home), ['daemon.log', 'settings.json'], 'nothing was made in the home (no daemon ran)');
  });

  it('a private home whose settings.json or daemon.log is a link: refused by name; nothing written through it', async () => {
    const home = tempDir();
    const victim = precious();
    symlinkSync(victim.file, join(home, 'settings.json'));
    const set = await oep(home, ['config', 'set', 'runtime', 'process']);
    assert.equal(set.code, 2, set.stderr);
    assert.equal(
      set.stderr,
      `error: ${home}/settings.json is a symbolic link: oep does not write through links or into special files in OEP_HOME.\n` +
        `hint: Remove it (rm ${home}/settings.json); oep makes a new one. Nothing was changed.\n(OEP_ERR_HOME_UNSAFE)\n`,
    );
    victim.unchanged();
    rmSync(join(home, 'settings.json'));
    const log = precious();
    symlinkSync(log.file, join(home, 'daemon.log'));
    const list = await oep(home, ['endpoint', 'list']);
    assert.equal(list.code, 2, list.stderr);
    assert.match(list.stderr, new RegExp(`^error: ${home}/daemon\\.log is a symbolic link: oep does not write through links`));
    log.unchanged();
    assert.equal(existsSync(join(home, 'daemon.sock')), false, 'no daemon started');
  });

  it('a home of another user: refused, saying whose it is', { skip: prerequisiteSkip('a home owned by another user', !isRoot && 'needs root to chown a folder to nobody') }, async () => {
    const home = tempDir();
    chownSync(home, NOBODY, NOBODY);
    const result = await oep(home, ['config', 'get', 'runtime']);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      `error: OEP_HOME ${home} belongs to user nobody (uid 65534), not to you (user root (uid 0)): oep keeps its state, keys and logs only in a folder of your own.\n` +
        'hint: Use an OEP_HOME of your own (unset OEP_HOME for the default, ~/.local/state/oep), or run the command as its owner. Nothing was changed.\n(OEP_ERR_HOME_UNSAFE)\n',
    );
    assert.deepEqual(readdir(home), []);
  });

  it('a private home inside a folder others can write (0777, no sticky bit): refused, naming that folder', async () => {
    const parent = tempDir();
    chmodSync(parent, 0o777);
    const home = join(parent, 'home');
    mkdirSync(home, { mode: 0o700 });
    const result = await oep(home, ['config', 'get', 'runtime']);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      `error: OEP_HOME ${home} is inside ${parent}, which other users can write (mode 0777, no sticky bit): they could replace the folders below it.\n` +
        `hint: Use an OEP_HOME in a folder only you can write (unset OEP_HOME for the default, ~/.local/state/oep), or remove the write bits: chmod go-w ${parent}. Nothing was changed.\n(OEP_ERR_HOME_UNSAFE)\n`,
    );
    // The same folder with the sticky bit (as /tmp): others cannot rename or remove what is the user's.
    chmodSync(parent, 0o1777);
    assert.equal((await oep(home, ['config', 'get', 'runtime'])).stdout, 'auto\n');
  });

  it('accepted: a mkdtemp home in /tmp (1777), and one that does not exist yet there (made 0700)', async () => {
    assert.equal(statSync(tmpdir()).mode & 0o1022, 0o1022, `${tmpdir()} is sticky and world-writable, as /tmp is`);
    const home = tempDir();
    assert.equal(statSync(home).mode & 0o7777, 0o700);
    const got = await oep(home, ['config', 'set', 'runtime', 'process']);
    assert.equal(got.code, 0, got.stderr);
    const fresh = join(tmpdir(), `oep-fresh-${process.pid}-${Date.now()}`);
    made.push(fresh);
    const set = await oep(fresh, ['config', 'set', 'runtime', 'process']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(statSync(fresh).mode & 0o7777, 0o700);
    assert.equal(statSync(join(fresh, 'settings.json')).mode & 0o7777, 0o600);
  });

  it(
    'as another user (nobody): its own 0700 home in /tmp is accepted; one in a folder root made 0777 is refused',
    { skip: prerequisiteSkip('homes of another user', !isRoot && 'needs root to run oep as another user (setpriv)') },
    async () => {
      const home = tempDir();
      chownSync(home, NOBODY, NOBODY);
      const own = await oep(home, ['config', 'set', 'runtime', 'process'], NOBODY);
      assert.equal(own.code, 0, own.stderr);
      assert.equal(lstatSync(join(home, 'settings.json')).uid, NOBODY);
      const parent = tempDir();
      chmodSync(parent, 0o777);
      const inside = join(parent, 'home');
      mkdirSync(inside);
      chownSync(inside, NOBODY, NOBODY);
      chmodSync(inside, 0o700);
      const refused = await oep(inside, ['config', 'get', 'runtime'], NOBODY);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`^error: OEP_HOME ${inside} is inside ${parent}, which other users can write \\(mode 0777, no sticky bit\\)`));
    },
  );

  it('homeProblem: parents are looked at up to the first folder of the user, not above', () => {
    const parent = tempDir();
    const home = join(parent, 'home');
    mkdirSync(home, { mode: 0o700 });
    // Seen as uid 4242: the home is root's, so not this user's.
    assert.match(homeProblem(home, 4242)?.message ?? '', /belongs to user root \(uid 0\), not to you \(uid 4242\)/);
    // A home that does not exist yet, in a root-owned 0755 folder seen by another uid: its parents are root's and closed, fine.
    chmodSync(parent, 0o755);
    assert.equal(homeProblem(join(parent, 'missing', 'home'), 4242), undefined);
    // ... but a parent of another (non-root) user is refused.
    if (isRoot) {
      chownSync(parent, NOBODY, NOBODY);
      assert.match(homeProblem(join(parent, 'missing'), 4242)?.message ?? '', new RegExp(`is inside ${parent}, which belongs to user nobody \\(uid 65534\\)`));
    }
  });
});

describe('files oep writes are never written through a symbolic link', () => {
  it('appends, whole writes, atomic writes, log rotation and the storage-initializer log leave a link and its target alone', async () => {
    const dir = tempDir();
    const victim = precious();
    const link = (name: string): string => {
      const path = join(dir, name);
      symlinkSync(victim.file, path);
      return path;
    };
    await assert.rejects(appendFileNoFollow(link('replica-0.log'), 'x\n'), { code: 'ELOOP' });
    assert.throws(() => writeFileNoFollowSync(link('daemon.pid'), '1'), { code: 'ELOOP' });
    await assert.rejects(writePreparedLog(link('storage-initializer.log'), { runtime: 'process', mounts: [], environment: {} }), { code: 'ELOOP' });
    victim.unchanged();
    // An atomic write replaces the link itself (rename), never what it points at.
    const state = link('state.json');
    await writeFileAtomic(state, '{}\n');
    assert.equal(lstatSync(state).isFile(), true);
    assert.equal(statSync(state).mode & 0o7777, 0o600);
    victim.unchanged();
    // Rotation: a link in place of a log is not rotated; a link at <log>.1 is replaced, not written through.
    assert.equal(await rotateIfLarger(link('access.log'), 0), false);
    const log = join(dir, 'big.log');
    writeFileSync(log, 'y'.repeat(100), { mode: 0o600 });
    symlinkSync(victim.file, `${log}.1`);
    assert.equal(await rotateIfLarger(log, 10), true);
    assert.equal(lstatSync(`${log}.1`).isFile(), true);
    assert.equal(readFileSync(`${log}.1`, 'utf8'), 'y'.repeat(100));
    assert.equal(statSync(log).size, 0);
    victim.unchanged();
  });
});

function readdir(dir: string): string[] {
  return readdirSync(dir).sort();
}
