import { request } from 'node:http';
import { isOutOfDescriptors } from '../model/descriptors.js';

/**
 * What probeOnce resolves with when the daemon could not even try: it is out of file descriptors
 * (EMFILE). That says nothing about the replica, so it counts neither as a success nor as a failure.
 */
export const PROBE_NOT_SENT = -2;

/** One HTTP GET with a timeout; resolves with the status code, 0 when nothing answered, PROBE_NOT_SENT when it could not be sent. */
export function probeOnce(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', (error) => resolve(isOutOfDescriptors(error) ? PROBE_NOT_SENT : 0));
    req.end();
  });
}
