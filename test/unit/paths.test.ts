import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { socketPathFor } from '../../src/state/paths.js';

describe('the daemon socket path', () => {
  it('is daemon.sock in OEP_HOME while that fits a unix socket path', () => {
    assert.equal(socketPathFor('/home/me/.local/state/oep', '/tmp', 1000), '/home/me/.local/state/oep/daemon.sock');
  });

  it('moves to a per-user folder of the temp directory, named by the home, when OEP_HOME is long', () => {
    const long = `/builds/${'workspace/'.repeat(12)}oep`;
    const socket = socketPathFor(long, '/tmp', 1000);
    assert.match(socket, /^\/tmp\/oep-1000\/[0-9a-f]{16}\.sock$/);
    assert.ok(Buffer.byteLength(socket) < 100);
    assert.equal(socketPathFor(long, '/tmp', 1000), socket, 'stable: the CLI and the daemon agree');
    assert.notEqual(socketPathFor(join(long, 'other'), '/tmp', 1000), socket, 'one socket per home');
  });
});
