import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DaemonStatus, MethodName } from '../../src/daemon/api.js';
import { DaemonClient } from '../../src/daemon/client.js';
import { startControlServer, type Handlers } from '../../src/daemon/server.js';
import { OepError } from '../../src/errors.js';

/** The control API end to end over a real unix socket: typed calls, typed failures. */
describe('the daemon API', () => {
  const home = mkdtempSync(join(tmpdir(), 'oep-api-'));
  const client = new DaemonClient(home);
  let server: Server;
  const status: DaemonStatus = { pid: 1, version: 'test', home, socket: client.paths.socket, endpoints: 0, metrics_url: null, problems: [], entry: '', keeper: null };

  before(async () => {
    // Only the methods these tests call; the daemon's own table implements every one (tsc checks that).
    const handlers = {
      status: async () => status,
      'deployment.show': async (params: { endpoint: string; name: string }) => ({ endpoint: params.endpoint, name: params.name }),
      'deployment.create': async () => {
        throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', 'Deployment blue failed in phase "init": init() failed.', { phase: 'init', details: ['Traceback'] });
      },
    } as unknown as Handlers;
    server = await startControlServer(client.paths.socket, handlers, () => undefined);
  });
  after(() => {
    server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('answers a call with the typed result', async () => {
    const answer: DaemonStatus | undefined = await client.callIfRunning('status');
    assert.deepEqual(answer, status);
    assert.deepEqual(await client.callIfRunning('deployment.show', { endpoint: 'ep', name: 'blue' }), { endpoint: 'ep', name: 'blue' });
  });

  it('carries a failure with its phase as a field, not in the message only', async () => {
    const error = await client.callIfRunning('deployment.create', { spec: {} as never }).then(
      () => assert.fail('the call should fail'),
      (failure: unknown) => failure as OepError,
    );
    assert.equal(error.code, 'OEP_ERR_DEPLOYMENT_FAILED');
    assert.equal(error.phase, 'init');
    assert.deepEqual(error.details, ['Traceback']);
  });

  it('refuses a method it does not have, inherited names included', async () => {
    for (const method of ['endpoint.rename', 'toString', '__proto__', 'constructor']) {
      await assert.rejects(client.callIfRunning(method as MethodName), new RegExp(`The daemon has no method "${method}"`));
    }
  });
});
