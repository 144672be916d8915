import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PayloadLogging } from '../../src/model/data-collection.js';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { Router, type DeploymentRoute, type EndpointRoute } from '../../src/router/router.js';
import type { LiveReplica } from '../../src/router/router.js';
import { payloadLogging } from './router-support.js';

/** Every JSON line under a folder. */
function lines(root: string): Record<string, unknown>[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    if (statSync(path).isDirectory()) return lines(path);
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('router: data_collector payload logging', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oep-payloads-'));
  const seen: IncomingHttpHeaders[] = [];
  let upstream: Server;
  let router: Router;
  let port = 0;
  let replica: LiveReplica;

  const logging = (change: Partial<PayloadLogging> = {}): PayloadLogging => payloadLogging(dir, 'ep', change);
  const route = (dataCollector?: PayloadLogging): EndpointRoute => {
    const blue: DeploymentRoute = { requestTimeoutMs: 60_000, maxConcurrentPerInstance: 4, instanceCount: 1, ...(dataCollector && { dataCollector }) };
    return { name: 'ep', port, authMode: 'key', keys: { primary: 'p', secondary: 's' }, tokenSecret: 't', traffic: { blue: 100 }, mirror: {}, deployments: { blue } };
  };
  const score = (headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: 'Bearer p', 'content-type': 'application/json', ...headers }, body: '{"x": 1}' });

  before(async () => {
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"y": 2}'));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const address = upstream.address();
    replica = { id: 'r0', origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, scoringPath: '/score', ready: true };
    port = await findFreePort();
    router = new Router({ replicas: () => [replica] });
  });

  after(async () => {
    await router.close();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a data collector: nothing written, and a client cannot send the sampling header on', async () => {
    await router.upsert(route());
    const response = await score({ 'x-oep-data-collection': '1' });
    assert.equal(response.status, 200);
    assert.equal(seen.at(-1)!['x-oep-data-collection'], undefined);
    assert.equal(existsSync(join(dir, 'ep')), false);
  });

  it('logs the request and the response with the x-request-id the replica got', async () => {
    await router.upsert(route(logging({ captureHeaders: ['x-tag'] })));
    const response = await score({ 'x-tag': 'seven' });
    assert.equal(response.status, 200);
    const requestId = response.headers.get('x-request-id');
    assert.equal(seen.at(-1)!['x-request-id'], requestId);
    assert.equal(seen.at(-1)!['x-oep-data-collection'], undefined, 'at a sampling rate of 1 the script needs no header');
    const events = await until('two events', () => {
      const found = lines(join(dir, 'ep', 'blue'));
      return found.length === 2 ? found : undefined;
    });
    const request = events.find((event) => event.type === 'azureml.inference.request')!;
    const answer = events.find((event) => event.type === 'azureml.inference.response')!;
    assert.deepEqual([request.correlationid, answer.correlationid], [requestId, requestId]);
    assert.deepEqual(request.data, { x: 1 });
    assert.deepEqual(request.headers, { 'x-tag': 'seven' });
    assert.deepEqual(answer.data, { y: 2 });
    const folders = readdirSync(join(dir, 'ep', 'blue')).sort();
    assert.deepEqual(folders, ['request', 'response']);
  });

  it('out of the sample: nothing logged, and the script is told so', async () => {
    rmSync(join(dir, 'ep'), { recursive: true, force: true });
    await router.upsert(route(logging({ samplingRate: 0, tellScript: true })));
    const response = await score();
    assert.equal(response.status, 200);
    assert.equal(seen.at(-1)!['x-oep-data-collection'], '0');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(lines(join(dir, 'ep', 'blue')), []);
  });
});
