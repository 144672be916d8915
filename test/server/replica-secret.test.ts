import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ScoringServer, stopAllServers } from './harness.js';

const SECRET = 'f00dfeed'.repeat(8);
const UNAUTHORIZED = {
  message: "Unauthorized: this replica answers only requests sent through its endpoint (oep's router checks the key and adds the replica's secret).",
};

/** Sends raw bytes and collects the answer until the server closes the connection. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('oep-server: the replica secret (OEP_REPLICA_SECRET)', () => {
  afterEach(stopAllServers);

  it('answers 401 to a request without the secret or with a wrong one, and serves one with it', async () => {
    const server = await ScoringServer.start({ fixture: 'request_headers', env: { OEP_REPLICA_SECRET: SECRET } });
    const attempts: Record<string, string>[] = [{}, { 'x-oep-replica-secret': 'guess' }, { 'x-oep-replica-secret': SECRET.slice(0, -1) }];
    for (const headers of attempts) {
      const res = await server.request({ method: 'POST', path: '/score', body: '{"a": 1}', headers, agent: false });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.deepEqual(res.json(), UNAUTHORIZED);
      assert.equal(res.headers.connection, 'close');
    }
    const swagger = await server.request({ path: '/swagger.json', agent: false });
    assert.equal(swagger.status, 401);

    const res = await server.request({ method: 'POST', path: '/score', body: '{"a": 1}', headers: { 'X-Oep-Replica-Secret': SECRET, 'x-custom': 'c' } });
    assert.equal(res.status, 200, res.text);
    const answer = res.json() as { data: string; headers: Record<string, string> };
    assert.equal(answer.data, '{"a": 1}');
    assert.equal(answer.headers['X-Custom'], 'c');
    // The script never sees the secret.
    assert.deepEqual(
      Object.keys(answer.headers).filter((name) => name.toLowerCase().includes('secret')),
      [],
    );
  });

  it('keeps the health route open to probes: GET and HEAD / need no secret', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_REPLICA_SECRET: SECRET } });
    const get = await server.request({ path: '/' });
    assert.deepEqual([get.status, get.text], [200, 'Healthy']);
    const head = await server.request({ method: 'HEAD', path: '/' });
    assert.equal(head.status, 200);
    const options = await server.request({ method: 'OPTIONS', path: '/', agent: false });
    assert.equal(options.status, 401);
  });

  it('refuses on the head alone: a body that never comes is not waited for', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_REPLICA_SECRET: SECRET } });
    const answer = await raw(server.port, `POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 401 /);
  });

  it('takes the secret out of the environment the scoring script sees', async () => {
    const server = await ScoringServer.start({ fixture: 'environ', env: { OEP_REPLICA_SECRET: SECRET } });
    const res = await server.request({ method: 'POST', path: '/score', body: '{}', headers: { 'x-oep-replica-secret': SECRET } });
    assert.deepEqual(res.json(), { secret_in_environ: null });
  });

  it('checks nothing without OEP_REPLICA_SECRET (a server run by hand)', async () => {
    const server = await ScoringServer.start({ fixture: 'plain' });
    const res = await server.request({ method: 'POST', path: '/score', body: '{}' });
    assert.equal(res.status, 200);
  });
});

describe('oep-server: health probes are not logged', () => {
  afterEach(stopAllServers);

  it('writes no access line for GET or HEAD on /, and one for every other request', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_REPLICA_SECRET: SECRET } });
    for (let i = 0; i < 5; i++) await server.request({ path: '/' });
    await server.request({ method: 'HEAD', path: '/' });
    await server.request({ method: 'POST', path: '/score', body: '{}', agent: false, headers: { 'x-request-id': 'no-secret' } });
    await server.request({ method: 'POST', path: '/score', body: '{}', headers: { 'x-request-id': 'probes-done', 'x-oep-replica-secret': SECRET } });
    await server.waitForStdout(' probes-done\n');
    const lines = server.stdout.split('\n').filter((line) => /^\d{4}-\d{2}-\d{2}T/.test(line));
    assert.deepEqual(
      lines.map((line) => line.split(' ').slice(1, 4).join(' ')),
      ['POST /score 401', 'POST /score 200'],
    );
  });
});
