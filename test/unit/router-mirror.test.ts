import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAMPLE_HEADER } from '../../src/model/server-contract.js';
import type { RouteRecord } from '../../src/model/route-record.js';
import { mirrorCopyLimit } from '../../src/model/traffic.js';
import { HeldBody, type RequestBody } from '../../src/router/body.js';
import type { Exchange } from '../../src/router/exchange.js';
import type { ForwardRequest, ForwardResponse } from '../../src/router/forward.js';
import { REPLICA_SECRET_HEADER, upstreamHeaders } from '../../src/router/headers.js';
import { Copies, MirrorRule, type LiveRequest } from '../../src/router/mirror.js';
import { ReplicaLoad } from '../../src/router/replica-load.js';
import type { DeploymentRoute, EndpointRoute, LiveReplica } from '../../src/router/route.js';

// The pieces Router.handle hands its copies to (mirror.ts) and shares with them: the replica
// load, the headers every send carries. The router's own behaviour with mirroring is in
// router.test.ts and router-answers.test.ts (real HTTP); here the copies' rules, exactly.

function replica(id: string, ready = true): LiveReplica {
  return { id, origin: `http://127.0.0.1:1/${id}`, scoringPath: '/score', ready };
}

function deploymentRoute(overrides: Partial<DeploymentRoute> = {}): DeploymentRoute {
  return { requestTimeoutMs: 1000, maxConcurrentPerInstance: 2, instanceCount: 1, ...overrides };
}

describe('MirrorRule', () => {
  it('is made from the one deployment with a mirror share, and none without', () => {
    assert.equal(MirrorRule.of({}), undefined);
    assert.equal(MirrorRule.of({ green: 0 }), undefined);
    assert.equal(MirrorRule.of({ blue: 0, green: 10 })?.deployment, 'green');
  });

  it('copies exactly its percent of the requests to other deployments, and never a request to itself', () => {
    const rule = MirrorRule.of({ green: 25 })!;
    let copied = 0;
    for (let i = 0; i < 100; i++) {
      // A request bound for the mirror deployment itself is not copied and does not use up a sample.
      assert.equal(rule.copies('green'), false);
      if (rule.copies('blue')) copied += 1;
    }
    assert.equal(copied, 25);
  });
});

describe('ReplicaLoad', () => {
  it('picks the ready replica with the fewest requests in flight, ties to the first, never the one excepted', () => {
    const load = new ReplicaLoad();
    const [a, b, c] = [replica('a'), replica('b'), replica('c', false)];
    assert.equal(load.pick([a, b, c]), a);
    load.add(a, 1);
    assert.equal(load.pick([a, b, c]), b);
    assert.equal(load.pick([a, b, c], b), a);
    load.add(b, 2);
    assert.equal(load.pick([a, b, c]), a);
    assert.equal(load.of(b), 2);
    load.add(b, -2);
    assert.equal(load.pick([c]), undefined);
    assert.equal(load.pick([a], a), undefined);
  });
});

describe('upstreamHeaders', () => {
  it("forwards the client's headers but hop-by-hop ones, its credentials and what only the router sets", () => {
    const headers = upstreamHeaders(
      {
        'content-type': 'application/json',
        'x-custom': ['1', '2'],
        authorization: 'Bearer key',
        connection: 'keep-alive',
        host: '127.0.0.1',
        'content-length': '2',
        expect: '100-continue',
        'x-request-id': 'from-the-client',
        [REPLICA_SECRET_HEADER]: 'forged',
        [SAMPLE_HEADER]: '1',
        absent: undefined,
      },
      'request-1',
      'secret',
    );
    assert.deepEqual(headers, { 'content-type': 'application/json', 'x-custom': ['1', '2'], 'x-request-id': 'request-1', [REPLICA_SECRET_HEADER]: 'secret' });
    assert.deepEqual(upstreamHeaders({ accept: '*/*' }, 'request-2', undefined), { accept: '*/*', 'x-request-id': 'request-2' });
  });
});

describe('Copies', () => {
  /** A mirror setup whose upstream answers only when told to. */
  function setup(mirrorReplicas: LiveReplica[], mirrorSettings: DeploymentRoute | undefined = deploymentRoute({ replicaSecret: 'green-secret' })) {
    const records: RouteRecord[] = [];
    const sent: ForwardRequest[] = [];
    const answers: ((response: ForwardResponse) => void)[] = [];
    const load = new ReplicaLoad();
    const route: EndpointRoute = {
      name: 'ep',
      port: 0,
      authMode: 'key',
      keys: { primary: 'p', secondary: 's' },
      tokenSecret: 't',
      traffic: { blue: 100 },
      mirror: { green: 100 },
      deployments: { blue: deploymentRoute({ replicaSecret: 'blue-secret' }), ...(mirrorSettings && { green: mirrorSettings }) },
    };
    const copies = new Copies(
      { replicas: (_endpoint, deployment) => (deployment === 'green' ? mirrorReplicas : [replica('blue-0')]), record: (entry) => records.push(entry) },
      load,
      {
        forward: (request) => {
          sent.push(request);
          return new Promise((resolve) => answers.push(resolve));
        },
      },
    );
    const live = (body: RequestBody = new HeldBody(Buffer.from('{}'))): LiveRequest => ({
      route,
      deployment: 'blue',
      replica: replica('blue-0'),
      req: { method: 'POST', headers: { authorization: 'Bearer p', 'content-type': 'application/json' } } as unknown as Exchange,
      body,
      requestId: `request-${sent.length + records.length}`,
    });
    return { records, sent, answers, load, copies, live };
  }

  it("sends the copy with the mirror deployment's secret and records its answer as mirrored", async () => {
    const green = replica('green-0');
    const { records, sent, answers, load, copies, live } = setup([green]);
    assert.equal(copies.send('green', live()), undefined);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.origin, green.origin);
    assert.deepEqual(sent[0]!.headers, { 'content-type': 'application/json', 'x-request-id': 'request-0', [REPLICA_SECRET_HEADER]: 'green-secret' });
    assert.equal(load.of(green), 1);
    answers[0]!({ status: 200, headers: {}, body: Buffer.from('{}') });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(load.of(green), 0);
    assert.deepEqual(records.map((r) => [r.deployment, r.mirrored, r.status]), [['green', true, 200]]);
  });

  it("drops a copy past the mirror replica's limit (recorded 429) and copies again once one is answered", async () => {
    const green = replica('green-0');
    const settings = deploymentRoute({ maxConcurrentPerInstance: 2 });
    const { records, sent, answers, copies, live } = setup([green], settings);
    const limit = mirrorCopyLimit(settings);
    assert.equal(limit, 4);
    for (let i = 0; i < limit + 2; i++) copies.send('green', live());
    assert.equal(sent.length, limit);
    assert.deepEqual(records.map((r) => r.status), [429, 429]);
    answers[0]!({ status: 200, headers: {}, body: Buffer.alloc(0) });
    await new Promise((resolve) => setImmediate(resolve));
    copies.send('green', live());
    assert.equal(sent.length, limit + 1);
  });

  it('records a streamed body as 413 and no ready mirror replica as 503, sending nothing', () => {
    const streamed = { kind: 'streamed' } as unknown as RequestBody;
    const first = setup([replica('green-0')]);
    first.copies.send('green', first.live(streamed));
    const second = setup([replica('green-0', false)]);
    second.copies.send('green', second.live());
    assert.deepEqual([...first.records, ...second.records].map((r) => r.status), [413, 503]);
    assert.equal(first.sent.length + second.sent.length, 0);
  });
});
