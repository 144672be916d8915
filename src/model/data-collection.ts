import type { DataCollector, DeploymentSpec } from '../spec/types.js';
import { onlineDeploymentResourceId } from './arm-id.js';
import { DATA_COLLECTOR_DIR_ENV, DATA_COLLECTOR_SETTINGS_ENV } from './server-contract.js';

/**
 * Azure's data collector (`data_collector` in a deployment), as oep runs it: the `request` and
 * `response` collections (payload logging) are written by the router, every other enabled
 * collection by the scoring script through `azureml.ai.monitoring.Collector`
 * (server/oep_monitoring.py). Everything lands as JSON lines in the deployment's folder
 * (`dataCollectorDir`), one event per line in Azure's shape.
 */

export type RollingRate = NonNullable<DataCollector['rolling_rate']>;

/** The collections Azure reserves for payload logging; every other name is custom logging. */
export const PAYLOAD_COLLECTIONS = ['request', 'response'] as const;

/** Azure's blob paths end in `<yyyy>/<MM>/<dd>/<HH>/` unless `rolling_rate` says otherwise. */
export const DEFAULT_ROLLING_RATE: RollingRate = 'hour';

export interface DataCollection {
  /** 0..1: the share of requests whose data is collected. */
  samplingRate: number;
  rollingRate: RollingRate;
  /** Enabled collections, lower-cased as Azure does. */
  collections: string[];
  /** `request_logging.capture_headers`: request headers copied into `request` events. */
  captureHeaders: string[];
  /** The event `source`: the deployment's id, as `endpoint show` spells the endpoint's. */
  source: string;
}

/** What the deployment collects, or undefined when no collection is enabled (the common case: zero cost). */
export function dataCollectionOf(spec: DeploymentSpec): DataCollection | undefined {
  const collector = spec.data_collector;
  if (!collector) return undefined;
  const collections = Object.entries(collector.collections ?? {})
    // Azure's default is off: a collection is collected only with `enabled: true` ('True' too).
    .filter(([, collection]) => collection.enabled === true)
    .map(([name]) => name.toLowerCase());
  if (collections.length === 0) return undefined;
  return {
    samplingRate: collector.sampling_rate ?? 1,
    rollingRate: collector.rolling_rate ?? DEFAULT_ROLLING_RATE,
    collections: [...new Set(collections)].sort(),
    captureHeaders: (collector.request_logging?.capture_headers ?? []).map((name) => name.toLowerCase()),
    // The deployment's ARM id, as `deployment show` gives it (model/arm-id.ts).
    source: onlineDeploymentResourceId(spec.endpoint_name, spec.name),
  };
}

/** The collections the scoring script writes (everything but payload logging). */
export function customCollections(collection: DataCollection): string[] {
  return collection.collections.filter((name) => !(PAYLOAD_COLLECTIONS as readonly string[]).includes(name));
}

/** What the router does for a deployment; undefined when it has nothing to do. */
export interface PayloadLogging {
  /** The deployment's data-collector folder. */
  dir: string;
  source: string;
  request: boolean;
  response: boolean;
  samplingRate: number;
  rollingRate: RollingRate;
  captureHeaders: string[];
  /**
   * Tell the scoring script whether the request is in the sample (SAMPLE_HEADER), so its
   * model_inputs and model_outputs are collected for exactly the requests whose payloads are.
   */
  tellScript: boolean;
}

export function payloadLoggingOf(spec: DeploymentSpec, dir: string): PayloadLogging | undefined {
  const collection = dataCollectionOf(spec);
  if (!collection) return undefined;
  const request = collection.collections.includes('request');
  const response = collection.collections.includes('response');
  // At a sampling rate of 1 every request is in, and the script knows that without a header.
  const tellScript = collection.samplingRate < 1 && customCollections(collection).length > 0;
  if (!request && !response && !tellScript) return undefined;
  return {
    dir,
    source: collection.source,
    request,
    response,
    samplingRate: collection.samplingRate,
    rollingRate: collection.rollingRate,
    captureHeaders: collection.captureHeaders.filter((name) => name !== 'authorization'),
    tellScript,
  };
}

/**
 * The environment of a replica whose script collects (empty when it collects nothing): the
 * folder as the replica sees it (a host path, or the mount point in a container) and the settings.
 */
export function dataCollectionEnvironment(spec: DeploymentSpec, dirInReplica: string): Record<string, string> {
  const collection = dataCollectionOf(spec);
  if (!collection || customCollections(collection).length === 0) return {};
  return {
    [DATA_COLLECTOR_DIR_ENV]: dirInReplica,
    [DATA_COLLECTOR_SETTINGS_ENV]: JSON.stringify({
      collections: customCollections(collection),
      sampling_rate: collection.samplingRate,
      rolling_rate: collection.rollingRate,
      source: collection.source,
    }),
  };
}

/** Whether a replica of this deployment needs the data-collector folder at all. */
export function collectsData(spec: DeploymentSpec): boolean {
  return dataCollectionOf(spec) !== undefined;
}

/** The time folders below a collection, in UTC: `2026/05/07/13` for `hour`. */
export function rolledPath(rate: RollingRate, time: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const parts = [String(time.getUTCFullYear()), two(time.getUTCMonth() + 1), two(time.getUTCDate()), two(time.getUTCHours()), two(time.getUTCMinutes())];
  const depth = { year: 1, month: 2, day: 3, hour: 4, minute: 5 }[rate];
  return parts.slice(0, depth).join('/');
}

export interface PayloadEventInput {
  type: 'request' | 'response';
  /** A fresh event id. */
  id: string;
  source: string;
  time: Date;
  body: Buffer;
  contentType?: string;
  /** The router's x-request-id: the correlation id the script's collector uses too. */
  requestId: string;
  /** request events: path with query, method, captured headers. */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
}

/**
 * One payload-logging event as Azure writes it (a CloudEvents-style object). JSON bodies are kept
 * as JSON, other UTF-8 text as a string; bytes that are not UTF-8 are base64 (`dataencoding`),
 * where Azure would store a separate blob.
 */
export function payloadEvent(input: PayloadEventInput): Record<string, unknown> {
  const { body } = input;
  const { data, contentType, encoding } = decodeBody(body, input.contentType);
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: input.id,
    source: input.source,
    type: `azureml.inference.${input.type}`,
    datacontenttype: contentType,
    time: input.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    data,
  };
  if (encoding) event.dataencoding = encoding;
  if (input.path !== undefined) event.path = input.path;
  if (input.method !== undefined) event.method = input.method;
  event.contentrange = body.length > 0 ? `bytes 0-${body.length - 1}/${body.length}` : 'bytes */0';
  event.correlationid = input.requestId;
  event.xrequestid = input.requestId;
  if (input.headers && Object.keys(input.headers).length > 0) event.headers = input.headers;
  return event;
}

function decodeBody(body: Buffer, declared: string | undefined): { data: unknown; contentType: string; encoding?: string } {
  const text = new TextDecoder('utf-8', { fatal: true });
  let decoded: string;
  try {
    decoded = text.decode(body);
  } catch {
    return { data: body.toString('base64'), contentType: declared ?? 'application/octet-stream', encoding: 'base64' };
  }
  const mime = declared?.split(';', 1)[0]!.trim().toLowerCase();
  if (decoded.length > 0 && (mime === undefined || mime === 'application/json' || mime.endsWith('+json'))) {
    try {
      return { data: JSON.parse(decoded), contentType: 'application/json' };
    } catch {
      // declared (or guessed) JSON that does not parse: keep it as text
    }
  }
  return { data: decoded, contentType: declared ?? 'text/plain' };
}
