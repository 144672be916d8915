import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { OepError } from '../errors.js';
import type { TrafficView } from '../daemon/views.js';
import { suggestNearest } from '../spec/suggest.js';
import { caCertificateFile } from '../tls/paths.js';
import type { EngineDeps } from './deps.js';

/**
 * node:http and node:https through require, not `import`: an import builds their ES facades, whose
 * fetch and WebSocket getters load Node's bundled undici (20-40 ms of `oep endpoint invoke` on
 * Node 22; docs/behaviour.md "Start-up").
 */
const require = createRequire(import.meta.url);
const { request } = require('node:http') as typeof import('node:http');
const { request: httpsRequest } = require('node:https') as typeof import('node:https');

export interface InvokeOptions {
  endpoint: string;
  requestFile?: string;
  deployment?: string;
  /** Standard input, read when requestFile is "-". */
  stdin?: NodeJS.ReadableStream;
}

export interface InvokeResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Sends a scoring request through the endpoint's router, with the endpoint's own credential,
 * exactly as a client would. An error status becomes OEP_ERR_INVOKE_FAILED (exit 1).
 */
export async function invokeEndpoint(options: InvokeOptions, deps: EngineDeps): Promise<InvokeResult> {
  const { view: endpoint, url, headers, body, ca } = await scoringTarget(options, deps);
  const result = await post(url, headers, body, ca);
  if (result.status < 200 || result.status >= 300) {
    const details: string[] = [];
    for (const name of ['ms-azureml-model-error-statuscode', 'ms-azureml-model-error-reason', 'azureml-model-deployment', 'x-request-id']) {
      const value = result.headers[name];
      if (value !== undefined) details.push(`${name}: ${String(value)}`);
    }
    if (result.body) details.push(`body: ${result.body}`);
    throw new OepError('OEP_ERR_INVOKE_FAILED', `The endpoint answered ${result.status}: ${messageOf(result.body)}`, {
      details,
      hint: hintFor(result, options, endpoint),
    });
  }
  return result;
}

/** A scoring request as a client sends it: the endpoint's URL, its credential, the body, oep's CA for HTTPS. */
export interface ScoringTarget {
  view: TrafficView;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** oep's local CA (PEM) for an HTTPS endpoint; undefined for HTTP. */
  ca: string | undefined;
}

/**
 * The request `invoke` sends (and `benchmark` repeats): the body from --request-file, the
 * endpoint's own credential, `azureml-model-deployment` when a deployment is named.
 */
export async function scoringTarget(options: InvokeOptions, deps: EngineDeps): Promise<ScoringTarget> {
  const body = await readRequestBody(options, deps.cwd);
  const endpoint = await deps.client.call('endpoint.traffic', { name: options.endpoint });
  if (endpoint.problem) {
    const port = new URL(endpoint.scoring_uri).port;
    throw new OepError('OEP_ERR_PORT_UNAVAILABLE', endpoint.problem, {
      hint: `Stop the program that holds port ${port} (ss -ltnp 'sport = :${port}' names it); the endpoint answers as soon as the port is free. Or delete and re-create the endpoint to get a new port.`,
    });
  }
  const credentials = await deps.client.call('endpoint.credentials', { name: options.endpoint });
  const credential = 'primaryKey' in credentials ? credentials.primaryKey : credentials.accessToken;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: `Bearer ${credential}`,
  };
  if (options.deployment) headers['azureml-model-deployment'] = options.deployment;
  // An HTTPS endpoint's certificate comes from oep's local CA: the CLI trusts it for its own calls.
  const ca = endpoint.scoring_uri.startsWith('https:') ? await readLocalCa(deps.client.paths.home) : undefined;
  return { view: endpoint, url: endpoint.scoring_uri, headers, body, ca };
}

/** What to do next, by the status the front door answered. */
function hintFor(result: InvokeResult, options: InvokeOptions, view: TrafficView): string {
  const { endpoint, deployment: pinned } = options;
  const deployment = String(result.headers['azureml-model-deployment'] ?? pinned ?? '<deployment>');
  const names = view.deployments.map((row) => row.name);
  const problem = view.deployments.find((row) => row.name === deployment)?.problem;
  if (problem) return problem;
  switch (result.status) {
    case 404:
      if (pinned !== undefined && !names.includes(pinned)) {
        const nearest = suggestNearest(pinned, names);
        const known = names.length > 0 ? `its deployments are ${names.join(', ')}` : 'it has no deployments yet';
        return `--deployment-name ${pinned}: endpoint ${endpoint} has no such deployment; ${known}.${nearest ? ` Did you mean --deployment-name ${nearest}?` : ''}`;
      }
      return `Give a deployment traffic (oep traffic set -n ${endpoint} <deployment>=100) or pin one with --deployment-name.`;
    case 408:
      return `The model took longer than request_settings.request_timeout_ms of ${deployment}; raise it or make run() faster.`;
    case 429:
      return `Too many requests in flight for ${deployment}; raise request_settings.max_concurrent_requests_per_instance or instance_count.`;
    case 503:
      return `No replica of ${deployment} is ready; see: oep deployment show -n ${deployment} -e ${endpoint}`;
    default:
      return `See the model's log with: oep deployment get-logs -e ${endpoint} -n ${deployment}`;
  }
}

async function readRequestBody(options: InvokeOptions, cwd: string): Promise<Buffer> {
  if (options.requestFile === undefined) return Buffer.from('{}');
  if (options.requestFile === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of options.stdin ?? process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }
  const path = resolve(cwd, options.requestFile);
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new OepError('OEP_ERR_REQUEST_FILE', `Cannot read --request-file ${options.requestFile} (${path}): ${why}.`, {
      hint: 'Give the path of a JSON file (relative to the current folder), or - to read the request from standard input.',
    });
  }
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return body.length > 300 ? `${body.slice(0, 300)}...` : body || '(empty body)';
}

/** The local CA's certificate (PEM), which signed every HTTPS endpoint's certificate. */
async function readLocalCa(home: string): Promise<string> {
  const file = caCertificateFile(home);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new OepError('OEP_ERR_TLS_UNAVAILABLE', `Cannot read oep's local CA certificate ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {
      hint: 'The daemon makes it with the first HTTPS endpoint; see: oep daemon status',
    });
  }
}

function post(url: string, headers: Record<string, string>, body: Buffer, ca: string | undefined): Promise<InvokeResult> {
  return new Promise((resolvePromise, reject) => {
    const options = { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () =>
        resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
      res.once('error', reject);
    };
    const req = ca === undefined ? request(url, options, onResponse) : httpsRequest(url, { ...options, ca }, onResponse);
    req.once('error', (error) =>
      reject(new OepError('OEP_ERR_INVOKE_FAILED', `Could not reach ${url}: ${error.message}`, { hint: 'Check the daemon with: oep daemon status' })),
    );
    req.end(body);
  });
}
