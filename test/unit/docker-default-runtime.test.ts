import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { chooseDefaultRuntime } from '../../src/runtimes/docker/default-runtime.js';
import { DockerEngine } from '../../src/runtimes/docker/engine.js';
import type { ProgressEvent } from '../../src/runtimes/types.js';
import { checkSetting, openSettings } from '../../src/state/settings.js';

/** An engine whose ping answers as the test says, and which never touches a real Docker. */
class FakeEngine extends DockerEngine {
  constructor(private readonly up: boolean) {
    super(() => ({ options: {}, description: 'unix:///fake.sock (test)' }));
  }

  override async answers(): Promise<boolean> {
    return this.up;
  }
}

describe('chooseDefaultRuntime', () => {
  it('auto: docker when the engine answers, silently', async () => {
    const events: ProgressEvent[] = [];
    assert.equal(await chooseDefaultRuntime('auto', new FakeEngine(true), (event) => events.push(event)), 'docker');
    assert.deepEqual(events, []);
  });

  it('auto: process when it does not, with a notice that says why', async () => {
    const events: ProgressEvent[] = [];
    assert.equal(await chooseDefaultRuntime('auto', new FakeEngine(false), (event) => events.push(event)), 'process');
    assert.deepEqual(events, [{ phase: 'notice', message: 'no Docker engine answered (unix:///fake.sock (test)): using the process runtime' }]);
  });

  it('an explicit preference is used as it is', async () => {
    assert.equal(await chooseDefaultRuntime('process', new FakeEngine(true), () => assert.fail('no notice')), 'process');
    assert.equal(await chooseDefaultRuntime('docker', new FakeEngine(false), () => assert.fail('no notice')), 'docker');
  });
});

describe('user settings', () => {
  const home = mkdtempSync(join(tmpdir(), 'oep-settings-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('live in OEP_HOME/settings.json, default runtime auto', async () => {
    const settings = await openSettings({ OEP_HOME: home });
    assert.equal(settings.path, join(home, 'settings.json'));
    assert.equal(settings.get('runtime'), 'auto');
    settings.set('runtime', 'process');
    assert.deepEqual(JSON.parse(readFileSync(join(home, 'settings.json'), 'utf8')), { runtime: 'process', python: 'python3', log_max_mb: '10', pair_ring_size: '1000', image_map: '', identity_source: 'auto', keyvault_source: 'local', tls: 'off', aad_tenant: '' });
    assert.equal((await openSettings({ OEP_HOME: home })).get('runtime'), 'process');
    settings.reset('runtime');
    assert.equal((await openSettings({ OEP_HOME: home })).get('runtime'), 'auto');
  });

  it('refuses unknown keys and values', () => {
    assert.throws(() => checkSetting('runtime', 'podman'), (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_USAGE');
    for (const bad of ['0', '-1', '1.5', 'ten', '10MB']) {
      assert.throws(() => checkSetting('log_max_mb', bad), (error: unknown) => error instanceof OepError && error.message === `"${bad}" is not a valid value for log_max_mb; use a whole number of MB from 1 to 999999.`);
    }
    assert.equal(checkSetting('log_max_mb', '25'), 'log_max_mb');
    assert.throws(() => checkSetting('theme'), (error: unknown) => error instanceof OepError && error.message === 'Unknown setting "theme".');
  });
});

describe('DockerEngine.isConnectionError', () => {
  it('is true for a socket that refuses or does not exist, false for file errors and engine answers', () => {
    assert.equal(DockerEngine.isConnectionError(Object.assign(new Error('x'), { code: 'ENOENT', syscall: 'connect' })), true);
    assert.equal(DockerEngine.isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED', syscall: 'connect' })), true);
    assert.equal(DockerEngine.isConnectionError(Object.assign(new Error('x'), { code: 'ENOENT', syscall: 'rename' })), false);
    assert.equal(DockerEngine.isConnectionError(Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404 })), false);
  });
});
