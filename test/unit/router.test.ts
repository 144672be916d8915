import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { NO_DEPLOYMENT_MESSAGE, Router, type EndpointRoute } from '../../src/router/router.js';
import type { LiveReplica } from '../../src/supervisor/supervisor.js';

/** An upstream that answers by the request body: {"status": 500} or {"sleep": ms}. */
function upstream(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const asked = JSON.parse(body || '{}') as { status?: number; sleep?: number };
      setTimeout(() => res.writeHead(asked.status ?? 200, { 'content-type': 'application/json' }).end('{"message": "model says no"}'), asked.sleep ?? 0);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
    }),
  );
}

describe('router status codes', () => {
  let model: { server: Server; origin: string };
  let replica: LiveReplica;
  const router = new Router({ replicas: (_endpoint, deployment) => (deployment === 'blue' ? [replica] : []) });
  const route = (port: number, kind: 'managed' | 'kubernetes', traffic: Record<string, number>): EndpointRoute => ({
    name: kind,
    port,
    authMode: 'key',
    kind,
    keys: { primary: 'p', secondary: 's' },
    tokenSecret: 'x',
    traffic,
    mirror: {},
    deployments: { blue: { requestTimeoutMs: 200, maxConcurrentPerInstance: 1, instanceCount: 1 } },
  });
  const ports: Record<string, number> = {};
  const call = async (kind: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${ports[kind]}/score`, { method: 'POST', headers: { authorization: 'Bearer p' }, body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };

  before(async () => {
    model = await upstream();
    replica = { id: 'blue/0', origin: model.origin, scoringPath: '/score', ready: true, inflight: 0 };
    ports.managed = await findFreePort();
    ports.kubernetes = await findFreePort();
    ports.empty = await findFreePort();
    await router.upsert(route(ports.managed, 'managed', { blue: 100 }));
    await router.upsert(route(ports.kubernetes, 'kubernetes', { blue: 100 }));
    await router.upsert({ ...route(ports.empty, 'managed', {}), name: 'empty' });
  });
  after(async () => {
    await router.close();
    model.server.close();
  });

  it('managed: 424 with the model error headers, 408 past the timeout', async () => {
    const failed = await call('managed', { status: 503 });
    assert.equal(failed.status, 424);
    assert.equal(failed.headers.get('ms-azureml-model-error-statuscode'), '503');
    assert.equal(failed.headers.get('ms-azureml-model-error-reason'), 'model says no');
    assert.equal((await call('managed', { sleep: 400 })).status, 408);
  });

  it('kubernetes: 502 and 504 instead', async () => {
    assert.equal((await call('kubernetes', { status: 500 })).status, 502);
    assert.equal((await call('kubernetes', { sleep: 400 })).status, 504);
  });

  it('404 with the cloud message when no deployment has positive weight', async () => {
    const answer = await call('empty', {});
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), { message: NO_DEPLOYMENT_MESSAGE });
  });
});
