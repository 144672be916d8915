import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { followLog } from '../../src/telemetry/log-follow.js';
import { LogRotator, rotateIfLarger } from '../../src/telemetry/log-rotation.js';

const root = mkdtempSync(join(tmpdir(), 'oep-rotation-'));

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('log rotation', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('copies a log past the limit to <log>.1 and empties it in place, so a writer holding it goes on', async () => {
    const file = join(root, 'replica-0.log');
    // As a replica's stdout: opened once for appending, never reopened.
    const fd = openSync(file, 'a', 0o600);
    try {
      writeSync(fd, 'a'.repeat(2000) + '\n');
      assert.equal(await rotateIfLarger(file, 4096), false);
      writeSync(fd, 'b'.repeat(3000) + '\n');
      assert.equal(await rotateIfLarger(file, 4096), true);
      assert.equal(statSync(`${file}.1`).size, 5002);
      assert.equal(statSync(`${file}.1`).mode & 0o777, 0o600);
      assert.equal(statSync(file).size, 0);
      writeSync(fd, 'after\n');
      assert.equal(readFileSync(file, 'utf8'), 'after\n', 'the writer appends at the start of the emptied file');
      // The next rotation replaces the rotated file: one is kept.
      writeSync(fd, 'c'.repeat(5000) + '\n');
      assert.equal(await rotateIfLarger(file, 4096), true);
      assert.match(readFileSync(`${file}.1`, 'utf8'), /^after\nc{5000}\n$/);
    } finally {
      closeSync(fd);
    }
  });

  it('sweeps every *.log below its folders and the files it is given, with the limit of the moment', async () => {
    const logs = join(root, 'sweep', 'logs');
    mkdirSync(join(logs, 'ep', 'blue'), { recursive: true });
    appendFileSync(join(logs, 'ep', 'access.log'), 'x'.repeat(200));
    appendFileSync(join(logs, 'ep', 'blue', 'replica-0.log'), 'x'.repeat(50));
    appendFileSync(join(logs, 'ep', 'blue', 'replica-0.log.1'), 'x'.repeat(500));
    appendFileSync(join(root, 'sweep', 'daemon.log'), 'x'.repeat(300));
    let limit = 100;
    const rotator = new LogRotator({ dirs: [logs], files: [join(root, 'sweep', 'daemon.log')], maxBytes: async () => limit });
    assert.deepEqual((await rotator.sweep()).map((file) => file.slice(root.length)).sort(), ['/sweep/daemon.log', '/sweep/logs/ep/access.log']);
    limit = 10;
    assert.deepEqual((await rotator.sweep()).map((file) => file.slice(root.length)), ['/sweep/logs/ep/blue/replica-0.log']);
  });

  it('get-logs --follow goes on across a rotation and loses nothing', async () => {
    const file = join(root, 'follow.log');
    const fd = openSync(file, 'a', 0o600);
    const controller = new AbortController();
    let seen = '';
    const following = followLog(file, 10, (text) => (seen += text), controller.signal);
    try {
      writeSync(fd, 'line 1\n');
      await until('line 1 is followed', () => seen.includes('line 1\n'));
      // Written and rotated between two looks of the follower: line 2 is only in <log>.1 by then.
      writeSync(fd, 'line 2\n');
      await rotateIfLarger(file, 0);
      writeSync(fd, 'line 3\n');
      await until('line 3 is followed', () => seen.includes('line 3\n'));
      assert.equal(seen, 'line 1\nline 2\nline 3\n');
      assert.ok(existsSync(`${file}.1`));
    } finally {
      controller.abort();
      await following;
      closeSync(fd);
    }
  });
});
