import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { Router, type DeploymentRoute, type EndpointRoute, type LiveReplica } from '../../src/router/router.js';
import { replicaAt, until, type OwnedReplica } from './router-support.js';

/**
 * Every replica of a deployment dies at once (issue 25 point 4): the client gets Azure's answer
 * for "no healthy replica" (503) or for a replica lost under its request (502), never a 500, and
 * a request waits for a replica being restarted when one comes back within its timeout.
 */

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** POST /score with a body of `size` bytes, sent with backpressure; resolves with the answer (the upload may be cut short by it). */
function post(port: number, size = 2, body = '{}'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/score', headers: { authorization: 'Bearer p', 'content-type': 'application/json', 'content-length': size } }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    if (size === Buffer.byteLength(body)) {
      req.end(body);
      return;
    }
    let sent = 0;
    const pump = (): void => {
      while (sent < size && !answered) {
        const chunk = Buffer.alloc(Math.min(64 * 1024, size - sent), 0x61);
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** A scoring server that answers 200 {"replica": name}. */
async function scoringServer(name: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ replica: name })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** An address where nothing listens: a replica whose process is gone (the connection is refused). */
async function deadOrigin(): Promise<string> {
  return `http://127.0.0.1:${await findFreePort()}`;
}

/**
 * The replicas' owner as the reconciler is to the router: `unreachable` takes a replica out of
 * rotation; `waitForReplica` resolves true once `restart()` brings a new replica up, false when
 * `coming` is false or after the timeout.
 */
class Owner {
  replicas: OwnedReplica[] = [];
  coming = true;
  unreachable: string[] = [];
  private waiters: ((ready: boolean) => void)[] = [];
  waiting = 0;

  readonly options = {
    replicas: (): readonly LiveReplica[] => this.replicas,
    unreachable: (_endpoint: string, _deployment: string, replica: LiveReplica): void => {
      this.unreachable.push(replica.id);
      (replica as OwnedReplica).ready = false;
    },
    waitForReplica: (_endpoint: string, _deployment: string, timeoutMs: number): Promise<boolean> => {
      if (this.replicas.some((replica) => replica.ready)) return Promise.resolve(true);
      if (!this.coming) return Promise.resolve(false);
      this.waiting += 1;
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.waiters.push((ready) => {
          clearTimeout(timer);
          resolve(ready);
        });
      });
    },
  };

  /** A restarted replica: a new record (as the reconciler makes one per process), ready. */
  restart(replica: OwnedReplica): void {
    this.replicas = [replica];
    for (const waiter of this.waiters.splice(0)) waiter(true);
  }
}

function route(port: number, blue: DeploymentRoute, kind: EndpointRoute['kind'] = 'managed'): EndpointRoute {
  return { name: 'gap', port, kind, authMode: 'key', keys: { primary: 'p', secondary: 's' }, tokenSecret: 'x', traffic: { blue: 100 }, mirror: {}, deployments: { blue } };
}

const blue = (requestTimeoutMs = 60_000): DeploymentRoute => ({ requestTimeoutMs, maxConcurrentPerInstance: 4, instanceCount: 2 });

async function onRouter(owner: Owner, endpoint: (port: number) => EndpointRoute, test: (port: number, logged: string[]) => Promise<void>, heldBodyBytes?: number): Promise<void> {
  const logged: string[] = [];
  const router = new Router({ ...owner.options, log: (line) => logged.push(line), heldBodyBytes });
  const port = await findFreePort();
  try {
    await router.upsert(endpoint(port));
    await test(port, logged);
  } finally {
    await router.close();
  }
}

describe('router: both replicas of a deployment die at once', () => {
  it('a request sent to them waits for a restarted replica and is answered 200 by it', async () => {
    const owner = new Owner();
    owner.replicas = [replicaAt(await deadOrigin(), 'blue/0'), replicaAt(await deadOrigin(), 'blue/1')];
    const restarted = await scoringServer('blue/0 restarted');
    try {
      await onRouter(owner, (port) => route(port, blue()), async (port, logged) => {
        const answer = post(port);
        // Both dead replicas refused it and left rotation; the request now waits for a replica.
        await until('the request waits for a replica', () => owner.waiting === 1);
        assert.deepEqual(owner.unreachable.sort(), ['blue/0', 'blue/1']);
        owner.restart(replicaAt(restarted.origin, 'blue/0'));
        const { status, text } = await answer;
        assert.deepEqual({ status, text }, { status: 200, text: '{"replica":"blue/0 restarted"}' });
        assert.deepEqual(logged, []);
      });
    } finally {
      restarted.server.close();
    }
  });

  for (const kind of ['managed', 'kubernetes'] as const) {
    it(`${kind}: none comes back within request_timeout_ms: 503 with Azure's message, never 500`, async () => {
      const owner = new Owner();
      owner.replicas = [replicaAt(await deadOrigin(), 'blue/0'), replicaAt(await deadOrigin(), 'blue/1')];
      // A short timeout: it can fire late on a loaded machine, never early, so the answer is always 503.
      await onRouter(owner, (port) => route(port, blue(200), kind), async (port) => {
        const answer = await post(port);
        assert.equal(answer.status, 503, answer.text);
        assert.deepEqual(JSON.parse(answer.text), {
          message: 'Deployment blue has no ready replica: the replica the request went to stopped answering (it may have crashed) and no other was ready in time (request_settings.request_timeout_ms: 200 ms).',
        });
        assert.equal(answer.headers['azureml-model-deployment'], 'blue');
        assert.equal(answer.headers['content-type'], 'application/json');
        assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/);
        assert.equal(answer.headers['retry-after'], undefined, 'Azure documents no Retry-After for it');
        assert.deepEqual(owner.unreachable.sort(), ['blue/0', 'blue/1']);
      });
    });
  }

  it('a deployment whose replicas are not coming back (failed): 503 at once, without waiting out the timeout', async () => {
    const owner = new Owner();
    owner.coming = false;
    owner.replicas = [replicaAt(await deadOrigin(), 'blue/0'), replicaAt(await deadOrigin(), 'blue/1')];
    await onRouter(owner, (port) => route(port, blue()), async (port) => {
      const answer = await post(port);
      assert.equal(answer.status, 503, answer.text);
      assert.equal(owner.waiting, 0);
    });
  });

  it('the next request, finding no ready replica, waits as before and gets the restarted replica', async () => {
    const owner = new Owner();
    owner.replicas = [replicaAt(await deadOrigin(), 'blue/0')];
    owner.replicas[0]!.ready = false;
    const restarted = await scoringServer('blue/0 restarted');
    try {
      await onRouter(owner, (port) => route(port, blue()), async (port) => {
        const answer = post(port);
        await until('the request waits for a replica', () => owner.waiting === 1);
        owner.restart(replicaAt(restarted.origin, 'blue/0'));
        assert.equal((await answer).status, 200);
        assert.deepEqual(owner.unreachable, [], 'a replica out of rotation is never sent a request');
      });
    } finally {
      restarted.server.close();
    }
  });

  for (const kind of ['managed', 'kubernetes'] as const) {
    it(`${kind}: a replica that dies while a large body streams to it: 502 (the body cannot be sent again), never 500`, async () => {
      // Takes the connection and part of the body, then dies.
      const dying: NetServer = createNetServer((socket: Socket) => {
        let received = 0;
        socket.on('error', () => undefined);
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > 512 * 1024) socket.destroy();
        });
      });
      await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve));
      const address = dying.address();
      const owner = new Owner();
      owner.replicas = [replicaAt(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, 'blue/0')];
      try {
        await onRouter(
          owner,
          (port) => route(port, blue(), kind),
          async (port) => {
            const answer = await post(port, 4 * 1024 * 1024);
            assert.equal(answer.status, 502, answer.text);
            assert.deepEqual(JSON.parse(answer.text), {
              message: "Bad gateway: the replica of deployment blue closed the connection before answering (it may have crashed), and the request's body could not be sent again.",
            });
            assert.equal(answer.headers['azureml-model-deployment'], 'blue');
            assert.deepEqual(owner.unreachable, ['blue/0']);
            assert.equal(owner.waiting, 0, 'nothing to wait for: the body is gone');
          },
          64 * 1024,
        );
      } finally {
        dying.close();
      }
    });
  }
});
