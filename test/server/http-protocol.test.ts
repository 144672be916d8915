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

  it('answers 400 to a malformed request line and closes', async () => {
    const socket = await open(server.port);
    const text = await exchange(socket, 'NONSENSE\r\n\r\n', () => false);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(text.endsWith('{"message": "Bad Request"}'));
    socket.destroy();
  });
});
