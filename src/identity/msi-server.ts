import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { OepError } from '../errors.js';
import { constantTimeEqual } from '../model/credentials.js';
import { REPLACE_NOFOLLOW } from '../model/file-flags.js';
import { endpointResourceId, subjectFor, type EndpointIdentity, type TokenSubject } from '../model/identity.js';
import { MSI_PATH, msiEndpointUrl } from '../model/msi.js';
import type { SourcedToken } from './token-sources.js';

/**
 * The managed-identity endpoint every replica reaches through MSI_ENDPOINT (docs/behaviour.md,
 * "Identity and tokens"): Azure ML's `GET <MSI_ENDPOINT>?api-version=2017-09-01&resource=R
 * [&clientid=C]` with header `secret: <MSI_SECRET>`. The secret says which deployment asks, hence
 * its endpoint and the identities a token may be for. Served by the daemon on 127.0.0.1 (process
 * replicas) and on a unix socket that containers mount (oep's server forwards to it inside).
 */

/** A deployment that may ask: its MSI_SECRET and its endpoint's identities. */
export interface MsiCaller {
  endpoint: string;
  deployment: string;
  secret: string;
  identity: EndpointIdentity;
}

export interface MsiOptions {
  /** Every deployment that may ask (read at each request: deleted deployments' secrets stop working at once). */
  callers: () => Iterable<MsiCaller>;
  /** A token for `resource` as `subject` (from the source the identity_source setting chooses). */
  token: (resource: string, subject: TokenSubject, caller: MsiCaller) => Promise<SourcedToken>;
  now?: () => number;
  /** The daemon's log: one line per answer, never the secret or the token. */
  log?: (line: string) => void;
}

export interface MsiRequest {
  method: string;
  /** Path and query, as in the request line. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface MsiAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** api-version values Azure ML's endpoint is known to take: none (Microsoft's sample), 2017-09-01 (the SDKs), 2018-02-01 (the docs' curl). */
export const MSI_API_VERSIONS: readonly string[] = ['2017-09-01', '2018-02-01'];

/** Paths it answers on: compute instances' /MSI/auth, and /MSI/token as Azure ML jobs use. */
const MSI_PATHS = new Set([MSI_PATH.toLowerCase(), '/msi/token']);

/**
 * Answers one request. Errors are JSON `{"error", "error_description"}` with a 4xx status that
 * azure-core does not retry (never 408, 429 or 5xx): azure-identity 1.13 raises
 * ClientAuthenticationError with the body in its message; MSAL-based versions raise
 * CredentialUnavailableError with it.
 */
export async function answerMsi(request: MsiRequest, options: MsiOptions): Promise<MsiAnswer> {
  const url = new URL(request.url, 'http://127.0.0.1');
  if (!MSI_PATHS.has(url.pathname.toLowerCase())) {
    return failure(404, 'not_found', `Nothing here: the managed identity endpoint is ${MSI_PATH} (MSI_ENDPOINT).`);
  }
  if (request.method !== 'GET') {
    return { ...failure(405, 'invalid_request', `Use GET on MSI_ENDPOINT, not ${request.method}.`), headers: { ...JSON_HEADERS, allow: 'GET' } };
  }
  const header = request.headers.secret;
  const given = Array.isArray(header) ? undefined : header;
  const caller = given ? findCaller(given, options.callers()) : undefined;
  if (!caller) {
    options.log?.(`msi: refused a token request with ${given ? 'a secret header that is no deployment\'s MSI_SECRET' : 'no secret header'}`);
    return failure(401, 'invalid_secret', `Invalid secret token header: ${given ? 'it is not this deployment\'s MSI_SECRET' : 'send the header "secret: $MSI_SECRET"'}.`);
  }
  const who = `${caller.endpoint}/${caller.deployment}`;
  const params = url.searchParams;
  const apiVersion = params.get('api-version');
  if (apiVersion !== null && apiVersion !== '' && !MSI_API_VERSIONS.includes(apiVersion)) {
    options.log?.(`msi: ${who}: refused api-version ${apiVersion}`);
    return failure(400, 'invalid_request', `api-version ${apiVersion} is not supported by Azure ML's managed identity endpoint; use ${MSI_API_VERSIONS.join(' or ')}, or none.`);
  }
  const resource = params.get('resource')?.trim();
  if (!resource) {
    options.log?.(`msi: ${who}: refused a request without resource`);
    return failure(400, 'invalid_request', 'The resource parameter is missing: ask for a token with ?resource=<the resource URI>, e.g. https://storage.azure.com/.');
  }
  const wanted = identityParameter(params, caller.identity);
  const subject = wanted.unknown ? undefined : subjectFor(caller.identity, endpointResourceId(caller.endpoint), wanted.clientId);
  if (!subject) {
    options.log?.(`msi: ${who}: no identity ${wanted.described} on endpoint ${caller.endpoint}`);
    return failure(404, 'invalid_client', `Endpoint ${caller.endpoint} has no managed identity with ${wanted.described}; its ${describeIdentities(caller.identity)}.`);
  }
  let token: SourcedToken;
  try {
    token = await options.token(resource, subject, caller);
  } catch (error) {
    const message = (error as Error).message;
    options.log?.(`msi: ${who}: no token for ${resource}: ${message}`);
    return failure(400, 'token_unavailable', `oep could not get a token for ${resource}: ${message}.`);
  }
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  const expiresIn = Math.max(0, token.expires_on - now);
  options.log?.(`msi: ${who}: token for ${resource} as client id ${subject.client_id} (${token.source === 'az' ? 'from the Azure CLI' : 'local'}), expires in ${expiresIn} s`);
  return {
    status: 200,
    headers: JSON_HEADERS,
    body: JSON.stringify({
      access_token: token.token,
      expires_in: expiresIn,
      expires_on: token.expires_on,
      resource,
      token_type: 'Bearer',
      client_id: subject.client_id,
    }),
  };
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function failure(status: number, error: string, description: string): MsiAnswer {
  return { status, headers: JSON_HEADERS, body: JSON.stringify({ error, error_description: description }) };
}

/** Every caller's secret is compared, each in constant time, so the time taken says nothing about which matched. */
function findCaller(secret: string, callers: Iterable<MsiCaller>): MsiCaller | undefined {
  let found: MsiCaller | undefined;
  for (const caller of callers) if (constantTimeEqual(caller.secret, secret) && !found) found = caller;
  return found;
}

/**
 * The identity a request names: `clientid` (azure-identity, MSAL), `client_id` (what MSAL sends
 * to other sources), or a user-assigned identity's ARM id (`mi_res_id`, `msi_res_id`) or
 * principal id (`object_id`, `principal_id`); none means the endpoint's default identity.
 */
function identityParameter(params: URLSearchParams, identity: EndpointIdentity): { clientId?: string; unknown?: boolean; described: string } {
  const clientId = params.get('clientid') || params.get('client_id');
  if (clientId) return { clientId, described: `client id ${clientId}` };
  const resourceId = params.get('mi_res_id') || params.get('msi_res_id');
  if (resourceId) {
    const match = identity.user_assigned_identities.find((item) => item.resource_id.toLowerCase() === resourceId.toLowerCase());
    return match ? { clientId: match.client_id, described: `resource id ${resourceId}` } : { unknown: true, described: `resource id ${resourceId}` };
  }
  const objectId = params.get('object_id') || params.get('principal_id');
  if (objectId) {
    const wanted = objectId.toLowerCase();
    const match =
      identity.type === 'system_assigned' && identity.system.principal_id.toLowerCase() === wanted
        ? identity.system
        : identity.user_assigned_identities.find((item) => item.principal_id.toLowerCase() === wanted);
    return match ? { clientId: match.client_id, described: `object id ${objectId}` } : { unknown: true, described: `object id ${objectId}` };
  }
  return { described: 'the default client id' };
}

function describeIdentities(identity: EndpointIdentity): string {
  if (identity.type === 'user_assigned') {
    return `user-assigned identities have client ids ${identity.user_assigned_identities.map((item) => `${item.client_id} (${item.resource_id.split('/').pop()})`).join(', ')}`;
  }
  return `system-assigned identity has client id ${identity.system.client_id}`;
}

/** Writes an answer; a client gone away is no concern of the daemon's. */
async function serve(options: MsiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // GET only: a body is never needed, so none is read beyond what arrives.
  req.resume();
  let answer: MsiAnswer;
  try {
    answer = await answerMsi({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, options);
  } catch (error) {
    options.log?.(`msi: failed to answer: ${(error as Error).stack ?? String(error)}`);
    answer = failure(400, 'token_unavailable', 'oep could not answer this request (see the daemon log).');
  }
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
}

export interface MsiServerOptions extends MsiOptions {
  /** Where the port is kept across daemon restarts (process replicas keep MSI_ENDPOINT in their environment). */
  portFile: string;
  /** The unix socket containers reach (its folder is what they mount). */
  socketPath: string;
}

/**
 * The daemon's MSI listener: 127.0.0.1 on a port kept per OEP_HOME (the one of the last start when
 * it is free), and a unix socket in a folder containers mount. The socket folder is 0711 and the
 * socket 0666, so a container's user, whatever its uid, can connect; the folder above is 0700, so
 * no other user of the host can reach either. Anyone reaching it still needs a deployment's secret.
 */
export class MsiServer {
  private constructor(
    private readonly tcp: Server,
    private readonly unix: Server,
    readonly port: number,
    readonly socketPath: string,
  ) {}

  /** MSI_ENDPOINT of process replicas. */
  get url(): string {
    return msiEndpointUrl(this.port);
  }

  /** The folder containers mount. */
  get socketDir(): string {
    return dirname(this.socketPath);
  }

  static async start(options: MsiServerOptions): Promise<MsiServer> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void serve(options, req, res);
    const tcp = createServer(handler);
    const unix = createServer(handler);
    // In OEP_HOME/msi beside the port file, or (a long OEP_HOME) in the temp directory's per-user folder, checked too.
    prepareSocketDir(options.socketPath, dirname(dirname(options.socketPath)) !== dirname(options.portFile));
    mkdirSync(dirname(options.portFile), { recursive: true, mode: 0o700 });
    const wanted = readPort(options.portFile);
    let port: number;
    try {
      port = await listenTcp(tcp, wanted ?? 0);
    } catch (error) {
      if (wanted === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      port = await listenTcp(tcp, 0);
      options.log?.(`msi: port ${wanted} (the last start's) is taken; listening on ${port}: process replicas still running with MSI_ENDPOINT on ${wanted} are replaced`);
    }
    if (port !== wanted) {
      // Never through a link (O_NOFOLLOW).
      const fd = openSync(options.portFile, REPLACE_NOFOLLOW, 0o600);
      try {
        writeFileSync(fd, `${port}\n`);
      } finally {
        closeSync(fd);
      }
    }
    try {
      unlinkSync(options.socketPath);
    } catch {
      // no stale socket
    }
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(options.socketPath, () => {
        unix.off('error', reject);
        resolve();
      });
    });
    // Containers may run as any user: the 0700 folder above keeps the host's other users out.
    chmodSync(options.socketPath, 0o666);
    return new MsiServer(tcp, unix, port, options.socketPath);
  }

  async close(): Promise<void> {
    for (const server of [this.tcp, this.unix]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

function readPort(file: string): number | undefined {
  try {
    const port = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

function listenTcp(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * `<private>/socket/`: the private folder this user's and 0700 (with `checkParent`, the folder
 * holding it too: the temp directory's per-user folder), the socket folder 0711 (mounted into
 * containers). Anything else (someone else's folder, a link) stops the daemon with a clear error.
 */
function prepareSocketDir(socketPath: string, checkParent: boolean): void {
  const socketDir = dirname(socketPath);
  const privateDir = dirname(socketDir);
  mkdirSync(privateDir, { recursive: true, mode: 0o700 });
  for (const dir of checkParent ? [dirname(privateDir), privateDir] : [privateDir]) {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.()) {
      throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `${dir} (where oep's managed-identity socket goes) is not a folder of this user.`, {
        hint: `Remove ${dir} (or set OEP_HOME to a folder of yours), then run the command again.`,
      });
    }
  }
  chmodSync(privateDir, 0o700);
  mkdirSync(socketDir, { recursive: true, mode: 0o711 });
  if (!lstatSync(socketDir).isDirectory()) {
    throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `${socketDir} (where oep's managed-identity socket goes) is not a folder.`, { hint: `Remove ${socketDir}, then run the command again.` });
  }
  chmodSync(socketDir, 0o711);
}
