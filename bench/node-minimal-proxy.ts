/**
 * What a router's data path costs in Node at the least, for bench/router-e2e.ts: an HTTP proxy that
 * does the router's per-request work for the common request and nothing more. It parses the
 * request head, compares the bearer key (401 otherwise), sends the request on a kept-alive
 * connection with the router's headers (host, x-request-id, the replica secret, content-length, the
 * client's others less hop-by-hop ones and Authorization), arms the request timeout, parses the
 * answer's head, answers with x-request-id and azureml-model-deployment, and keeps a record of the
 * request (batched away every 20 ms). No chunked bodies, no pipelining, no limits, no metrics: not
 * a router, a yardstick for one.
 *
 *   node dist/bench/node-minimal-proxy.js <port> <upstream host:port> <key> <secret header> <secret> <deployment>
 *
 * Binds 127.0.0.1 and prints `listening` once it accepts connections.
 */
import { connect, createServer, type Socket } from 'node:net';

const [portArgument, upstream, key, secretHeader, secret, deployment] = process.argv.slice(2) as [string, string, string, string, string, string];
const upstreamUrl = new URL(`http://${upstream}`);
const TIMEOUT_MS = 5000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'host', 'content-length', 'authorization', 'transfer-encoding', 'x-request-id']);

interface Head {
  first: string;
  headers: [string, string][];
  length: number;
  size: number;
}

/** A head whole in `buffer` (undefined: not yet): its first line, its header lines and its content-length. */
function parseHead(buffer: Buffer): Head | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buffer.toString('latin1', 0, end).split('\r\n');
  const headers: [string, string][] = [];
  let length = 0;
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') length = Number(value);
    headers.push([name, value]);
  }
  return { first: lines[0]!, headers, length, size: end + 4 };
}

/** Calls `message` with each whole message (head and content-length body) that comes on the socket. */
function onMessages(socket: Socket, message: (head: Head, body: Buffer) => void): void {
  let held: Buffer | undefined;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    const buffer = held ? Buffer.concat([held, chunk]) : chunk;
    const head = parseHead(buffer);
    if (!head || buffer.length < head.size + head.length) {
      held = buffer;
      return;
    }
    held = undefined;
    message(head, buffer.subarray(head.size, head.size + head.length));
  });
}

interface Pending {
  timer: NodeJS.Timeout;
  done(status: number, headers: [string, string][], answerBody: Buffer): void;
}

/** Kept-alive connections to the upstream, one request at a time on each. */
const idle: Socket[] = [];
const pendingOf = new WeakMap<Socket, Pending>();

function upstreamConnection(): Socket {
  const reused = idle.pop();
  if (reused) return reused;
  const socket = connect({ host: upstreamUrl.hostname, port: Number(upstreamUrl.port), noDelay: true });
  onMessages(socket, (head, body) => {
    const pending = pendingOf.get(socket)!;
    pendingOf.delete(socket);
    clearTimeout(pending.timer);
    idle.push(socket);
    pending.done(Number(head.first.slice(9, 12)), head.headers, body);
  });
  return socket;
}

const records: object[] = [];
setInterval(() => (records.length = 0), 20).unref();
let ids = 0;

const server = createServer({ noDelay: true }, (client) => {
  onMessages(client, (head, body) => {
    const started = performance.now();
    const requestId = `${(++ids).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
    const authorization = head.headers.find(([name]) => name === 'authorization')?.[1];
    if (authorization !== `Bearer ${key}`) {
      client.write('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 26\r\n\r\n{"message":"Unauthorized"}');
      return;
    }
    const [method, path] = head.first.split(' ');
    let out = `${method} ${path} HTTP/1.1\r\nhost: ${upstream}\r\nx-request-id: ${requestId}\r\n${secretHeader}: ${secret}\r\ncontent-length: ${head.length}\r\n`;
    for (const [name, value] of head.headers) if (!HOP_BY_HOP.has(name)) out += `${name}: ${value}\r\n`;
    const socket = upstreamConnection();
    pendingOf.set(socket, {
      timer: setTimeout(() => socket.destroy(), TIMEOUT_MS),
      done: (status, headers, answerBody) => {
        let answer = `HTTP/1.1 ${status} OK\r\nx-request-id: ${requestId}\r\nazureml-model-deployment: ${deployment}\r\ncontent-length: ${answerBody.length}\r\n`;
        for (const [name, value] of headers) if (!HOP_BY_HOP.has(name)) answer += `${name}: ${value}\r\n`;
        client.write(Buffer.concat([Buffer.from(`${answer}keep-alive: timeout=5\r\n\r\n`, 'latin1'), answerBody]));
        records.push({ time: new Date().toISOString(), request_id: requestId, deployment, status, latency_ms: performance.now() - started });
      },
    });
    socket.write(Buffer.concat([Buffer.from(`${out}\r\n`, 'latin1'), body]));
  });
});
server.listen(Number(portArgument), '127.0.0.1', () => console.log('listening'));
