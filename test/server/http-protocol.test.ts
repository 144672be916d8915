import assert from 'node:assert/strict';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ScoringServer, stopAllServers } from './harness.js';

/** Sends raw bytes on one connection and collects what comes back until `until` matches or the peer closes. */
function exchange(socket: Socket, data: string | Buffer, until: (text: string) => boolean): Promise<string> {
  return new Promise((done, fail) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until(received)) finish();
    };
    const onEnd = () => finish();
    const finish = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', fail);
      done(received);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', fail);
    socket.write(data);
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () => done(socket));
    socket.once('error', fail);
  });
}

/** Reads one answer with a large body from a paused socket: its head, and how many body bytes came. */
function readLargeAnswer(socket: Socket): Promise<[string, number]> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let head: string | undefined;
    let expected = -1;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (head === undefined) {
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = all.subarray(0, end).toString('latin1');
        expected = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
        received = all.length - end - 4;
      }
      if (received >= expected) finish();
    };
    const finish = () => {
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('error', fail);
      done([head ?? '', received]);
    };
    socket.on('data', onData);
    socket.on('end', finish);
    socket.on('error', fail);
    socket.resume();
  });
}

function countResponses(text: string): number {
  return (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length;
}

/** Complete once every response's body (by Content-Length) has arrived. */
function complete(expected: number): (text: string) => boolean {
  return (text) => {
    let rest = text;
    for (let i = 0; i < expected; i++) {
      const end = rest.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const length = Number(/content-length: (\d+)/i.exec(rest.slice(0, end))?.[1] ?? 0);
      if (rest.length < end + 4 + length) return false;
      rest = rest.slice(end + 4 + length);
    }
    return true;
  };
}

describe('oep-server HTTP/1.1', () => {
  let server: ScoringServer;
  before(async () => {
    server = await ScoringServer.start({ fixture: 'plain' });
  });
  after(stopAllServers);

  it('keeps connections alive and reuses them', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 5; i++) {
        const res = await new Promise<http.IncomingMessage>((done, fail) => {
          const req = http.request({ host: '127.0.0.1', port: server.port, path: '/score', method: 'POST', agent }, done);
          req.on('socket', (socket) => sockets.add(socket));
          req.on('error', fail);
          req.end(`{"i": ${i}}`);
        });
        res.resume();
        await new Promise((done) => res.on('end', done));
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers.connection, undefined);
      }
      assert.equal(sockets.size, 1);
    } finally {
      agent.destroy();
    }
  });

  it('answers pipelined requests in order on one connection', async () => {
    const socket = await open(server.port);
    try {
      const request = (body: string) =>
        `POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const text = await exchange(socket, request('{"n": 1}') + request('{"n": 2}') + 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', complete(3));
      assert.equal(countResponses(text), 3);
      const first = text.indexOf('{"raw": "{\\"n\\": 1}"}');
      const second = text.indexOf('{"raw": "{\\"n\\": 2}"}');
      const third = text.indexOf('Healthy');
      assert.ok(first > 0 && second > first && third > second, text);
    } finally {
      socket.destroy();
    }
  });

  it('reads chunked request bodies', async () => {
    const socket = await open(server.port);
    try {
      const text = await exchange(
        socket,
        'POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n',
        complete(1),
      );
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith('\r\n\r\n{"raw": "{\\"a\\": 1}"}'), text);
    } finally {
      socket.destroy();
    }
  });

  it('sends 100 Continue when the client expects it', async () => {
    const socket = await open(server.port);
    try {
      const interim = await exchange(
        socket,
        'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nExpect: 100-continue\r\n\r\n',
        (text) => text.includes('\r\n\r\n'),
      );
      assert.equal(interim, 'HTTP/1.1 100 Continue\r\n\r\n');
      const text = await exchange(socket, '{"b": 2}', complete(1));
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith('{"raw": "{\\"b\\": 2}"}'));
    } finally {
      socket.destroy();
    }
  });

  it('closes after answering Connection: close and HTTP/1.0 requests', async () => {
    for (const request of ['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'GET / HTTP/1.0\r\n\r\n']) {
      const socket = await open(server.port);
      const text = await exchange(socket, request, () => false); // until the server closes
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\nConnection: close\r\n/);
      assert.ok(text.endsWith('\r\n\r\nHealthy'));
      socket.destroy();
    }
  });

  it('keeps HTTP/1.0 connections alive when asked', async () => {
    const socket = await open(server.port);
    try {
      const request = 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
      const first = await exchange(socket, request, complete(1));
      assert.match(first, /\r\nConnection: keep-alive\r\n/);
      const second = await exchange(socket, request, complete(1));
      assert.ok(second.endsWith('Healthy'));
    } finally {
      socket.destroy();
    }
  });

  it('reads a body that arrives after its head, then serves the connection on', async () => {
    const socket = await open(server.port);
    try {
      const head = 'POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n';
      socket.write(head + '{"c"');
      // another connection answered meanwhile: the server did not wait on the rest of this body
      const health = await new Promise<http.IncomingMessage>((done, fail) => {
        http.get({ host: '127.0.0.1', port: server.port, path: '/', agent: false }, done).on('error', fail);
      });
      health.resume();
      assert.equal(health.statusCode, 200);
      const text = await exchange(socket, ': 3}', complete(1));
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith('{"raw": "{\\"c\\": 3}"}'), text);
      const next = await exchange(socket, `${head}{"d": 4}`, complete(1));
      assert.ok(next.endsWith('{"raw": "{\\"d\\": 4}"}'), next);
    } finally {
      socket.destroy();
    }
  });

  it('serves other connections while a client is slow to read a large answer', async () => {
    const size = 32 * 1024 * 1024;
    const slow = await open(server.port);
    try {
      slow.pause(); // nothing read until the other connections are answered
      const body = JSON.stringify({ kind: 'big', size });
      slow.write(`POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const other = await server.request({ method: 'POST', path: '/score', body: '{"n": 5}', agent: false });
      assert.equal(other.status, 200);
      assert.equal(other.text, '{"raw": "{\\"n\\": 5}"}');
      const health = await server.request({ method: 'GET', path: '/', agent: false });
      assert.equal(health.status, 200);
      const [head, bodyLength] = await readLargeAnswer(slow);
      assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.equal(bodyLength, `{"big": ""}`.length + size);
      // the connection is still usable after the slow answer
      const again = await exchange(slow, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', complete(1));
      assert.ok(again.endsWith('Healthy'), again);
    } finally {
      slow.destroy();
    }
  });

  it('answers 400 to a malformed request line and closes', async () => {
    const socket = await open(server.port);
    const text = await exchange(socket, 'NONSENSE\r\n\r\n', () => false);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(text.endsWith('{"message": "Bad Request"}'));
    socket.destroy();
  });
});
