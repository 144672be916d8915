import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { BodyTap, drain, HELD_ANSWER_BYTES, tapped, type AnswerStream, type BodySummary } from './answer.js';
import { BodyTooLargeError, ClientAbortedError, HELD_BODY_BYTES, MAX_BODY_BYTES, type RequestBody } from './body.js';
import { ConnectionBudget, ownBudget, type BudgetCounts, type ConnectionLimits } from './connection-budget.js';
import { isOutOfDescriptors } from '../model/descriptors.js';
import { LeanExchange, NodeExchange, type Exchange } from './exchange.js';
import { ForwardTimeoutError } from './forward.js';
import { Front, LEAN_BODY_BYTES, type FrontCertificate } from './front.js';
import { replicaRefusesHeaders, setHeader } from './http1.js';
import { Upstreams } from './upstream.js';
import { BAD_GATEWAY_STATUS, badAnswerMessage, isBadAnswer, MAX_RESENDS, NO_READY_REPLICA_STATUS, NoReadyReplicaError, ReplicaLostError } from './replica-loss.js';
import { MirrorSampler, WeightedPicker, type TrafficMap } from '../model/traffic.js';
import { KeyMatcher, VerifiedTokens, verifyToken, type AadRejection, type AadVerdict, type AadVerifier } from './auth.js';
import { bearerCredential } from '../model/credentials.js';
import type { RouteRecord } from '../model/route-record.js';
import { PayloadRecorder } from './payload-logging.js';
import type { PairRecorder, PairTicket } from './pairs.js';
import type { PayloadLogging } from '../model/data-collection.js';
import { REPLICA_SECRET_HEADER, SAMPLE_HEADER } from '../model/server-contract.js';

/**
 * A replica as the router sees it, read-only: its owner (the reconciler) keeps `ready` current
 * and makes a new record for every process or container it starts. The router keeps its own
 * in-flight count per record (`inflightOf`), so a restart never resets a count that requests
 * still hold.
 */
export interface LiveReplica {
  readonly id: string;
  readonly origin: string;
  readonly pid?: number;
  readonly scoringPath: string;
  readonly ready: boolean;
}

export interface DeploymentRoute {
  requestTimeoutMs: number;
  /**
   * Run under a debugger (--debug): a request that reached a replica has no deadline, as it may
   * sit at a breakpoint (waiting for a replica stays bounded by requestTimeoutMs).
   */
  debugging?: boolean;
  maxConcurrentPerInstance: number;
  instanceCount: number;
  /** `data_collector` payload logging; absent for almost every deployment, and then it costs nothing. */
  dataCollector?: PayloadLogging;
  /**
   * Sent to the deployment's replicas in `x-oep-replica-secret` with every request (live and
   * mirrored); oep's scoring server answers 401 to a request without it. Absent for custom
   * containers, which cannot check it.
   */
  replicaSecret?: string;
}

export interface EndpointRoute {
  name: string;
  port: number;
  /** none: an endpoint created with --local (Azure's local endpoints have no auth). */
  authMode: 'key' | 'aml_token' | 'aad_token' | 'none';
  /** Kubernetes endpoints answer 504/502/503 where managed ones answer 408/424/429. */
  kind?: 'managed' | 'kubernetes';
  keys: { primary: string; secondary: string };
  tokenSecret: string;
  traffic: TrafficMap;
  mirror: TrafficMap;
  deployments: Record<string, DeploymentRoute>;
  /** HTTPS: the endpoint's certificate and private key (PEM), served on the same port; absent: HTTP. */
  tls?: FrontCertificate;
}

export interface RouterOptions {
  replicas: (endpoint: string, deployment: string) => readonly LiveReplica[];
  /**
   * Resolves true once a replica of the deployment is ready, false when none is coming (or
   * after timeoutMs). Without it, a request that finds no ready replica is answered 503 at once.
   */
  waitForReplica?: (endpoint: string, deployment: string, timeoutMs: number) => Promise<boolean>;
  /** A replica refused or dropped a connection: its owner takes it out of rotation until its probe passes. */
  unreachable?: (endpoint: string, deployment: string, replica: LiveReplica) => void;
  record?: (entry: RouteRecord) => void;
  /** Keeps the live and mirror answers of mirrored requests (`oep traffic compare`); only mirrored requests reach it. */
  pairs?: Pick<PairRecorder, 'begin'>;
  now?: () => number;
  /** Mirrored copies give up after this long. */
  mirrorTimeoutMs?: number;
  /** How often a listener whose port is taken tries again (default 1 s). */
  listenRetryMs?: number;
  /**
   * Checks the bearer tokens of aad_token endpoints (the daemon's: oep's local issuer and the
   * aad_tenant's Entra ID keys, see src/identity/aad.ts). Without it, an aad_token endpoint refuses every request.
   */
  verifyAadToken?: AadVerifier;
  /** Where the router reports a port it cannot bind and its recovery (the daemon's log). */
  log?: (line: string) => void;
  /** Larger request bodies are refused with 413 (default MAX_BODY_BYTES, Azure's 100 MB). */
  maxBodyBytes?: number;
  /** Bodies up to this size are held whole, larger ones stream (default HELD_BODY_BYTES). */
  heldBodyBytes?: number;
  /** Replica answers up to this size are held whole, larger ones stream to the client (default HELD_ANSWER_BYTES). */
  heldAnswerBytes?: number;
  /**
   * Client connections at most, across endpoints (connection-budget.ts); default: from this
   * process's descriptor limit (ownBudget()); false: no budget.
   */
  connections?: ConnectionLimits | false;
  /** false: every request goes through Node's http server instead of the lean path (benchmarks compare them); default true. */
  leanPath?: boolean;
  /**
   * Where the endpoints' ports are opened: the keeper's (src/daemon/keeper-link.ts), which holds
   * them across daemon restarts and passes each connection in. Absent: the router listens itself.
   */
  ports?: PortProvider;
}

/** Opens 127.0.0.1:port for the router and hands it each connection; resolves with the failure, or null. */
export interface PortProvider {
  open(port: number, accept: (socket: Socket) => void): Promise<NodeJS.ErrnoException | null>;
  close(port: number): void;
}

/** The header that carries a deployment's replica secret from the router to its replicas. */

/** An early answer leaves up to this much unread body to drain on a kept-alive connection; more closes it. */
const DRAIN_AT_MOST_BYTES = 64 * 1024;

export const NO_DEPLOYMENT_MESSAGE =
  'No valid deployments to route to. Please check that the endpoint has at least one deployment with positive weight values or use a deployment specific header to route.';

// Not forwarded: hop-by-hop headers, and `expect` (the router answers 100-continue to the client itself).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length', 'expect']);

/** How long an idle client connection is kept open (Node's server.keepAliveTimeout, as set before). */
const KEEP_ALIVE_MS = 30_000;

interface Listener {
  route: EndpointRoute;
  front: Front;
  picker: WeightedPicker;
  keys: KeyMatcher;
  mirror?: { deployment: string; sampler: MirrorSampler };
  inflight: Map<string, number>;
  /** Requests served and mirrored copies sent, per deployment, since the listener started. */
  served: Map<string, { requests: number; mirrored: number }>;
  /** Why the port could not be bound; the router keeps trying until it can (or the endpoint goes). */
  problem?: string;
  retry?: NodeJS.Timeout;
}

export interface DeploymentTrafficStats {
  inflight: number;
  requests: number;
  mirrored: number;
}

/**
 * The data plane: one listener per endpoint on 127.0.0.1, reproducing the cloud's front door
 * (docs/contract.md section 6): auth, deployment choice, replica choice, proxy, mirror.
 */
export class Router {
  private readonly listeners = new Map<string, Listener>();
  /** Requests each replica is answering now (live and mirrored). */
  private readonly replicaLoad = new WeakMap<LiveReplica, number>();
  private readonly upstreams: Upstreams;
  /** Made on the first request of a deployment with a data collector. */
  private payloads?: PayloadRecorder;

  /** aad_token endpoints' verified tokens, shared by every such endpoint (absent without a verifier). */
  private readonly aadTokens?: VerifiedTokens;
  /** Client connections across every endpoint's listener (absent: no cap). */
  readonly budget?: ConnectionBudget;
  /** What the log was last told about shed and refused connections, and when. */
  private pressure = { shed: 0, refused: 0, at: 0 };

  constructor(private readonly options: RouterOptions) {
    if (options.verifyAadToken) this.aadTokens = new VerifiedTokens(options.verifyAadToken, options.now ?? Date.now);
    this.upstreams = new Upstreams({ heldAnswerBytes: options.heldAnswerBytes ?? HELD_ANSWER_BYTES });
    if (options.connections !== false) this.budget = new ConnectionBudget(options.connections ?? ownBudget());
  }

  /** Connections open, shed and refused (see connection-budget.ts), or undefined without a budget. */
  connectionStats(): (BudgetCounts & { total: number; ceiling: number }) | undefined {
    return this.budget && { ...this.budget.stats(), total: this.budget.total, ceiling: this.budget.ceiling };
  }

  /** At most one line every 10 s about connections shed or refused at the cap. */
  private reportPressure(): void {
    const counts = this.budget?.stats();
    const now = Date.now();
    if (!counts || now - this.pressure.at < 10_000 || (counts.shed === this.pressure.shed && counts.refused === this.pressure.refused)) return;
    this.options.log?.(
      `router: at its connection limit (${this.budget!.total} client connections across endpoints): ${counts.shed - this.pressure.shed} idle or slow connection(s) closed to make room and ` +
        `${counts.refused - this.pressure.refused} refused with 503 since the last report`,
    );
    this.pressure = { shed: counts.shed, refused: counts.refused, at: now };
  }

  /**
   * Starts the endpoint's listener if needed and swaps in its new routing rules. A port held by
   * another program does not fail the call: the listener records why (see `problem`) and tries
   * again every `listenRetryMs` until the port is free, so the endpoint's URL stays stable.
   */
  async upsert(route: EndpointRoute): Promise<void> {
    const existing = this.listeners.get(route.name);
    // TLS switched on or off: the listener is made again on the same port with the new protocol.
    if (existing && existing.route.port === route.port && (existing.route.tls === undefined) === (route.tls === undefined)) {
      if (route.tls && (route.tls.cert !== existing.route.tls?.cert || route.tls.key !== existing.route.tls?.key)) existing.front.setCertificate(route.tls);
      existing.route = route;
      this.resetPickers(existing);
      return;
    }
    if (existing) await this.remove(route.name);
    const fallback: HttpServer = createServer();
    fallback.keepAliveTimeout = KEEP_ALIVE_MS;
    const maxBodyBytes = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    const heldBodyBytes = this.options.heldBodyBytes ?? HELD_BODY_BYTES;
    const listener: Listener = {
      route,
      front: new Front({
        leanBodyBytes: Math.min(maxBodyBytes, heldBodyBytes, LEAN_BODY_BYTES),
        keepAliveMs: KEEP_ALIVE_MS,
        fallback,
        onRequest: (request) => void this.handle(listener, new LeanExchange(request), false),
        ...(this.budget && { budget: this.budget, endpoint: route.name }),
        ...(route.tls && { tls: route.tls }),
        ...(this.options.leanPath === false && { lean: false }),
      }),
      picker: new WeightedPicker({}),
      keys: new KeyMatcher([]),
      inflight: new Map(),
      served: new Map(),
    };
    this.resetPickers(listener);
    fallback.on('request', (req, res) => void this.handle(listener, new NodeExchange(req, res), false));
    // Expect: 100-continue is answered only once the request is accepted: a request refused before
    // its body (401, 404, 413, 429, 503) never makes the client send the body.
    fallback.on('checkContinue', (req, res) => void this.handle(listener, new NodeExchange(req, res), true));
    this.listeners.set(route.name, listener);
    await this.listen(listener);
  }

  /** Why the endpoint's URL does not answer right now, or undefined when it listens. */
  problem(endpoint: string): string | undefined {
    return this.listeners.get(endpoint)?.problem;
  }

  /** Every endpoint whose port could not be bound, with the reason. */
  problems(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, listener] of this.listeners) if (listener.problem) out[name] = listener.problem;
    return out;
  }

  private async listen(listener: Listener): Promise<void> {
    const { port, name } = listener.route;
    const ports = this.options.ports;
    const failure = ports ? await ports.open(port, (socket) => this.accept(name, listener, socket)) : await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const server = listener.front.server;
      // Both listeners go whichever comes: a port that stays taken must not pile them up.
      const onListening = (): void => {
        server.off('error', onError);
        resolve(null);
      };
      const onError = (error: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        resolve(error);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, '127.0.0.1');
    });
    if (this.listeners.get(name) !== listener) {
      // Removed (or replaced) while binding.
      if (!failure) await listener.front.close();
      return;
    }
    if (!failure) {
      if (listener.problem) this.options.log?.(`endpoint ${name}: listening on 127.0.0.1:${port} again`);
      listener.problem = undefined;
      if (ports) return;
      // A failed accept (the process out of descriptors after all) is logged, at most every 10 s; the listener goes on.
      let reported = 0;
      listener.front.server.on('error', (error: NodeJS.ErrnoException) => {
        if (Date.now() - reported < 10_000) return;
        reported = Date.now();
        this.options.log?.(`endpoint ${name}: a connection to 127.0.0.1:${port} could not be accepted: ${error.code ?? error.message}`);
      });
      listener.front.server.on('connection', () => this.reportPressure());
      return;
    }
    const reason = failure.code === 'EADDRINUSE' ? 'EADDRINUSE, another program holds the port' : (failure.code ?? failure.message);
    const problem = `Endpoint ${name} cannot listen on 127.0.0.1:${port} (${reason}); oep keeps trying.`;
    if (problem !== listener.problem) this.options.log?.(problem);
    listener.problem = problem;
    listener.retry = setTimeout(() => void this.listen(listener), this.options.listenRetryMs ?? 1000);
    listener.retry.unref();
  }

  async remove(name: string): Promise<void> {
    const listener = this.listeners.get(name);
    if (!listener) return;
    this.listeners.delete(name);
    clearTimeout(listener.retry);
    // The keeper's port goes with the endpoint, not with a listener made again on it (--tls on|off).
    if (this.options.ports && ![...this.listeners.values()].some((other) => other.route.port === listener.route.port)) this.options.ports.close(listener.route.port);
    await listener.front.close();
  }

  /** A connection the keeper passed in: to the endpoint's listener as if it had accepted it. */
  private accept(name: string, listener: Listener, socket: Socket): void {
    // The listener may have been made again on the same port (--tls on|off): the current one takes it.
    const current = this.listeners.get(name) ?? listener;
    socket.allowHalfOpen = true;
    current.front.server.emit('connection', socket);
    this.reportPressure();
  }

  /**
   * `oep daemon restart`: connections with nothing in flight, taken off their listeners (plain
   * HTTP, lean path) for the keeper to pass to the next daemon; the rest (TLS, Node's server) are
   * closed once idle. `remaining` counts what still has a request in flight.
   */
  releaseIdle(): { released: { port: number; socket: Socket }[]; remaining: number } {
    const released: { port: number; socket: Socket }[] = [];
    let remaining = 0;
    for (const listener of this.listeners.values()) {
      const step = listener.front.releaseIdle();
      for (const socket of step.released) released.push({ port: listener.route.port, socket });
      remaining += step.remaining;
    }
    return { released, remaining };
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((name) => this.remove(name)));
    await this.upstreams.close();
    await this.payloads?.close();
  }

  /** Live request counts per deployment of an endpoint (for `traffic show`). */
  stats(endpoint: string): Record<string, DeploymentTrafficStats> {
    const listener = this.listeners.get(endpoint);
    const out: Record<string, DeploymentTrafficStats> = {};
    if (!listener) return out;
    for (const name of new Set([...listener.inflight.keys(), ...listener.served.keys()])) {
      const served = listener.served.get(name);
      out[name] = { inflight: listener.inflight.get(name) ?? 0, requests: served?.requests ?? 0, mirrored: served?.mirrored ?? 0 };
    }
    return out;
  }

  /** Requests a replica is answering now, live and mirrored. */
  inflightOf(replica: LiveReplica): number {
    return this.replicaLoad.get(replica) ?? 0;
  }

  private adjustLoad(replica: LiveReplica, delta: number): void {
    this.replicaLoad.set(replica, this.inflightOf(replica) + delta);
  }

  private pick(replicas: readonly LiveReplica[], except?: LiveReplica): LiveReplica | undefined {
    return pickReplica(replicas, (replica) => this.inflightOf(replica), except);
  }

  /**
   * A ready replica of the deployment that has not failed this request yet; when there is none,
   * waits up to `waitMs` for one (a replica being restarted), as a request that finds none does.
   */
  private async untriedReplica(endpoint: string, deployment: string, tried: ReadonlySet<LiveReplica>, waitMs: number): Promise<{ replica: LiveReplica; waited: boolean } | undefined> {
    const untried = (): LiveReplica | undefined => this.pick(this.options.replicas(endpoint, deployment).filter((replica) => !tried.has(replica)));
    const now = untried();
    if (now) return { replica: now, waited: false };
    if (!(await this.options.waitForReplica?.(endpoint, deployment, waitMs))) return undefined;
    const later = untried();
    return later && { replica: later, waited: true };
  }

  private count(listener: Listener, deployment: string, mirrored: boolean): void {
    let entry = listener.served.get(deployment);
    if (!entry) {
      entry = { requests: 0, mirrored: 0 };
      listener.served.set(deployment, entry);
    }
    if (mirrored) entry.mirrored += 1;
    else entry.requests += 1;
  }

  private resetPickers(listener: Listener): void {
    listener.picker = new WeightedPicker(listener.route.traffic);
    listener.keys = new KeyMatcher([listener.route.keys.primary, listener.route.keys.secondary]);
    const [mirrorEntry] = Object.entries(listener.route.mirror).filter(([, percent]) => percent > 0);
    listener.mirror = mirrorEntry ? { deployment: mirrorEntry[0], sampler: new MirrorSampler(mirrorEntry[1]) } : undefined;
  }

  private async handle(listener: Listener, req: Exchange, expectsContinue: boolean): Promise<void> {
    const started = performance.now();
    const route = listener.route;
    const requestId = randomUUID();
    let deployment: string | null = null;
    let logging: PayloadLogging | undefined;
    /** Set only for a mirrored request whose pair is recorded. */
    let pair: PairTicket | undefined;
    /** Whether the client was told to send its body (Expect: 100-continue). */
    let continued = !expectsContinue;
    /** A large body's request event is written once the body has been read (see payloads.request). */
    let streamedRequest: (() => void) | undefined;
    const record = (status: number): void => {
      if (deployment !== null) this.count(listener, deployment, false);
      this.options.record?.({
        time: isoNow(),
        endpoint: route.name,
        request_id: requestId,
        deployment,
        mirrored: false,
        status,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
      });
    };
    const finish = (status: number, body: string | Buffer, headers: Record<string, string | string[]> = {}): void => {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      const head: Record<string, string | string[] | number> = { 'x-request-id': requestId, 'content-length': bytes.length, ...headers };
      req.respond({ status, reason: status === 413 ? 'Request Entity Too Large' : undefined, headers: head, body: bytes }, continued ? DRAIN_AT_MOST_BYTES : 0);
      streamedRequest?.();
      // The model's own status (the client sees 424 for a model error), as the mirror's is recorded.
      pair?.live(Number(headers['ms-azureml-model-error-statuscode'] ?? status), performance.now() - started, body);
      if (logging) this.payloads!.response(logging, bytes, headerValue(headers['content-type']), requestId);
      record(status);
    };
    /**
     * An answer too large to hold: the head now, the body at the pace the client reads it. The
     * pair and the data collector get what was kept of it (its start, length and digest) once it
     * ended; the access log records it then, so its latency covers the whole transfer.
     */
    const finishStreamed = async (status: number, stream: AnswerStream, headers: Record<string, string | string[]>, target: string): Promise<void> => {
      const head: Record<string, string | string[] | number> = { 'x-request-id': requestId, ...(stream.length !== undefined && { 'content-length': stream.length }), ...headers };
      const pairTap = pair ? new BodyTap(pair.keepBytes, true) : undefined;
      const logTap = logging?.response ? new BodyTap(this.options.heldBodyBytes ?? HELD_BODY_BYTES, false) : undefined;
      const body =
        pairTap || logTap
          ? tapped(stream, (bytes) => {
              pairTap?.add(bytes);
              logTap?.add(bytes);
            })
          : stream;
      req.respond({ status, headers: head, body: EMPTY_BODY, stream: body }, continued ? DRAIN_AT_MOST_BYTES : 0);
      streamedRequest?.();
      const outcome = await stream.done;
      if (outcome === 'failed') this.options.log?.(`endpoint ${route.name}: the answer to request ${requestId} from deployment ${target} ended early (the replica failed or stalled); the client's connection was closed`);
      if (pairTap) pair!.live(Number(headers['ms-azureml-model-error-statuscode'] ?? status), performance.now() - started, pairTap.summary());
      if (logTap) {
        const kept = logTap.summary();
        this.payloads!.response(logging!, kept.start, headerValue(headers['content-type']), requestId, kept.bytes);
      }
      record(status);
    };
    const fail = (status: number, message: string, headers: Record<string, string> = {}): void =>
      finish(status, JSON.stringify({ message }), { 'content-type': 'application/json', ...headers });
    const maxBodyBytes = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    const tooLarge = (): void =>
      fail(413, `Request body too large: the limit is ${maxBodyBytes} bytes (${formatMegabytes(maxBodyBytes)}, as Azure's inference images).`);

    // Heads a server refuses, refused first, as Node's own 400 and 431 are.
    if (req.hostLines() > 1) return fail(400, 'Bad request: the request has more than one Host header (RFC 9112 section 3.2).');
    // Header lines the replica's server refuses (431): refused here, rather than forwarded for a 424 carrying its 431.
    const refusedHeaders = replicaRefusesHeaders(replicaHeaderLines(req.headers));
    if (refusedHeaders !== undefined) return fail(431, `Request header fields too large: ${refusedHeaders}.`);

    const queryAt = req.url.indexOf('?');
    const path = queryAt < 0 ? req.url : req.url.slice(0, queryAt);
    if (path !== '/score' && path !== '/swagger.json') {
      return fail(404, 'The requested URL was not found on the server.');
    }
    if (route.authMode === 'none') {
      // --local: Azure's local endpoints take every request.
    } else if (route.authMode === 'aad_token') {
      // A token verified before answers at once; only a new one waits for its signature check.
      const checked = this.checkAadToken(headerValue(req.headers.authorization));
      const verdict = checked instanceof Promise ? await checked : checked;
      if (!verdict.ok) return fail(401, aadRefusal(verdict.reason), { 'www-authenticate': 'Bearer' });
    } else if (!this.authorized(listener, headerValue(req.headers.authorization))) {
      return fail(401, 'Unauthorized: a valid key or token is required in the Authorization header (Bearer <key>).', {
        'www-authenticate': 'Bearer',
      });
    }
    // Refused on its declared length, before a byte of it is read.
    if ((req.declaredLength() ?? 0) > maxBodyBytes) return tooLarge();

    const pinned = headerValue(req.headers['azureml-model-deployment']);
    if (pinned !== undefined) {
      // Own keys only: a pin such as __proto__ or toString is an unknown name like any other.
      if (!Object.hasOwn(route.deployments, pinned)) {
        const names = Object.keys(route.deployments).sort().join(', ') || 'none';
        return fail(404, `Deployment "${pinned}" does not exist in endpoint ${route.name}. Deployments: ${names}.`);
      }
      deployment = pinned;
    } else {
      deployment = listener.picker.next() ?? null;
      if (deployment === null) return fail(404, NO_DEPLOYMENT_MESSAGE);
    }
    const settings = route.deployments[deployment];
    if (!settings) return fail(404, NO_DEPLOYMENT_MESSAGE);

    // Decided before the body is read: a refused request costs no memory and no upload.
    const limit = 2 * settings.maxConcurrentPerInstance * settings.instanceCount;
    const current = listener.inflight.get(deployment) ?? 0;
    if (current >= limit) {
      return fail(statusFor(route, 429), `Too many requests: deployment ${deployment} already has ${current} requests in flight (limit ${limit} = 2 x max_concurrent_requests_per_instance x instance_count).`, {
        'azureml-model-deployment': deployment,
      });
    }
    // Counted from here, before anything is awaited: requests waiting for a replica count towards
    // the 429 limit too, and no count is written from a stale read.
    listener.inflight.set(deployment, current + 1);
    try {
      let replica = this.pick(this.options.replicas(route.name, deployment));
      // Replicas still starting or being adopted (say, the daemon has just started): wait for one.
      if (!replica && (await this.options.waitForReplica?.(route.name, deployment, settings.requestTimeoutMs))) {
        replica = this.pick(this.options.replicas(route.name, deployment));
      }
      if (!replica) {
        return fail(NO_READY_REPLICA_STATUS, new NoReadyReplicaError(deployment, undefined).message, { 'azureml-model-deployment': deployment });
      }

      if (!continued) {
        req.sendContinue();
        continued = true;
      }
      let body: RequestBody;
      try {
        body = await req.readBody({ maxBytes: maxBodyBytes, heldBytes: this.options.heldBodyBytes ?? HELD_BODY_BYTES });
      } catch (error) {
        if (error instanceof BodyTooLargeError) return tooLarge();
        // The client left while sending its body: nobody to answer.
        return record(CLIENT_CLOSED_REQUEST);
      }

      let sampled: boolean | undefined;
      // Payload logging covers scoring requests only (not /swagger.json), as Azure's does.
      if (settings.dataCollector && path === '/score') {
        this.payloads ??= new PayloadRecorder({ log: this.options.log });
        sampled = this.payloads.sample(settings.dataCollector);
        if (sampled) {
          logging = settings.dataCollector;
          if (body.kind === 'held') {
            this.payloads.request(logging, req, body.bytes, requestId);
          } else {
            // Recorded once read, as its first bytes and its whole length (contentrange).
            const streamed = body;
            const dataCollector = logging;
            streamed.keepStart(this.options.heldBodyBytes ?? HELD_BODY_BYTES);
            streamedRequest = () => {
              streamedRequest = undefined;
              if (streamed.complete) this.payloads!.request(dataCollector, req, streamed.start(), requestId, streamed.receivedBytes);
            };
          }
        }
      }

      if (pinned === undefined && listener.mirror && listener.mirror.deployment !== deployment && listener.mirror.sampler.next()) {
        pair = this.options.pairs?.begin(route.name, requestId, deployment, listener.mirror.deployment, this.options.replicas(route.name, deployment).filter((r) => r.ready).length);
        this.sendMirror(listener, req, body, requestId, pair);
        if (pair?.wantsNoise) this.sendNoiseCopy(route, deployment, replica, req, body, requestId, pair);
      }

      const upstreamHeaders = forwardHeaders(req.headers);
      upstreamHeaders['x-request-id'] = requestId;
      if (settings.replicaSecret !== undefined) upstreamHeaders[REPLICA_SECRET_HEADER] = settings.replicaSecret;
      if (sampled !== undefined && settings.dataCollector!.tellScript) upstreamHeaders[SAMPLE_HEADER] = sampled ? '1' : '0';
      if (body.kind === 'streamed' && body.length !== undefined) upstreamHeaders['content-length'] = String(body.length);
      let deadline = settings.debugging ? undefined : Date.now() + settings.requestTimeoutMs;
      const send = async (target: LiveReplica) => {
        const payload: Buffer | Readable | undefined = body.kind === 'streamed' ? body.open() : body.length > 0 || req.method === 'POST' ? body.bytes : undefined;
        this.adjustLoad(target, 1);
        let streaming = false;
        try {
          const answer = await this.upstreams.forward({
            origin: target.origin,
            path: (path === '/score' ? target.scoringPath : path) + query(req.url),
            method: req.method,
            headers: upstreamHeaders,
            body: payload,
            timeoutMs: deadline === undefined ? undefined : Math.max(1, deadline - Date.now()),
          });
          if (answer.stream) {
            // The replica is still sending (at the client's pace): it stays loaded until the end.
            streaming = true;
            void answer.stream.done.then(() => this.adjustLoad(target, -1));
          }
          return answer;
        } finally {
          if (!streaming) this.adjustLoad(target, -1);
        }
      };
      const target = deployment;
      /**
       * The replica died under us (connection refused or dropped): it leaves rotation until its
       * probe passes again, and the request goes to another ready replica, or waits (up to
       * request_timeout_ms, as a request that finds no ready replica does) for one being
       * restarted, as long as its whole body can be sent again (held, or nothing of it sent
       * yet). Never to a replica that already failed it. As for a first wait, the model's own
       * time on the replica it waited for is counted from when it gets the request.
       */
      const sendElsewhere = async (failed: LiveReplica, error: unknown) => {
        const tried = new Set<LiveReplica>();
        let lost = failed;
        let cause = error;
        for (let resend = 0; resend < MAX_RESENDS; resend++) {
          tried.add(lost);
          this.options.unreachable?.(route.name, target, lost);
          if (!(body.kind === 'held' || body.replayable)) throw new ReplicaLostError(target);
          const next = await this.untriedReplica(route.name, target, tried, settings.requestTimeoutMs);
          if (!next) throw new NoReadyReplicaError(target, settings.requestTimeoutMs);
          if (next.waited && deadline !== undefined) deadline = Date.now() + settings.requestTimeoutMs;
          try {
            return await send(next.replica);
          } catch (again) {
            if (!isConnectionFailure(again)) throw again;
            lost = next.replica;
            cause = again;
          }
        }
        this.options.log?.(`endpoint ${route.name}: request ${requestId} to deployment ${target} was refused by ${MAX_RESENDS + 1} replicas; the last said ${describeError(cause)}`);
        throw new NoReadyReplicaError(target, settings.requestTimeoutMs);
      };
      try {
        let answer;
        try {
          answer = await send(replica);
        } catch (error) {
          if (!isConnectionFailure(error)) throw error;
          answer = await sendElsewhere(replica, error);
        }
        const { status: upstreamStatus, body: payload, stream } = answer;
        const headers = copyResponseHeaders(answer.headers);
        headers['azureml-model-deployment'] = deployment;
        const clientRequestId = headerValue(req.headers['x-ms-client-request-id']);
        if (clientRequestId !== undefined) headers['x-ms-client-request-id'] = clientRequestId;
        // /swagger.json answers as the model does; only scoring errors become 424.
        let status = upstreamStatus;
        if (!((upstreamStatus >= 200 && upstreamStatus < 300) || path !== '/score')) {
          headers['ms-azureml-model-error-statuscode'] = String(upstreamStatus);
          // A streamed error answer is not read before its head goes: the reason is the status's.
          headers['ms-azureml-model-error-reason'] = stream ? (STATUS_TEXT[upstreamStatus] ?? 'model error') : reasonOf(payload, upstreamStatus);
          status = statusFor(route, 424);
        }
        if (stream) await finishStreamed(status, stream, headers, deployment);
        else finish(status, payload, headers);
      } catch (error) {
        if (error instanceof ForwardTimeoutError) {
          fail(statusFor(route, 408), `Request timed out after ${settings.requestTimeoutMs} ms (request_settings.request_timeout_ms of deployment ${deployment}).`, {
            'azureml-model-deployment': deployment,
          });
        } else if (error instanceof BodyTooLargeError) {
          tooLarge();
        } else if (error instanceof ClientAbortedError) {
          record(CLIENT_CLOSED_REQUEST);
        } else if (error instanceof NoReadyReplicaError) {
          fail(NO_READY_REPLICA_STATUS, error.message, { 'azureml-model-deployment': deployment });
        } else if (error instanceof ReplicaLostError) {
          fail(BAD_GATEWAY_STATUS, error.message, { 'azureml-model-deployment': deployment });
        } else if (isBadAnswer(error)) {
          // Not a dead replica: it answered, wrongly. It stays in rotation.
          this.options.log?.(`endpoint ${route.name}: request ${requestId} to deployment ${deployment} failed: ${describeError(error)}`);
          fail(BAD_GATEWAY_STATUS, badAnswerMessage(deployment), { 'azureml-model-deployment': deployment });
        } else if (isOutOfDescriptors(error)) {
          // The daemon itself, not the replica: nothing is taken out of rotation.
          this.options.log?.(`endpoint ${route.name}: request ${requestId} to deployment ${deployment} failed: ${describeError(error)}`);
          fail(503, `oep's router is out of file descriptors right now and could not reach deployment ${deployment}; try again.`, { 'azureml-model-deployment': deployment });
        } else {
          this.options.log?.(`endpoint ${route.name}: request ${requestId} to deployment ${deployment} failed: ${describeError(error)}`);
          fail(500, `Internal error: the request could not reach deployment ${deployment}.`, { 'azureml-model-deployment': deployment });
        }
      }
    } finally {
      listener.inflight.set(deployment, (listener.inflight.get(deployment) ?? 1) - 1);
    }
  }

  private checkAadToken(header: string | undefined): AadVerdict | Promise<AadVerdict> | { ok: false; reason: 'missing' | 'unverifiable' } {
    const credential = bearerCredential(header);
    if (!credential) return { ok: false, reason: 'missing' };
    if (!this.aadTokens) return { ok: false, reason: 'unverifiable' };
    return this.aadTokens.check(credential);
  }

  private authorized(listener: Listener, header: string | undefined): boolean {
    const route = listener.route;
    const credential = bearerCredential(header);
    if (!credential) return false;
    if (route.authMode === 'key') {
      // Both keys every time, so timing does not tell which one matched.
      return listener.keys.matches(credential);
    }
    return verifyToken(credential, route.name, route.tokenSecret, (this.options.now ?? Date.now)());
  }

  /**
   * Sends a copy to the mirror deployment; its answer is only recorded, never shown to the client.
   * Only a held body is copied: a large streamed body is never duplicated or held for a mirror
   * (the copy is recorded as 413), so mirroring never slows the live request or grows memory.
   */
  private sendMirror(listener: Listener, req: Exchange, body: RequestBody, requestId: string, pair?: PairTicket): void {
    const target = listener.mirror!.deployment;
    const replica = this.pick(this.options.replicas(listener.route.name, target));
    const started = performance.now();
    this.count(listener, target, true);
    const record = (status: number, answer?: Buffer | BodySummary): void => {
      pair?.mirror(status, performance.now() - started, answer, answer === undefined && (status === 413 || status === 429 || status === 503));
      this.options.record?.({
        time: isoNow(),
        endpoint: listener.route.name,
        request_id: requestId,
        deployment: target,
        mirrored: true,
        status,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
      });
    };
    if (body.kind === 'streamed') return record(413);
    if (!replica) return record(503);
    const settings = listener.route.deployments[target];
    // A slow mirror must never pile up copies without bound: past the replica's share of the
    // deployment's 429 limit the copy is dropped (recorded as 429), as the cloud would refuse it.
    const limit = settings ? 2 * settings.maxConcurrentPerInstance : Infinity;
    if (this.inflightOf(replica) >= limit) return record(429);
    this.adjustLoad(replica, 1);
    const headers = forwardHeaders(req.headers);
    headers['x-request-id'] = requestId;
    if (settings?.replicaSecret !== undefined) headers[REPLICA_SECRET_HEADER] = settings.replicaSecret;
    this.upstreams
      .forward({
      origin: replica.origin,
      path: replica.scoringPath,
      method: req.method,
      headers,
      body: body.length > 0 ? body.bytes : undefined,
      timeoutMs: settings?.requestTimeoutMs ?? this.options.mirrorTimeoutMs ?? 5000,
    })
      .then(async (response) => record(response.status, response.stream ? await summarize(response.stream, pair?.keepBytes) : response.body))
      .catch((error: Error) => record(error instanceof ForwardTimeoutError ? 408 : 500, Buffer.alloc(0)))
      .finally(() => {
        this.adjustLoad(replica, -1);
      });
  }

  /**
   * Diffy's noise sample: the same request once more to another ready replica of the live
   * deployment, its answer kept only in the pair (no metrics, no access log, never to the client).
   */
  private sendNoiseCopy(route: EndpointRoute, deployment: string, live: LiveReplica, req: Exchange, body: RequestBody, requestId: string, pair: PairTicket): void {
    const replica = this.pick(this.options.replicas(route.name, deployment), live);
    const settings = route.deployments[deployment];
    if (!replica || !settings || body.kind === 'streamed') return pair.noise(503, 0, undefined, true);
    const started = performance.now();
    const headers = forwardHeaders(req.headers);
    headers['x-request-id'] = requestId;
    if (settings.replicaSecret !== undefined) headers[REPLICA_SECRET_HEADER] = settings.replicaSecret;
    this.adjustLoad(replica, 1);
    this.upstreams.forward({ origin: replica.origin, path: replica.scoringPath, method: req.method, headers, body: body.length > 0 ? body.bytes : undefined, timeoutMs: settings.requestTimeoutMs })
      .then(async (response) => pair.noise(response.status, performance.now() - started, response.stream ? await summarize(response.stream, pair.keepBytes) : response.body))
      .catch(() => pair.noise(500, performance.now() - started, undefined, true))
      .finally(() => this.adjustLoad(replica, -1));
  }
}

const EMPTY_BODY = Buffer.alloc(0);

/**
 * Reads a mirrored (or noise) copy's streamed answer to its end, keeping its start (up to
 * `keepBytes`, none without a pair), its length and its digest: nobody reads it, so it is never
 * held. The replica stays loaded until then.
 */
async function summarize(stream: AnswerStream, keepBytes = 0): Promise<BodySummary> {
  const tap = new BodyTap(keepBytes, keepBytes > 0);
  await drain(stream, tap);
  return tap.summary();
}

/** Least outstanding requests among ready replicas (but `except`); ties go to the first. */
export function pickReplica(replicas: readonly LiveReplica[], load: (replica: LiveReplica) => number, except?: LiveReplica): LiveReplica | undefined {
  let best: LiveReplica | undefined;
  for (const replica of replicas) {
    if (!replica.ready || replica === except) continue;
    if (!best || load(replica) < load(best)) best = replica;
  }
  return best;
}

const KUBERNETES_STATUS: Record<number, number> = { 408: 504, 424: 502, 429: 503 };

/** What the access log and metrics record for a request whose client left before it was answered (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

/** Why an aad_token endpoint refused, in words (never the token itself). */
const AAD_REFUSALS: Record<AadRejection | 'missing' | 'unverifiable', string> = {
  missing: 'none was given',
  malformed: 'this one is not a JWT',
  signature: "this one's signature does not match oep's token issuer (oep endpoint get-credentials gives a token)",
  expired: 'this one has expired',
  'not-yet-valid': 'this one is not valid yet (nbf)',
  audience: 'this one is for another audience (aud)',
  issuer: "this one's issuer (iss) is not Microsoft Entra ID's",
  tenant: 'this one is from another tenant than aad_tenant (tid)',
  'tenant-signature': "this one's signature does not match the signing keys of the aad_tenant tenant",
  'tenant-keys-unavailable': "the signing keys of the aad_tenant tenant could not be fetched (the daemon's log says why); try again later",
  unverifiable: 'this router cannot verify tokens',
};

function aadRefusal(reason: AadRejection | 'missing' | 'unverifiable'): string {
  return `Unauthorized: a valid Microsoft Entra ID token for https://ml.azure.com is required in the Authorization header (Bearer <token>); ${AAD_REFUSALS[reason]}.`;
}

let isoAt = -1;
let isoText = '';

/** The time as an ISO 8601 string, made once per millisecond (records come thousands a second). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

function formatMegabytes(bytes: number): string {
  const megabytes = bytes / (1024 * 1024);
  return Number.isInteger(megabytes) ? `${megabytes} MB` : `${bytes} bytes`;
}

function statusFor(route: EndpointRoute, managedStatus: number): number {
  return route.kind === 'kubernetes' ? (KUBERNETES_STATUS[managedStatus] ?? managedStatus) : managedStatus;
}

const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function describeError(error: unknown): string {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && CONNECTION_FAILURES.has(code);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function query(url: string | undefined): string {
  const index = url?.indexOf('?') ?? -1;
  return index >= 0 ? url!.slice(index) : '';
}

/**
 * The header lines a replica gets for a request with these headers: the ones the router sets
 * (host, x-request-id, the replica secret, content-length; short values), then each line it
 * forwards (a list, each of its items).
 */
function* replicaHeaderLines(headers: Exchange['headers']): Iterable<[string, string]> {
  for (const name of ['host', 'x-request-id', REPLICA_SECRET_HEADER, 'content-length']) yield [name, ''];
  const forwarded = forwardHeaders(headers);
  for (const name in forwarded) {
    const value = forwarded[name]!;
    if (Array.isArray(value)) for (const item of value) yield [name, item];
    else yield [name, value];
  }
}

function forwardHeaders(headers: Exchange['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'authorization' || name === 'x-request-id' || name === SAMPLE_HEADER || name === REPLICA_SECRET_HEADER) continue;
    setHeader(out, name, value);
  }
  return out;
}

function copyResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  // Own properties only, so a replica's header named `constructor` or `__proto__` is a header like any other.
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-request-id') continue;
    setHeader(out, name, value);
  }
  return out;
}

/** A short reason for ms-azureml-model-error-reason: the model's JSON message, else the HTTP reason. */
function reasonOf(payload: Buffer, status: number): string {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 200);
  } catch {
    // not JSON: fall through to the status text
  }
  return (STATUS_TEXT[status] ?? 'model error');
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  415: 'Unsupported Media Type',
  418: "I'm a teapot",
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};


