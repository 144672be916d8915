import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { NO_DEPLOYMENT_MESSAGE, Router, type EndpointRoute } from '../../src/router/router.js';
import type { RouteRecord } from '../../src/model/route-record.js';
import type { LiveReplica } from '../../src/router/router.js';
import { until } from './router-support.js';

interface Upstream {
  server: Server;
  origin: string;
  /** Requests that arrived (counted when their body has been read). */
  received: number;
  /** Answers every request held so far and every later one. */
  release: () => void;
  close: () => void;
}

/**
 * An upstream that answers by the request body: {"status": 500}, or {"hang": true} to never
 * answer (until close). With `held`, it answers nothing until release(): tests wait on that
 * event, not on a delay a loaded machine could stretch past a budget.
 */
function upstream(options: { held?: boolean } = {}): Promise<Upstream> {
  let held = options.held ?? false;
  const waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/swagger.json')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message": "no swagger"}');
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      result.received += 1;
      const asked = JSON.parse(body || '{}') as { status?: number; hang?: boolean };
      if (asked.hang) return;
      const answer = (): void => void res.writeHead(asked.status ?? 200, { 'content-type': 'application/json' }).end('{"message": "model says no"}');
      if (held) waiting.push(answer);
      else answer();
    });
  });
  const result: Upstream = {
    server,
    origin: '',
    received: 0,
    release: () => {
      held = false;
      for (const answer of waiting.splice(0)) answer();
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      result.origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      resolve(result);
    }),
  );
}


/** A key-auth route (keys p and s) whose deployments all take 1 request per instance, with a timeout no test reaches. */
function keyRoute(name: string, port: number, traffic: Record<string, number>, mirror: Record<string, number> = {}): EndpointRoute {
  const settings = { requestTimeoutMs: 60_000, maxConcurrentPerInstance: 1, instanceCount: 1 };
  return {
    name,
    port,
    authMode: 'key',
    keys: { primary: 'p', secondary: 's' },
    tokenSecret: 'x',
    traffic,
    mirror,
    deployments: Object.fromEntries([...Object.keys(traffic), ...Object.keys(mirror)].map((deployment) => [deployment, settings])),
  };
}

describe('router status codes', () => {
  let model: Upstream;
  let replica: LiveReplica;
  const router = new Router({ replicas: (_endpoint, deployment) => (deployment === 'blue' ? [replica] : []) });
  // Only the timeout tests use a short request_timeout_ms, against an upstream that never answers:
  // the timeout can fire late on a loaded machine, never early, so the answer is always 408/504.
  // The other routes have a timeout no request reaches however slow the machine.
  const route = (name: string, port: number, kind: 'managed' | 'kubernetes', traffic: Record<string, number>, requestTimeoutMs = 60_000): EndpointRoute => ({
    name,
    port,
    authMode: 'key',
    kind,
    keys: { primary: 'p', secondary: 's' },
    tokenSecret: 'x',
    traffic,
    mirror: {},
    deployments: { blue: { requestTimeoutMs, maxConcurrentPerInstance: 1, instanceCount: 1 } },
  });
  const ports: Record<string, number> = {};
  const call = async (kind: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${ports[kind]}/score`, { method: 'POST', headers: { authorization: 'Bearer p' }, body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };

  before(async () => {
    model = await upstream();
    replica = { id: 'blue/0', origin: model.origin, scoringPath: '/score', ready: true };
    for (const name of ['managed', 'kubernetes', 'managed-short', 'kubernetes-short', 'empty']) ports[name] = await findFreePort();
    await router.upsert(route('managed', ports.managed!, 'managed', { blue: 100 }));
    await router.upsert(route('kubernetes', ports.kubernetes!, 'kubernetes', { blue: 100 }));
    await router.upsert(route('managed-short', ports['managed-short']!, 'managed', { blue: 100 }, 200));
    await router.upsert(route('kubernetes-short', ports['kubernetes-short']!, 'kubernetes', { blue: 100 }, 200));
    await router.upsert(route('empty', ports.empty!, 'managed', {}));
  });
  after(async () => {
    await router.close();
    model.close();
  });

  it('managed: 424 with the model error headers, 408 past the timeout', async () => {
    const failed = await call('managed', { status: 503 });
    assert.equal(failed.status, 424);
    assert.equal(failed.headers.get('ms-azureml-model-error-statuscode'), '503');
    assert.equal(failed.headers.get('ms-azureml-model-error-reason'), 'model says no');
    const timedOut = await call('managed-short', { hang: true });
    assert.equal(timedOut.status, 408);
    assert.deepEqual(JSON.parse(timedOut.body), { message: 'Request timed out after 200 ms (request_settings.request_timeout_ms of deployment blue).' });
  });

  it('kubernetes: 502 and 504 instead', async () => {
    assert.equal((await call('kubernetes', { status: 500 })).status, 502);
    assert.equal((await call('kubernetes-short', { hang: true })).status, 504);
  });

  it('answers with a content-length (no chunking) and passes /swagger.json statuses through', async () => {
    const ok = await call('managed', {});
    assert.equal(ok.headers.get('content-length'), String(Buffer.byteLength(ok.body)));
    assert.equal(ok.headers.get('transfer-encoding'), null);
    const res = await fetch(`http://127.0.0.1:${ports.managed}/swagger.json`, { headers: { authorization: 'Bearer p' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('azureml-model-deployment'), 'blue');
    assert.equal(await res.text(), '{"message": "no swagger"}');
  });

  it('serves a request sent with Expect: 100-continue (curl does so for large bodies)', async () => {
    const body = JSON.stringify({ data: 'x'.repeat(100_000) });
    const answer = await new Promise<{ status: number; continued: boolean; text: string }>((resolve, reject) => {
      let continued = false;
      const req = request(
        `http://127.0.0.1:${ports.managed}/score`,
        { method: 'POST', headers: { authorization: 'Bearer p', expect: '100-continue', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, text }));
        },
      );
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
    });
    assert.equal(answer.continued, true);
    assert.equal(answer.status, 200, answer.text);
  });

  it('404 with the cloud message when no deployment has positive weight', async () => {
    const answer = await call('empty', {});
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), { message: NO_DEPLOYMENT_MESSAGE });
  });
});

describe('router mirroring', () => {
  const records: RouteRecord[] = [];
  let fast: Upstream;
  let slow: Upstream;
  let blue: LiveReplica;
  let green: LiveReplica;
  const router = new Router({
    replicas: (_endpoint, deployment) => (deployment === 'blue' ? [blue] : [green]),
    record: (entry) => records.push(entry),
  });
  let port = 0;

  before(async () => {
    fast = await upstream();
    // The mirror answers nothing until the test releases it: exactly 2 copies are in flight
    // while the 10 requests are sent, however long sending them takes.
    slow = await upstream({ held: true });
    blue = { id: 'blue/0', origin: fast.origin, scoringPath: '/score', ready: true };
    green = { id: 'green/0', origin: slow.origin, scoringPath: '/score', ready: true };
    port = await findFreePort();
    await router.upsert(keyRoute('mirror', port, { blue: 100 }, { green: 100 }));
  });
  after(async () => {
    await router.close();
    fast.close();
    slow.close();
  });

  it('drops copies past the mirror replica\'s limit instead of queueing them without bound', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p' }, body: '{}' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('azureml-model-deployment'), 'blue');
      await res.text();
    }
    // 2 x max_concurrent_requests_per_instance copies may wait at the slow mirror; the rest are dropped at once.
    const dropped = records.filter((entry) => entry.mirrored && entry.status === 429);
    assert.equal(dropped.length, 8);
    assert.equal(router.inflightOf(green), 2);
    await until('the mirror has received both copies', () => slow.received === 2);
    slow.release();
    await until('both copies are answered', () => records.filter((entry) => entry.mirrored && entry.status === 200).length === 2);
    assert.equal(records.filter((entry) => entry.mirrored).length, 10);
    assert.equal(router.inflightOf(green), 0);
  });
});

describe('router listener on a port another program holds', () => {
  it('does not fail, says why, and takes the port as soon as it is free', async () => {
    const model = await upstream();
    const replica: LiveReplica = { id: 'blue/0', origin: model.origin, scoringPath: '/score', ready: true };
    const logged: string[] = [];
    const router = new Router({ replicas: () => [replica], listenRetryMs: 20, log: (line) => logged.push(line) });
    const squatter = createServer((_req, res) => res.writeHead(418).end());
    const port = await findFreePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await router.upsert(keyRoute('held', port, { blue: 100 }));
      const problem = `Endpoint held cannot listen on 127.0.0.1:${port} (EADDRINUSE, another program holds the port); oep keeps trying.`;
      assert.equal(router.problem('held'), problem);
      assert.deepEqual(router.problems(), { held: problem });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(logged, [problem], 'the retries log the problem once');

      squatter.closeAllConnections();
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      await until('the router takes the freed port', () => router.problem('held') === undefined);
      assert.deepEqual(router.problems(), {});
      assert.equal(logged[1], `endpoint held: listening on 127.0.0.1:${port} again`);
      const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p' }, body: '{}' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('azureml-model-deployment'), 'blue');
      await res.text();
    } finally {
      squatter.close();
      await router.close();
      model.close();
    }
  });

  it('stops trying once the endpoint is removed', async () => {
    const router = new Router({ replicas: () => [], listenRetryMs: 10 });
    const squatter = createServer();
    const port = await findFreePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    await router.upsert(keyRoute('gone', port, {}));
    assert.ok(router.problem('gone'));
    await router.remove('gone');
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Nothing took the freed port: another server can bind it.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', resolve);
    });
    probe.close();
    assert.equal(router.problem('gone'), undefined);
    await router.close();
  });
});
