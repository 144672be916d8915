import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { BodyTap, HELD_ANSWER_BYTES, tapped, type AnswerStream } from './answer.js';
import { BodyTooLargeError, ClientAbortedError, HELD_BODY_BYTES, MAX_BODY_BYTES, type BodyLimits, type RequestBody } from './body.js';
import { ConnectionBudget, ownBudget, type BudgetCounts, type ConnectionLimits } from './connection-budget.js';
import { isOutOfDescriptors } from '../model/descriptors.js';
import { LeanExchange, NodeExchange, type Exchange } from './exchange.js';
import { ForwardTimeoutError, type ForwardResponse } from './forward.js';
import { Front, LEAN_BODY_BYTES } from './front.js';
import { replicaRefusesHeaders } from './http1.js';
import { copyResponseHeaders, forwardedHeaders, headerValue, replicaHeaderLines, withRouterHeaders } from './headers.js';
import { Copies, MirrorRule } from './mirror.js';
import { isoNow } from './record-time.js';
import { ReplicaLoad } from './replica-load.js';
import type { DeploymentRoute, EndpointRoute, LiveReplica } from './route.js';
import { Upstreams } from './upstream.js';
import { BAD_GATEWAY_STATUS, badAnswerMessage, isBadAnswer, MAX_RESENDS, NO_READY_REPLICA_STATUS, NoReadyReplicaError, ReplicaLostError } from './replica-loss.js';
import { deploymentRequestLimit, WeightedPicker } from '../model/traffic.js';
import { KeyMatcher, VerifiedTokens, verifyToken, type AadRejection, type AadVerdict, type AadVerifier } from './auth.js';
import { bearerCredential } from '../model/credentials.js';
import type { RouteRecord } from '../model/route-record.js';
import { PayloadRecorder } from './payload-logging.js';
import type { PairRecorder, PairTicket } from './pairs.js';
import type { PayloadLogging } from '../model/data-collection.js';
import { REPLICA_SECRET_HEADER, SAMPLE_HEADER } from '../model/server-contract.js';

export type { DeploymentRoute, EndpointRoute, LiveReplica } from './route.js';
export { REPLICA_SECRET_HEADER } from './headers.js';

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

/** An early answer leaves up to this much unread body to drain on a kept-alive connection; more closes it. */
const DRAIN_AT_MOST_BYTES = 64 * 1024;

export const NO_DEPLOYMENT_MESSAGE =
  'No valid deployments to route to. Please check that the endpoint has at least one deployment with positive weight values or use a deployment specific header to route.';

/** How long an idle client connection is kept open (Node's server.keepAliveTimeout, as set before). */
const KEEP_ALIVE_MS = 30_000;

interface Listener {
  route: EndpointRoute;
  front: Front;
  picker: WeightedPicker;
  keys: KeyMatcher;
  mirror?: MirrorRule;
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
  private readonly load = new ReplicaLoad();
  private readonly upstreams: Upstreams;
  /** Mirrored and noise copies of live requests (mirror.ts). */
  private readonly copies: Copies;
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
    this.copies = new Copies(options, this.load, this.upstreams);
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
    return this.load.of(replica);
  }

  private readyReplicaOf(endpoint: string, deployment: string): LiveReplica | undefined {
    return this.load.pick(this.options.replicas(endpoint, deployment));
  }

  /**
   * A ready replica of the deployment that has not failed this request yet; when there is none,
   * waits up to `waitMs` for one (a replica being restarted), as a request that finds none does.
   */
  private async untriedReplica(endpoint: string, deployment: string, tried: ReadonlySet<LiveReplica>, waitMs: number): Promise<{ replica: LiveReplica; waited: boolean } | undefined> {
    const untried = (): LiveReplica | undefined => this.load.pick(this.options.replicas(endpoint, deployment).filter((replica) => !tried.has(replica)));
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
    listener.mirror = MirrorRule.of(listener.route.mirror);
  }

  /**
   * One request, step by step as the cloud's front door takes it: admitted (head, path, auth, a
   * deployment under its limit), given a ready replica, its body read, forwarded (to another
   * replica when its own is lost), answered. A step that refuses answers the client itself.
   * Synchronous steps stay synchronous: a request of the lean path awaits only its replica's answer.
   */
  private async handle(listener: Listener, req: Exchange, expectsContinue: boolean): Promise<void> {
    const call = new Call(listener, req, expectsContinue);
    const admitted = this.admit(call);
    const settings = admitted instanceof Promise ? await admitted : admitted;
    if (!settings) return;
    const deployment = call.deployment!;
    // Counted from here, before anything is awaited: requests waiting for a replica count towards
    // the 429 limit too, and no count is written from a stale read.
    listener.inflight.set(deployment, (listener.inflight.get(deployment) ?? 0) + 1);
    try {
      const replica = this.readyReplicaOf(listener.route.name, deployment) ?? (await this.awaitReplica(call, settings));
      if (!replica) return this.fail(call, NO_READY_REPLICA_STATUS, new NoReadyReplicaError(deployment, undefined).message, { 'azureml-model-deployment': deployment });
      const read = this.readBody(call);
      const body = read instanceof Promise ? await read : read;
      if (!body) return;
      this.sampleForCollector(call, settings, body);
      this.sendCopies(call, replica, body);
      const answer = await this.forwardWithRetry(call, settings, replica, body);
      const answered = this.answer(call, answer);
      if (answered) await answered;
    } catch (error) {
      this.answerFailure(call, settings, error);
    } finally {
      listener.inflight.set(deployment, (listener.inflight.get(deployment) ?? 1) - 1);
    }
  }

  // --- Admit ----------------------------------------------------------------------------------

  /**
   * Admits a request, cheapest refusal first: a head the replica's server would refuse, an
   * unknown path, no valid credentials, a body declared too large, no such deployment, the
   * deployment at its limit. Returns the chosen deployment's settings (its name is on the call),
   * or undefined once the refusal is answered. Only a new aad_token token makes it wait.
   */
  private admit(call: Call): DeploymentRoute | undefined | Promise<DeploymentRoute | undefined> {
    if (!this.admitHead(call)) return undefined;
    const authorized = this.authenticate(call);
    if (authorized instanceof Promise) return authorized.then((ok) => (ok ? this.admitToDeployment(call) : undefined));
    return authorized ? this.admitToDeployment(call) : undefined;
  }

  /** Heads a server refuses, refused first, as Node's own 400 and 431 are; then paths other than the two a deployment serves. */
  private admitHead(call: Call): boolean {
    const req = call.req;
    if (req.hostLines() > 1) return this.refuse(call, 400, 'Bad request: the request has more than one Host header (RFC 9112 section 3.2).');
    // Header lines the replica's server refuses (431): refused here, rather than forwarded for a 424 carrying its 431.
    // The headers it would forward, made once: the replica's request is built from them too.
    call.forwarded = forwardedHeaders(req.headers);
    const refusedHeaders = replicaRefusesHeaders(replicaHeaderLines(call.forwarded));
    if (refusedHeaders !== undefined) return this.refuse(call, 431, `Request header fields too large: ${refusedHeaders}.`);
    if (call.path !== '/score' && call.path !== '/swagger.json') return this.refuse(call, 404, 'The requested URL was not found on the server.');
    return true;
  }

  /** The endpoint's auth_mode: keys, oep's aml tokens, Entra ID tokens, or none (--local). */
  private authenticate(call: Call): boolean | Promise<boolean> {
    const { route } = call.listener;
    // --local: Azure's local endpoints take every request.
    if (route.authMode === 'none') return true;
    const header = headerValue(call.req.headers.authorization);
    if (route.authMode === 'aad_token') {
      // A token verified before answers at once; only a new one waits for its signature check.
      const checked = this.checkAadToken(header);
      return checked instanceof Promise ? checked.then((verdict) => this.aadAdmits(call, verdict)) : this.aadAdmits(call, checked);
    }
    if (this.authorized(call.listener, header)) return true;
    return this.refuse(call, 401, 'Unauthorized: a valid key or token is required in the Authorization header (Bearer <key>).', { 'www-authenticate': 'Bearer' });
  }

  private aadAdmits(call: Call, verdict: AadVerdict | { ok: false; reason: 'missing' | 'unverifiable' }): boolean {
    return verdict.ok || this.refuse(call, 401, aadRefusal(verdict.reason), { 'www-authenticate': 'Bearer' });
  }

  /**
   * The body's declared length, then the deployment (the azureml-model-deployment header, else
   * the traffic split) and its limit (deploymentRequestLimit, beside the traffic rules). Decided
   * before the body is read: a refused request costs no memory and no upload.
   */
  private admitToDeployment(call: Call): DeploymentRoute | undefined {
    const maxBodyBytes = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    // Refused on its declared length, before a byte of it is read.
    if ((call.req.declaredLength() ?? 0) > maxBodyBytes) return void this.tooLarge(call);
    const settings = this.chooseDeployment(call);
    if (!settings) return undefined;
    const deployment = call.deployment!;
    const limit = deploymentRequestLimit(settings);
    const current = call.listener.inflight.get(deployment) ?? 0;
    if (current < limit) return settings;
    const message = `Too many requests: deployment ${deployment} already has ${current} requests in flight (limit ${limit} = 2 x max_concurrent_requests_per_instance x instance_count).`;
    return void this.fail(call, statusFor(call.listener.route, 429), message, { 'azureml-model-deployment': deployment });
  }

  /** The deployment named by the azureml-model-deployment header, else the traffic split's next; undefined once a 404 is answered. */
  private chooseDeployment(call: Call): DeploymentRoute | undefined {
    const { route, picker } = call.listener;
    const pinned = headerValue(call.req.headers['azureml-model-deployment']);
    if (pinned !== undefined) {
      // Own keys only: a pin such as __proto__ or toString is an unknown name like any other.
      if (!Object.hasOwn(route.deployments, pinned)) {
        const names = Object.keys(route.deployments).sort().join(', ') || 'none';
        return void this.fail(call, 404, `Deployment "${pinned}" does not exist in endpoint ${route.name}. Deployments: ${names}.`);
      }
      call.pinned = true;
      call.deployment = pinned;
    } else {
      call.deployment = picker.next() ?? null;
      if (call.deployment === null) return void this.fail(call, 404, NO_DEPLOYMENT_MESSAGE);
    }
    const settings = route.deployments[call.deployment];
    if (!settings) this.fail(call, 404, NO_DEPLOYMENT_MESSAGE);
    return settings;
  }

  // --- A replica, the body, the copies --------------------------------------------------------

  /** Replicas still starting or being adopted (say, the daemon has just started): waits for one, up to request_timeout_ms. */
  private async awaitReplica(call: Call, settings: DeploymentRoute): Promise<LiveReplica | undefined> {
    const endpoint = call.listener.route.name;
    if (!(await this.options.waitForReplica?.(endpoint, call.deployment!, settings.requestTimeoutMs))) return undefined;
    return this.readyReplicaOf(endpoint, call.deployment!);
  }

  /** The request's body, once the client is told to send it; undefined once answered instead (too large, or the client left). */
  private readBody(call: Call): RequestBody | undefined | Promise<RequestBody | undefined> {
    if (!call.continued) {
      call.req.sendContinue();
      call.continued = true;
    }
    const limits: BodyLimits = { maxBytes: this.options.maxBodyBytes ?? MAX_BODY_BYTES, heldBytes: this.options.heldBodyBytes ?? HELD_BODY_BYTES };
    try {
      const body = call.req.readBody(limits);
      return body instanceof Promise ? body.catch((error: unknown) => this.bodyUnread(call, error)) : body;
    } catch (error) {
      return this.bodyUnread(call, error);
    }
  }

  private bodyUnread(call: Call, error: unknown): undefined {
    if (error instanceof BodyTooLargeError) this.tooLarge(call);
    // The client left while sending its body: nobody to answer.
    else this.record(call, CLIENT_CLOSED_REQUEST);
    return undefined;
  }

  /** data_collector's sample: a sampled scoring request is recorded now (a streamed one once read), its answer when it goes. */
  private sampleForCollector(call: Call, settings: DeploymentRoute, body: RequestBody): void {
    // Payload logging covers scoring requests only (not /swagger.json), as Azure's does.
    if (!settings.dataCollector || call.path !== '/score') return;
    const payloads = (this.payloads ??= new PayloadRecorder({ log: this.options.log }));
    call.sampled = payloads.sample(settings.dataCollector);
    if (!call.sampled) return;
    const logging = (call.logging = settings.dataCollector);
    if (body.kind === 'held') {
      payloads.request(logging, call.req, body.bytes, call.requestId);
      return;
    }
    // Recorded once read, as its first bytes and its whole length (contentrange).
    body.keepStart(this.options.heldBodyBytes ?? HELD_BODY_BYTES);
    call.streamedRequest = () => {
      call.streamedRequest = undefined;
      if (body.complete) payloads.request(logging, call.req, body.start(), call.requestId, body.receivedBytes);
    };
  }

  /** mirror_traffic's copy of an unpinned request (and the noise copy of a recorded pair): mirror.ts. */
  private sendCopies(call: Call, replica: LiveReplica, body: RequestBody): void {
    const rule = call.listener.mirror;
    if (call.pinned || !rule || !rule.copies(call.deployment!)) return;
    this.count(call.listener, rule.deployment, true);
    call.pair = this.copies.send(rule.deployment, { route: call.listener.route, deployment: call.deployment!, replica, req: call.req, body, requestId: call.requestId });
  }

  // --- Forward with retry ---------------------------------------------------------------------

  /** Sends the request to its replica, and elsewhere when that replica refused or dropped it (sendElsewhere). */
  private async forwardWithRetry(call: Call, settings: DeploymentRoute, replica: LiveReplica, body: RequestBody): Promise<ForwardResponse> {
    const headers = withRouterHeaders(call.forwarded ?? forwardedHeaders(call.req.headers), call.requestId, settings.replicaSecret);
    if (call.sampled !== undefined && settings.dataCollector!.tellScript) headers[SAMPLE_HEADER] = call.sampled ? '1' : '0';
    if (body.kind === 'streamed' && body.length !== undefined) headers['content-length'] = String(body.length);
    const sending: Sending = { call, settings, body, headers, deadline: settings.debugging ? undefined : Date.now() + settings.requestTimeoutMs };
    try {
      return await this.send(sending, replica);
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      return this.sendElsewhere(sending, replica, error);
    }
  }

  /** One attempt; the replica stays loaded until its answer has gone to the client. */
  private async send(sending: Sending, target: LiveReplica): Promise<ForwardResponse> {
    const { call, body, deadline } = sending;
    const req = call.req;
    const payload: Buffer | Readable | undefined = body.kind === 'streamed' ? body.open() : body.length > 0 || req.method === 'POST' ? body.bytes : undefined;
    this.load.add(target, 1);
    let streaming = false;
    try {
      const answer = await this.upstreams.forward({
        origin: target.origin,
        path: (call.path === '/score' ? target.scoringPath : call.path) + query(req.url),
        method: req.method,
        headers: sending.headers,
        body: payload,
        timeoutMs: deadline === undefined ? undefined : Math.max(1, deadline - Date.now()),
      });
      if (answer.stream) {
        // The replica is still sending (at the client's pace): it stays loaded until the end.
        streaming = true;
        void answer.stream.done.then(() => this.load.add(target, -1));
      }
      return answer;
    } finally {
      if (!streaming) this.load.add(target, -1);
    }
  }

  /**
   * The replica died under us (connection refused or dropped): it leaves rotation until its
   * probe passes again, and the request goes to another ready replica, or waits (up to
   * request_timeout_ms, as a request that finds no ready replica does) for one being
   * restarted, as long as its whole body can be sent again (held, or nothing of it sent
   * yet). Never to a replica that already failed it. As for a first wait, the model's own
   * time on the replica it waited for is counted from when it gets the request.
   */
  private async sendElsewhere(sending: Sending, failed: LiveReplica, error: unknown): Promise<ForwardResponse> {
    const { call, settings, body } = sending;
    const endpoint = call.listener.route.name;
    const target = call.deployment!;
    const tried = new Set<LiveReplica>();
    let lost = failed;
    let cause = error;
    for (let resend = 0; resend < MAX_RESENDS; resend++) {
      tried.add(lost);
      this.options.unreachable?.(endpoint, target, lost);
      if (!(body.kind === 'held' || body.replayable)) throw new ReplicaLostError(target);
      const next = await this.untriedReplica(endpoint, target, tried, settings.requestTimeoutMs);
      if (!next) throw new NoReadyReplicaError(target, settings.requestTimeoutMs);
      if (next.waited && sending.deadline !== undefined) sending.deadline = Date.now() + settings.requestTimeoutMs;
      try {
        return await this.send(sending, next.replica);
      } catch (again) {
        if (!isConnectionFailure(again)) throw again;
        lost = next.replica;
        cause = again;
      }
    }
    this.options.log?.(`endpoint ${endpoint}: request ${call.requestId} to deployment ${target} was refused by ${MAX_RESENDS + 1} replicas; the last said ${describeError(cause)}`);
    throw new NoReadyReplicaError(target, settings.requestTimeoutMs);
  }

  // --- Answer ---------------------------------------------------------------------------------

  /**
   * The replica's answer as the client gets it: its headers (less hop-by-hop ones), the
   * deployment's name, and a scoring error as 424 with the model's status and reason in
   * ms-azureml-model-error-*. Resolves once a streamed answer has gone.
   */
  private answer(call: Call, answer: ForwardResponse): Promise<void> | undefined {
    const { status: upstreamStatus, body: payload, stream } = answer;
    const headers = copyResponseHeaders(answer.headers);
    headers['azureml-model-deployment'] = call.deployment!;
    const clientRequestId = headerValue(call.req.headers['x-ms-client-request-id']);
    if (clientRequestId !== undefined) headers['x-ms-client-request-id'] = clientRequestId;
    // /swagger.json answers as the model does; only scoring errors become 424.
    let status = upstreamStatus;
    if (!((upstreamStatus >= 200 && upstreamStatus < 300) || call.path !== '/score')) {
      headers['ms-azureml-model-error-statuscode'] = String(upstreamStatus);
      // A streamed error answer is not read before its head goes: the reason is the status's.
      headers['ms-azureml-model-error-reason'] = stream ? (STATUS_TEXT[upstreamStatus] ?? 'model error') : reasonOf(payload, upstreamStatus);
      status = statusFor(call.listener.route, 424);
    }
    if (stream) return this.finishStreamed(call, status, stream, headers);
    this.finish(call, status, payload, headers);
    return undefined;
  }

  /** What a request that could not be forwarded, or whose answer failed, is answered. */
  private answerFailure(call: Call, settings: DeploymentRoute, error: unknown): void {
    const { route } = call.listener;
    const deployment = call.deployment!;
    const named = { 'azureml-model-deployment': deployment };
    if (error instanceof ForwardTimeoutError) {
      this.fail(call, statusFor(route, 408), `Request timed out after ${settings.requestTimeoutMs} ms (request_settings.request_timeout_ms of deployment ${deployment}).`, named);
    } else if (error instanceof BodyTooLargeError) {
      this.tooLarge(call);
    } else if (error instanceof ClientAbortedError) {
      this.record(call, CLIENT_CLOSED_REQUEST);
    } else if (error instanceof NoReadyReplicaError) {
      this.fail(call, NO_READY_REPLICA_STATUS, error.message, named);
    } else if (error instanceof ReplicaLostError) {
      this.fail(call, BAD_GATEWAY_STATUS, error.message, named);
    } else if (isBadAnswer(error)) {
      // Not a dead replica: it answered, wrongly. It stays in rotation.
      this.logFailure(call, error);
      this.fail(call, BAD_GATEWAY_STATUS, badAnswerMessage(deployment), named);
    } else if (isOutOfDescriptors(error)) {
      // The daemon itself, not the replica: nothing is taken out of rotation.
      this.logFailure(call, error);
      this.fail(call, 503, `oep's router is out of file descriptors right now and could not reach deployment ${deployment}; try again.`, named);
    } else {
      this.logFailure(call, error);
      this.fail(call, 500, `Internal error: the request could not reach deployment ${deployment}.`, named);
    }
  }

  private logFailure(call: Call, error: unknown): void {
    this.options.log?.(`endpoint ${call.listener.route.name}: request ${call.requestId} to deployment ${call.deployment} failed: ${describeError(error)}`);
  }

  /** Answers a request held whole, then records it (access log, metrics, the pair, the data collector). */
  private finish(call: Call, status: number, body: string | Buffer, headers: Record<string, string | string[]> = {}): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const head: Record<string, string | string[] | number> = { 'x-request-id': call.requestId, 'content-length': bytes.length, ...headers };
    call.req.respond({ status, reason: status === 413 ? 'Request Entity Too Large' : undefined, headers: head, body: bytes }, call.continued ? DRAIN_AT_MOST_BYTES : 0);
    call.streamedRequest?.();
    // The model's own status (the client sees 424 for a model error), as the mirror's is recorded.
    call.pair?.live(Number(headers['ms-azureml-model-error-statuscode'] ?? status), performance.now() - call.started, body);
    if (call.logging) this.payloads!.response(call.logging, bytes, headerValue(headers['content-type']), call.requestId);
    this.record(call, status);
  }

  /**
   * An answer too large to hold: the head now, the body at the pace the client reads it. The
   * pair and the data collector get what was kept of it (its start, length and digest) once it
   * ended; the access log records it then, so its latency covers the whole transfer.
   */
  private async finishStreamed(call: Call, status: number, stream: AnswerStream, headers: Record<string, string | string[]>): Promise<void> {
    const { pair, logging } = call;
    const head: Record<string, string | string[] | number> = { 'x-request-id': call.requestId, ...(stream.length !== undefined && { 'content-length': stream.length }), ...headers };
    const pairTap = pair ? new BodyTap(pair.keepBytes, true) : undefined;
    const logTap = logging?.response ? new BodyTap(this.options.heldBodyBytes ?? HELD_BODY_BYTES, false) : undefined;
    const body =
      pairTap || logTap
        ? tapped(stream, (bytes) => {
            pairTap?.add(bytes);
            logTap?.add(bytes);
          })
        : stream;
    call.req.respond({ status, headers: head, body: EMPTY_BODY, stream: body }, call.continued ? DRAIN_AT_MOST_BYTES : 0);
    call.streamedRequest?.();
    const outcome = await stream.done;
    if (outcome === 'failed') this.options.log?.(`endpoint ${call.listener.route.name}: the answer to request ${call.requestId} from deployment ${call.deployment} ended early (the replica failed or stalled); the client's connection was closed`);
    if (pairTap) pair!.live(Number(headers['ms-azureml-model-error-statuscode'] ?? status), performance.now() - call.started, pairTap.summary());
    if (logTap) {
      const kept = logTap.summary();
      this.payloads!.response(logging!, kept.start, headerValue(headers['content-type']), call.requestId, kept.bytes);
    }
    this.record(call, status);
  }

  /** Answers with oep's own JSON message (a refusal or a failure). */
  private fail(call: Call, status: number, message: string, headers: Record<string, string> = {}): void {
    this.finish(call, status, JSON.stringify({ message }), { 'content-type': 'application/json', ...headers });
  }

  /** fail() for the admission steps, which go on only when they return true. */
  private refuse(call: Call, status: number, message: string, headers?: Record<string, string>): false {
    this.fail(call, status, message, headers);
    return false;
  }

  private tooLarge(call: Call): void {
    const maxBodyBytes = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    this.fail(call, 413, `Request body too large: the limit is ${maxBodyBytes} bytes (${formatMegabytes(maxBodyBytes)}, as Azure's inference images).`);
  }

  /** The access log's and metrics' record of a live request, once it is answered (or its client left). */
  private record(call: Call, status: number): void {
    if (call.deployment !== null) this.count(call.listener, call.deployment, false);
    this.options.record?.({
      time: isoNow(),
      endpoint: call.listener.route.name,
      request_id: call.requestId,
      deployment: call.deployment,
      mirrored: false,
      status,
      latency_ms: Math.round((performance.now() - call.started) * 100) / 100,
    });
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
}

/**
 * One live request on its way through Router.handle's steps: what they decide (the deployment,
 * the data collector's sample, the mirror's pair) and what its answer needs (its id, when it
 * started, whether the client was asked for its body).
 */
class Call {
  readonly started = performance.now();
  readonly requestId = randomUUID();
  /** The URL without its query. */
  readonly path: string;
  /** Whether the client was told to send its body (Expect: 100-continue). */
  continued: boolean;
  deployment: string | null = null;
  /** Named by the azureml-model-deployment header: never mirrored. */
  pinned = false;
  /** Whether data_collector sampled the request; undefined without a collector. */
  sampled: boolean | undefined = undefined;
  /** Set for a request the data collector records. */
  logging: PayloadLogging | undefined = undefined;
  /** Set only for a mirrored request whose pair is recorded. */
  pair: PairTicket | undefined = undefined;
  /** A large body's request event is written once the body has been read (see payloads.request). */
  streamedRequest: (() => void) | undefined = undefined;
  /** The client's headers the replica gets (forwardedHeaders), made when the head is admitted. */
  forwarded: Record<string, string | string[]> | undefined = undefined;

  constructor(
    readonly listener: Listener,
    readonly req: Exchange,
    expectsContinue: boolean,
  ) {
    this.continued = !expectsContinue;
    const queryAt = req.url.indexOf('?');
    this.path = queryAt < 0 ? req.url : req.url.slice(0, queryAt);
  }
}

/** A request being forwarded: the same headers and body to each replica it is sent to, against one deadline. */
interface Sending {
  call: Call;
  settings: DeploymentRoute;
  body: RequestBody;
  headers: Record<string, string | string[]>;
  /** When request_timeout_ms runs out (undefined under a debugger); moved on once the request waited for a replica. */
  deadline: number | undefined;
}

const EMPTY_BODY = Buffer.alloc(0);

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

function query(url: string | undefined): string {
  const index = url?.indexOf('?') ?? -1;
  return index >= 0 ? url!.slice(index) : '';
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

