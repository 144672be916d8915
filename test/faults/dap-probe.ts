import { connect } from 'node:net';

/**
 * A debugger as another local user would run it (test/faults/debug-access.test.ts runs this file
 * with setpriv): connects to 127.0.0.1:PORT, sends the given DAP requests one after another (each
 * once the previous one is answered, or after 2 s without an answer), and prints every message
 * it received as one JSON array (empty when the connection was closed unanswered); `refused` when
 * nothing listens.
 *
 *   node dap-probe.js PORT '[["initialize", {...}], ["attach", {...}], ["pause", {"threadId": 1}]]'
 */
interface Message {
  seq?: number;
  type?: string;
  command?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  event?: string;
}

const port = Number(process.argv[2]);
const requests = JSON.parse(process.argv[3] ?? '[]') as [string, Record<string, unknown>][];
const received: Message[] = [];
let buffer = Buffer.alloc(0);
let seq = 1;
let answered: (() => void) | undefined;

let connected = false;
const socket = connect({ host: '127.0.0.1', port });
socket.on('error', () => {
  // Refused; or, once connected, reset: then what came before it.
  process.stdout.write(JSON.stringify(connected ? received : 'refused'));
  process.exit(0);
});
socket.on('data', (chunk: Buffer) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/Content-Length:\s*(\d+)/i.exec(buffer.subarray(0, end).toString())?.[1]);
    if (buffer.length < end + 4 + length) return;
    const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString()) as Message;
    buffer = buffer.subarray(end + 4 + length);
    received.push(message);
    if (message.type === 'response' && message.request_seq === seq - 1) answered?.();
  }
});
socket.on('connect', async () => {
  connected = true;
  for (const [command, args] of requests) {
    const payload = Buffer.from(JSON.stringify({ seq: seq++, type: 'request', command, arguments: args }));
    socket.write(Buffer.concat([Buffer.from(`Content-Length: ${payload.length}\r\n\r\n`), payload]));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      answered = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once('close', resolve);
    });
    if (socket.destroyed) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  process.stdout.write(JSON.stringify(received));
  socket.destroy();
  process.exit(0);
});
