import { REPLICA_SECRET_HEADER, SAMPLE_HEADER } from '../model/server-contract.js';
import { setHeader } from './http1.js';

/** A request's or an answer's headers as Node and the lean front give them. */
type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The header that carries a deployment's replica secret from the router to its replicas. */
export { REPLICA_SECRET_HEADER };

// Not forwarded: hop-by-hop headers, and `expect` (the router answers 100-continue to the client itself).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', 'expect']);

/**
 * The headers a replica gets with a request, the same for the live request, its mirrored copy and
 * the noise copy: the client's (less hop-by-hop ones, its credentials and the headers only the
 * router sets), the request's id and the deployment's replica secret. The live request adds the
 * data collector's sample flag and a streamed body's length.
 */
export function upstreamHeaders(headers: IncomingHeaders, requestId: string, replicaSecret: string | undefined): Record<string, string | string[]> {
  return withRouterHeaders(forwardedHeaders(headers), requestId, replicaSecret);
}

/** upstreamHeaders() from the client's forwarded headers (forwardedHeaders()), made once per request: adds the router's own to them. */
export function withRouterHeaders(forwarded: Record<string, string | string[]>, requestId: string, replicaSecret: string | undefined): Record<string, string | string[]> {
  forwarded['x-request-id'] = requestId;
  if (replicaSecret !== undefined) forwarded[REPLICA_SECRET_HEADER] = replicaSecret;
  return forwarded;
}

/**
 * The header lines a replica gets for a request whose forwarded headers (forwardedHeaders()) are
 * these: the ones the router sets (host, x-request-id, the replica secret, content-length; short
 * values), then each line it forwards (a list, each of its items).
 */
export function replicaHeaderLines(forwarded: Readonly<Record<string, string | string[]>>): [string, string][] {
  const lines: [string, string][] = [['host', ''], ['x-request-id', ''], [REPLICA_SECRET_HEADER, ''], ['content-length', '']];
  for (const name in forwarded) {
    const value = forwarded[name]!;
    if (Array.isArray(value)) for (const item of value) lines.push([name, item]);
    else lines.push([name, value]);
  }
  return lines;
}

/** A replica's answer headers as the client gets them: less hop-by-hop ones and the replica's own request id. */
export function copyResponseHeaders(headers: IncomingHeaders): Record<string, string | string[]> {
  // Own properties only, so a replica's header named `constructor` or `__proto__` is a header like any other.
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-request-id') continue;
    setHeader(out, name, value);
  }
  return out;
}

/** The first value of a header given once or more. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The client's headers a replica gets: less hop-by-hop ones, its credentials and the headers only the router sets. */
export function forwardedHeaders(headers: IncomingHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'authorization' || name === 'x-request-id' || name === SAMPLE_HEADER || name === REPLICA_SECRET_HEADER) continue;
    setHeader(out, name, value);
  }
  return out;
}
