import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { Socket } from 'node:net';

/**
 * Which local user opened the other end of a TCP connection accepted on 127.0.0.1, the way identd
 * tells: Linux lists every socket of this network namespace in /proc/net/tcp with the uid that
 * made it. The peer's entry is the one whose local address is our remote one and the reverse.
 *
 * Returns the uid; `null` when no entry matches (the peer is gone, or not in this namespace);
 * `undefined` when the system cannot say (no /proc/net/tcp: not Linux).
 */
export async function loopbackPeerUid(socket: Pick<Socket, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>, table = '/proc/net/tcp'): Promise<number | null | undefined> {
  let text: string;
  try {
    text = await readFile(table, 'latin1');
  } catch {
    return undefined;
  }
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (!localAddress || !remoteAddress || localPort === undefined || remotePort === undefined) return null;
  const theirs = `${procAddress(remoteAddress)}:${procPort(remotePort)}`;
  const ours = `${procAddress(localAddress)}:${procPort(localPort)}`;
  return peerUidIn(text, theirs, ours);
}

/** The uid of the row of /proc/net/tcp whose local address is `local` and remote `remote` ("0100007F:1F90"). */
export function peerUidIn(table: string, local: string, remote: string): number | null {
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    if (fields.length < 8 || fields[1] !== local || fields[2] !== remote) continue;
    const uid = Number(fields[7]);
    return Number.isSafeInteger(uid) ? uid : null;
  }
  return null;
}

/** An IPv4 address as /proc/net/tcp prints it: the 32-bit value in the host's byte order, in hex. */
export function procAddress(address: string, order: 'LE' | 'BE' = endianness()): string {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const bytes = Buffer.from(v4.split('.').map(Number));
  if (bytes.length !== 4) return '';
  const value = order === 'LE' ? bytes.readUInt32LE(0) : bytes.readUInt32BE(0);
  return value.toString(16).toUpperCase().padStart(8, '0');
}

function procPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}
