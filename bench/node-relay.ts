/**
 * The floor of any proxy written for Node, for bench/router-e2e.ts: a process that copies bytes
 * between each client connection and a connection of its own to the upstream, parsing nothing
 * (the client sends whatever the upstream needs itself). No HTTP, no auth, no routing, no logging.
 *
 *   node dist/bench/node-relay.js <port> <upstream host:port>
 *
 * Binds 127.0.0.1 and prints `listening` once it accepts connections.
 */
import { connect, createServer } from 'node:net';

const [portArgument, upstreamArgument] = process.argv.slice(2);
const upstream = new URL(`http://${upstreamArgument}`);
const server = createServer({ noDelay: true }, (client) => {
  const replica = connect({ host: upstream.hostname, port: Number(upstream.port), noDelay: true });
  client.pipe(replica);
  replica.pipe(client);
  const close = (): void => {
    client.destroy();
    replica.destroy();
  };
  client.on('error', close);
  replica.on('error', close);
  client.on('close', close);
  replica.on('close', close);
});
server.listen(Number(portArgument), '127.0.0.1', () => console.log('listening'));
