import { MirrorSampler, mirrorCopyLimit, type TrafficMap } from '../model/traffic.js';
import type { RouteRecord } from '../model/route-record.js';
import { BodyTap, drain, type AnswerStream, type BodySummary } from './answer.js';
import type { RequestBody } from './body.js';
import type { Exchange } from './exchange.js';
import { ForwardTimeoutError } from './forward.js';
import { upstreamHeaders } from './headers.js';
import type { PairRecorder, PairTicket } from './pairs.js';
import { isoNow } from './record-time.js';
import type { ReplicaLoad } from './replica-load.js';
import type { EndpointRoute, LiveReplica } from './route.js';
import type { Upstreams } from './upstream.js';

/** How long a mirrored copy waits for its answer when its deployment has no settings (default). */
const MIRROR_TIMEOUT_MS = 5000;

/**
 * An endpoint's mirror_traffic as the router applies it: the one deployment that gets copies, and
 * which requests are copied (exactly its percent of them, spread evenly).
 */
export class MirrorRule {
  private readonly sampler: MirrorSampler;

  constructor(
    readonly deployment: string,
    percent: number,
  ) {
    this.sampler = new MirrorSampler(percent);
  }

  /** The rule of an endpoint's mirror map (one deployment at most has a share, see checkTrafficRules), or undefined. */
  static of(mirror: TrafficMap): MirrorRule | undefined {
    const [entry] = Object.entries(mirror).filter(([, percent]) => percent > 0);
    return entry ? new MirrorRule(entry[0], entry[1]) : undefined;
  }

  /** Whether a request the router sends to `live` (not pinned by header) is copied: never to the deployment itself. */
  copies(live: string): boolean {
    return live !== this.deployment && this.sampler.next();
  }
}

/** What the copies need to know of the live request. */
export interface LiveRequest {
  route: EndpointRoute;
  /** The live deployment, and the replica the live request goes to (the noise copy goes to another). */
  deployment: string;
  replica: LiveReplica;
  req: Exchange;
  body: RequestBody;
  requestId: string;
}

/** The router's options the copies read (read at each copy: a host may switch `record` while it runs). */
export interface CopyOptions {
  replicas: (endpoint: string, deployment: string) => readonly LiveReplica[];
  record?: (entry: RouteRecord) => void;
  pairs?: Pick<PairRecorder, 'begin'>;
  mirrorTimeoutMs?: number;
}

/**
 * The copies of live requests: mirror_traffic's copy to the mirror deployment, and, for a pair
 * that `oep traffic compare` records, Diffy's noise copy to a second replica of the live
 * deployment. Their answers are recorded, never shown to the client, and a copy never slows the
 * live request nor grows memory without bound: only held bodies are copied, and past the mirror
 * replica's limit (mirrorCopyLimit) a copy is dropped.
 */
export class Copies {
  constructor(
    private readonly options: CopyOptions,
    private readonly load: ReplicaLoad,
    private readonly upstreams: Pick<Upstreams, 'forward'>,
  ) {}

  /** Sends the copies of a live request to the mirror deployment `target`; returns the pair that waits for the live answer, if one is recorded. */
  send(target: string, live: LiveRequest): PairTicket | undefined {
    const { route, requestId, deployment } = live;
    const pair = this.options.pairs?.begin(route.name, requestId, deployment, target, this.options.replicas(route.name, deployment).filter((r) => r.ready).length);
    this.sendMirror(target, live, pair);
    if (pair?.wantsNoise) this.sendNoise(live, pair);
    return pair;
  }

  /**
   * The mirrored copy; its answer goes to the access log (and the pair). A large streamed body
   * is never duplicated or held for a mirror: the copy is recorded as 413.
   */
  private sendMirror(target: string, live: LiveRequest, pair: PairTicket | undefined): void {
    const { route, req, body, requestId } = live;
    const replica = this.load.pick(this.options.replicas(route.name, target));
    const started = performance.now();
    const record = (status: number, answer?: Buffer | BodySummary): void => {
      pair?.mirror(status, performance.now() - started, answer, answer === undefined && (status === 413 || status === 429 || status === 503));
      this.options.record?.({
        time: isoNow(),
        endpoint: route.name,
        request_id: requestId,
        deployment: target,
        mirrored: true,
        status,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
      });
    };
    if (body.kind === 'streamed') return record(413);
    if (!replica) return record(503);
    const settings = route.deployments[target];
    // Past the replica's share of the deployment's 429 limit the copy is dropped (recorded as 429), as the cloud would refuse it.
    const limit = settings ? mirrorCopyLimit(settings) : Infinity;
    if (this.load.of(replica) >= limit) return record(429);
    this.copy(replica, req, body, requestId, settings?.replicaSecret, settings?.requestTimeoutMs ?? this.options.mirrorTimeoutMs ?? MIRROR_TIMEOUT_MS)
      .then(async (response) => record(response.status, response.stream ? await summarize(response.stream, pair?.keepBytes) : response.body))
      .catch((error: Error) => record(error instanceof ForwardTimeoutError ? 408 : 500, Buffer.alloc(0)))
      .finally(() => this.load.add(replica, -1));
  }

  /**
   * Diffy's noise sample: the same request once more to another ready replica of the live
   * deployment, its answer kept only in the pair (no metrics, no access log, never to the client).
   */
  private sendNoise(live: LiveRequest, pair: PairTicket): void {
    const { route, deployment, req, body, requestId } = live;
    const replica = this.load.pick(this.options.replicas(route.name, deployment), live.replica);
    const settings = route.deployments[deployment];
    if (!replica || !settings || body.kind === 'streamed') return pair.noise(503, 0, undefined, true);
    const started = performance.now();
    this.copy(replica, req, body, requestId, settings.replicaSecret, settings.requestTimeoutMs)
      .then(async (response) => pair.noise(response.status, performance.now() - started, response.stream ? await summarize(response.stream, pair.keepBytes) : response.body))
      .catch(() => pair.noise(500, performance.now() - started, undefined, true))
      .finally(() => this.load.add(replica, -1));
  }

  /** Sends a held copy of the request to `replica`, counted in its load until the caller's `finally`. */
  private copy(replica: LiveReplica, req: Exchange, body: Extract<RequestBody, { kind: 'held' }>, requestId: string, replicaSecret: string | undefined, timeoutMs: number) {
    this.load.add(replica, 1);
    return this.upstreams.forward({
      origin: replica.origin,
      path: replica.scoringPath,
      method: req.method,
      headers: upstreamHeaders(req.headers, requestId, replicaSecret),
      body: body.length > 0 ? body.bytes : undefined,
      timeoutMs,
    });
  }
}

/**
 * Reads a copy's streamed answer to its end, keeping its start (up to `keepBytes`, none without a
 * pair), its length and its digest: nobody reads it, so it is never held. The replica stays
 * loaded until then.
 */
async function summarize(stream: AnswerStream, keepBytes = 0): Promise<BodySummary> {
  const tap = new BodyTap(keepBytes, keepBytes > 0);
  await drain(stream, tap);
  return tap.summary();
}
