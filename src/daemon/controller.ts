import { join } from 'node:path';
import { OepError } from '../errors.js';
import { checkTrafficRules, dropZeroTraffic, type TrafficMap } from '../model/traffic.js';
import { parseRuntimeChoice } from '../model/runtime-kind.js';
import { generateKey, generateSecret, issueToken } from '../router/auth.js';
import type { Router } from '../router/router.js';
import type { DeploymentSpec } from '../spec/types.js';
import { deploymentLogDir, storageInitializerLog, type OepPaths } from '../state/paths.js';
import { endpointCertificate } from '../tls/local-ca.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentRecord, EndpointRecord, OepState, RuntimeKind } from '../state/types.js';
import type { Reconciler } from '../supervisor/reconciler.js';
import type { EmitProgress } from '../runtimes/types.js';
import { findFreePort } from '../runtimes/free-port.js';
import { followLog } from '../telemetry/log-follow.js';
import { readLogTail } from '../telemetry/log-tail.js';
import { exportSourceOf } from '../export/kubernetes.js';
import type { BakeRequest, BakeResult } from '../runtimes/docker/bake.js';
import type { DeploymentApplyParams } from './api.js';
import { checkDebugRequest, debugStartsEvents } from './debug-request.js';
import { comparePairs } from '../model/compare.js';
import { secondLocalDeployment } from '../model/local-endpoint.js';
import { DEFAULT_OPEN_DEBUG_IDLE_MS, openDebugWarning, runtimeOfUpdate } from '../model/debug.js';
import { describeRecordedPython, recordedPythonOf } from '../model/process-interpreter.js';
import type { DebugGate } from './debug-gate.js';
import type { KeeperLink } from './keeper-link.js';
import { makeEndpointIdentity, sameIdentity, type EndpointIdentity } from '../model/identity.js';
import { identityIds } from '../state/secrets.js';
import type { PairRecorder } from '../router/pairs.js';
import { developerSubject } from '../identity/developer.js';
import { ML_RESOURCE, type LocalIssuer } from '../identity/issuer.js';
import { homeUuid } from '../state/secrets.js';
import type { CallContext, Handlers } from './server.js';
import { deploymentView, endpointListItem, endpointView, routeOf, trafficView, type DeploymentLive } from './views.js';
import { createDeleter } from './deleter.js';
import { isBeingDeleted } from './restore-plan.js';
import { pauseForTest } from './test-pause.js';

export const MAX_DEPLOYMENTS_PER_ENDPOINT = 20;

export interface RuntimeChoices {
  gpu: boolean;
  pull: boolean;
}

export interface ControllerDeps {
  paths: OepPaths;
  store: StateStore;
  /** The one owner of replica lifecycle: the controller changes what is wanted, it makes it so. */
  reconciler: Pick<Reconciler, 'apply' | 'remove' | 'replicas' | 'logFile' | 'problem' | 'problems' | 'replicaCount'>;
  router: Router;
  /** Which runtime `auto` (or no --runtime) means on this machine; may emit a notice. */
  defaultRuntime: (emit: EmitProgress) => Promise<RuntimeKind>;
  /** Throws when a runtime cannot run anything right now (e.g. no Docker engine answers). */
  checkRuntime?: (kind: RuntimeKind) => Promise<void>;
  /** Hands a command's runtime choices (--local-enable-gpu, --pull) to the runtime before a roll-out. */
  configureRuntime?: (kind: RuntimeKind, endpoint: string, deployment: string, choices: RuntimeChoices, emit: EmitProgress) => Promise<void>;
  /** Removes what a runtime made for a deleted deployment beyond its replicas (with purge: images). */
  releaseRuntime?: (kind: RuntimeKind, endpoint: string, deployment: string, options: { purge: boolean }) => Promise<void>;
  now?: () => number;
  version: string;
  metricsUrl?: () => string | undefined;
  /** Closes an endpoint's access log before its log folder is removed. */
  closeEndpointLogs?: (endpoint: string) => void;
  /** The recorded pairs of mirrored requests (`traffic.compare`). */
  pairs?: Pick<PairRecorder, 'pairs' | 'stats' | 'forget' | 'ringSize'>;
  /** The dashboard's URL with its token, once it listens. */
  dashboardUrl?: (endpoint?: string) => string | undefined;
  /** Builds a deployment's self-contained image (`oep deployment build`). */
  buildImage?: (request: BakeRequest) => Promise<BakeResult>;
  /** The home's token issuer: `get-credentials` of an aad_token endpoint gets the developer's token from it. */
  issuer?: Pick<LocalIssuer, 'issue'>;
  /** Whether an endpoint created without --tls speaks HTTPS (the `tls` setting); default no. */
  defaultTls?: () => Promise<boolean>;
  /**
   * The debug gate (src/daemon/debug-gate.ts): listens where debuggers attach to deployments run
   * with --debug; made to match the state after every change. `peersKnown`: whether it can tell
   * which user connects (else every debug port is open to any local user).
   */
  debugGate?: Pick<DebugGate, 'sync' | 'peersKnown' | 'whenOpen' | 'checked'>;
  /** How long an open debug port may go without a debugger before the deployment goes back to normal. */
  debugIdleMs?: number;
  /** The one notice line of a deployment create/update about its managed identity's tokens (src/identity/managed-identity.ts). */
  identityNotice?: (endpoint: string, deployment: string, emit: EmitProgress) => Promise<void>;
  shutdown: () => void;
  /** The keeper this daemon runs under (src/daemon/keeper-link.ts), if any. */
  keeper?: Pick<KeeperLink, 'info' | 'connected' | 'restart'>;
  /** This daemon's entry file (`daemon status`). */
  entry?: string;
  /** The daemon's log, for the test hook's pauses (src/daemon/test-pause.ts). */
  log?: (line: string) => void;
}

/** The daemon's methods: each checks its rules against the current state, then changes it. */
export function createHandlers(deps: ControllerDeps): Handlers {
  const { store, reconciler, router } = deps;
  const now = deps.now ?? Date.now;

  const syncRoute = async (name: string): Promise<Map<string, string> | undefined> => {
    const record = store.snapshot().endpoints[name];
    // An endpoint being deleted has no listener: it serves no request (after a restart neither).
    if (record && !isBeingDeleted(record)) await router.upsert(routeOf(record));
    else await router.remove(name);
    // The debug gate follows the state too (deployments debugged, their ports; none once deleted).
    return deps.debugGate?.sync(store.snapshot());
  };
  const pause = (point: string): Promise<void> => pauseForTest(deps.paths.home, point, deps.log ?? (() => undefined));
  const deleter = createDeleter({
    paths: deps.paths,
    store,
    reconciler,
    syncRoute,
    releaseRuntime: deps.releaseRuntime,
    closeEndpointLogs: deps.closeEndpointLogs,
    pairs: deps.pairs,
    pause,
  });
  const debugOptions = { peersKnown: deps.debugGate?.peersKnown ?? true, idleMs: deps.debugIdleMs ?? DEFAULT_OPEN_DEBUG_IDLE_MS };

  return {
    async status() {
      const state = store.snapshot();
      return {
        pid: process.pid,
        version: deps.version,
        home: deps.paths.home,
        socket: deps.paths.socket,
        endpoints: Object.keys(state.endpoints).length,
        metrics_url: deps.metricsUrl?.() ?? null,
        problems: [...Object.values(router.problems()), ...reconciler.problems()],
        entry: deps.entry ?? '',
        keeper: deps.keeper ? { ...(deps.keeper.info() ?? { pid: 0, restarts: 0 }), connected: deps.keeper.connected } : null,
      };
    },

    async shutdown() {
      setImmediate(deps.shutdown);
      return { stopping: true };
    },

    async restart(params) {
      return { restarting: deps.keeper?.restart(params.entry) ?? false, pid: process.pid };
    },

    async 'endpoint.list'() {
      const state = store.snapshot();
      return Object.keys(state.endpoints)
        .sort()
        .map((name) => endpointListItem(state.endpoints[name]!));
    },

    async 'endpoint.show'(params) {
      return endpointView(requireEndpoint(store.snapshot(), params.name));
    },

    async 'endpoint.traffic'(params) {
      const name = params.name;
      return trafficView(requireEndpoint(store.snapshot(), name), {
        stats: router.stats(name),
        replicas: (deployment) => reconciler.replicas(name, deployment),
        replicaCount: (deployment) => reconciler.replicaCount(name, deployment),
        listenProblem: router.problem(name),
        deploymentProblem: (deployment) => reconciler.problem(name, deployment),
      });
    },

    async 'endpoint.spec'(params) {
      return requireEndpoint(store.snapshot(), params.name).spec;
    },

    async 'endpoint.create'(params) {
      const spec = params.spec;
      const tls = params.tls ?? (await deps.defaultTls?.()) ?? false;
      const port = await findFreePort();
      const created = await store.mutate((state) => {
        const existing = state.endpoints[spec.name];
        if (existing) {
          refuseWhileDeleting(existing, undefined, 'created again until its delete has finished');
          throw new OepError('OEP_ERR_ENDPOINT_EXISTS', `Online endpoint ${spec.name} already exists.`, {
            hint: `Use "oep endpoint update -n ${spec.name}" to change it, or delete it first.`,
          });
        }
        const named = [...Object.keys(spec.traffic), ...Object.keys(spec.mirror_traffic)];
        if (named.length > 0) {
          throw new OepError('OEP_ERR_TRAFFIC_INVALID', `Endpoint ${spec.name} has no deployments yet, so its traffic cannot name ${named.join(', ')}.`, {
            hint: 'Create the endpoint without traffic, create its deployments, then set traffic with "oep endpoint update --traffic".',
          });
        }
        const stamp = new Date(now()).toISOString();
        const record: EndpointRecord = {
          spec: { ...spec, traffic: {}, mirror_traffic: {} },
          port,
          ...(tls && { tls: true }),
          ...(params.local === true && { local: true }),
          keys: { primary: generateKey(), secondary: generateKey() },
          token_secret: generateSecret(),
          identity: makeEndpointIdentity(spec.identity, identityIds(deps.paths.home)),
          provisioning_state: 'Succeeded',
          created_at: stamp,
          updated_at: stamp,
          deployments: {},
        };
        state.endpoints[spec.name] = record;
        return record;
      });
      try {
        await router.upsert(routeOf(created));
      } catch (error) {
        await store.mutate((state) => void delete state.endpoints[spec.name]);
        throw error;
      }
      return endpointView(created);
    },

    async 'endpoint.update'(params) {
      const name = params.name;
      // --tls on: the certificate first, so a CA that cannot be used changes nothing.
      const existing = store.snapshot().endpoints[name];
      if (existing) refuseWhileDeleting(existing, undefined, 'updated');
      if (params.tls === true && existing) endpointCertificate(deps.paths.home, name);
      const updated = await store.mutate((state) => {
        const record = requireEndpoint(state, name);
        refuseWhileDeleting(record, undefined, 'updated');
        const spec = params.spec ?? record.spec;
        if (params.spec && (spec.compute ?? null) !== (record.spec.compute ?? null)) {
          // An endpoint's compute (managed vs a kubernetes cluster) is fixed in Azure too.
          const describe = (compute: string | undefined): string => (compute ? `compute ${compute}` : 'no compute (managed)');
          throw new OepError('OEP_ERR_SPEC_INVALID', `compute of endpoint ${name} cannot change from ${describe(record.spec.compute)} to ${describe(spec.compute)}.`, {
            hint: 'Delete and re-create the endpoint to move it to another compute. Nothing was changed.',
          });
        }
        if (params.spec && !sameIdentity(record.identity, spec.identity)) {
          // Azure fixes an endpoint's identity at create as well.
          throw new OepError('OEP_ERR_SPEC_INVALID', `identity of endpoint ${name} cannot change after it is created (it is ${describeIdentity(record.identity)}).`, {
            hint: 'Keep identity as it was in the YAML, or delete and re-create the endpoint to give it other identities. Nothing was changed.',
          });
        }
        if (spec.auth_mode !== record.spec.auth_mode && params.spec) {
          // Azure does not allow changing auth_mode on update either.
          throw new OepError('OEP_ERR_SPEC_INVALID', `auth_mode of endpoint ${name} cannot change from ${record.spec.auth_mode} to ${spec.auth_mode}.`, {
            hint: 'Delete and re-create the endpoint to change its auth mode.',
          });
        }
        // A file that does not mention traffic leaves the current traffic alone (as az does).
        const fileTraffic = params.keepTraffic === true ? record.spec.traffic : spec.traffic;
        const fileMirror = params.keepMirror === true ? record.spec.mirror_traffic : spec.mirror_traffic;
        const traffic = dropZeroTraffic(params.traffic ?? fileTraffic);
        const mirror = dropZeroTraffic(params.mirror ?? fileMirror);
        assertTraffic(traffic, mirror, Object.keys(record.deployments), spec.kind === 'kubernetes', spec.name);
        record.spec = { ...spec, traffic, mirror_traffic: mirror };
        // --tls on|off: the router makes the listener again on the same port with that protocol.
        if (params.tls === true) record.tls = true;
        else if (params.tls === false) delete record.tls;
        record.updated_at = new Date(now()).toISOString();
        return record;
      });
      await syncRoute(name);
      return endpointView(updated);
    },

    async 'endpoint.delete'(params, context) {
      const name = params.name;
      // Again on an endpoint already Deleting (a delete interrupted, or one under way): it finishes.
      const purge = await store.mutate((state) => {
        const record = requireEndpoint(state, name);
        record.provisioning_state = 'Deleting';
        if (params.purge === true) record.purge_on_delete = true;
        return record.purge_on_delete === true;
      });
      context.accept();
      await pause('endpoint.delete:marked');
      await deleter.endpoint(name, { purge });
      return null;
    },

    async 'traffic.compare'(params) {
      const name = params.name;
      requireEndpoint(store.snapshot(), name);
      const since = params.sinceMs === undefined ? undefined : new Date(now() - params.sinceMs).toISOString();
      const report = comparePairs(deps.pairs?.pairs(name) ?? [], { endpoint: name, since, tolerance: params.tolerance });
      return { ...report, recording: deps.pairs?.stats(name) ?? { ring_size: 0, stored: 0, sampled_out: 0 } };
    },

    async 'dashboard.url'(params) {
      if (params.endpoint !== undefined) requireEndpoint(store.snapshot(), params.endpoint);
      const url = deps.dashboardUrl?.(params.endpoint);
      if (!url) throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'The daemon does not serve the dashboard yet.', { hint: 'Try again in a moment, or restart it: oep daemon stop' });
      return { url };
    },

    async 'endpoint.credentials'(params) {
      const record = requireEndpoint(store.snapshot(), params.name);
      if (record.spec.auth_mode === 'key') {
        return { primaryKey: record.keys.primary, secondaryKey: record.keys.secondary };
      }
      if (record.spec.auth_mode === 'aad_token') {
        // As azure-ai-ml does: the caller's own Entra ID token for https://ml.azure.com (here the
        // home's developer, from the local issuer), not one the endpoint issues.
        if (!deps.issuer) throw new OepError('OEP_ERR_INTERNAL', 'This daemon has no token issuer.');
        const tenant = record.identity?.tenant_id ?? homeUuid(deps.paths.home, 'tenant');
        const issued = await deps.issuer.issue(ML_RESOURCE, developerSubject(deps.paths.home, tenant), now());
        return { accessToken: issued.token, expiryTimeUtc: issued.expires_on };
      }
      return issueToken(record.spec.name, record.token_secret, now());
    },

    async 'endpoint.regenerateKeys'(params) {
      const name = params.name;
      const keyType = params.keyType ?? 'primary';
      if (keyType !== 'primary' && keyType !== 'secondary') {
        throw new OepError('OEP_ERR_USAGE', `--key-type must be primary or secondary, not "${keyType}".`);
      }
      refuseWhileDeleting(requireEndpoint(store.snapshot(), name), undefined, 'given new keys');
      if (requireEndpoint(store.snapshot(), name).spec.auth_mode === 'aad_token') {
        // azure-ai-ml's begin_regenerate_keys refuses every endpoint whose auth_mode is not key.
        throw new OepError('OEP_ERR_USAGE', `Endpoint '${name}' does not use keys for authentication.`, {
          hint: `aad_token endpoints take Microsoft Entra ID tokens, which expire on their own; get a fresh one with: oep endpoint get-credentials -n ${name}`,
        });
      }
      await store.mutate((state) => {
        const record = requireEndpoint(state, name);
        if (record.spec.auth_mode === 'key') record.keys[keyType] = generateKey();
        // Token endpoints: a new signing secret invalidates every token issued so far.
        else record.token_secret = generateSecret();
      });
      await syncRoute(name);
      return null;
    },

    async 'deployment.list'(params) {
      const endpoint = params.endpoint;
      const record = requireEndpoint(store.snapshot(), endpoint);
      // The same shape as deployment show, as az prints full objects in lists.
      return Object.keys(record.deployments)
        .sort()
        .map((name) => deploymentView(record.deployments[name]!, liveOf(endpoint, name)));
    },

    async 'deployment.show'(params) {
      const endpoint = params.endpoint;
      const name = params.name;
      return deploymentView(requireDeployment(store.snapshot(), endpoint, name), liveOf(endpoint, name));
    },

    async 'deployment.spec'(params) {
      return requireDeployment(store.snapshot(), params.endpoint, params.name).spec;
    },

    async 'deployment.create'(params, context) {
      const spec = params.spec;
      const runtime = await resolveRuntime(params.runtime, deps, context.emit);
      const endpoint = spec.endpoint_name;
      const debug = await checkDebugRequest(params.debug, store.snapshot(), endpoint, spec, debugOptions);
      // The command's interpreter, on the process runtime only; one that cannot run changes nothing.
      const python = recordedPythonOf(runtime, params.python, undefined);
      const record = await store.mutate((state) => {
        const owner = requireEndpoint(state, endpoint);
        refuseWhileDeleting(owner, undefined, `given deployment ${spec.name}`);
        assertDeploymentFits(owner, spec);
        // As `az ml online-deployment create` does, whatever the state (Failed too): docs/behaviour.md.
        const existing = owner.deployments[spec.name];
        if (existing) {
          refuseWhileDeleting(owner, existing, 'created again until its delete has finished');
          throw new OepError('OEP_ERR_DEPLOYMENT_EXISTS', `Deployment ${spec.name} already exists in endpoint ${endpoint} (${existing.provisioning_state}).`, {
            hint: 'To change it, run the same command as "oep deployment update" (it takes the same -f, -n, -e and --set); to create a new deployment, use another name.',
          });
        }
        if (Object.keys(owner.deployments).length >= MAX_DEPLOYMENTS_PER_ENDPOINT) {
          throw new OepError('OEP_ERR_LIMIT_EXCEEDED', `Endpoint ${endpoint} already has ${MAX_DEPLOYMENTS_PER_ENDPOINT} deployments, the most an endpoint can have.`, {
            hint: 'Delete a deployment first.',
          });
        }
        const stamp = new Date(now()).toISOString();
        const fresh: DeploymentRecord = {
          spec,
          runtime,
          provisioning_state: 'Creating',
          generation: 1,
          created_at: stamp,
          updated_at: stamp,
          ...(debug && { debug }),
          ...(python && { python }),
        };
        owner.deployments[spec.name] = fresh;
        return fresh;
      });
      const gateProblems = await syncRoute(endpoint);
      if (debug) for (const event of debugStartsEvents(spec.name, debug, gateProblems?.get(`${endpoint}/${spec.name}`), debugOptions)) context.emit(event);
      context.accept(deploymentView(record, { replicas: [] }));
      await deps.identityNotice?.(endpoint, spec.name, context.emit);
      await deps.configureRuntime?.(record.runtime, endpoint, spec.name, runtimeChoices(params), context.emit);
      await rollOut(record, context, params.allTraffic === true);
      return deploymentView(requireDeployment(store.snapshot(), endpoint, spec.name), liveOf(endpoint, spec.name));
    },

    async 'deployment.update'(params, context) {
      const spec = params.spec;
      const endpoint = spec.endpoint_name;
      const requested = params.runtime === undefined ? undefined : await resolveRuntime(params.runtime, deps, context.emit);
      const debugging = params.debug !== undefined && params.debug !== null;
      const before = requireDeployment(store.snapshot(), endpoint, spec.name);
      refuseWhileDeleting(requireEndpoint(store.snapshot(), endpoint), before, 'updated');
      const next = runtimeOfUpdate({ runtime: before.runtime, runtimeBeforeDebug: before.runtime_before_debug }, { runtime: requested, debug: debugging });
      if (requested === undefined) await deps.checkRuntime?.(next.runtime);
      const debug = await checkDebugRequest(params.debug, store.snapshot(), endpoint, spec, debugOptions);
      // Resolved again by every update's command: another OEP_PYTHON (or setting) switches it.
      const python = recordedPythonOf(next.runtime, params.python, before.python);
      const record = await store.mutate((state) => {
        const current = requireDeployment(state, endpoint, spec.name);
        refuseWhileDeleting(requireEndpoint(state, endpoint), current, 'updated');
        assertDeploymentFits(requireEndpoint(state, endpoint), spec);
        current.spec = spec;
        current.runtime = next.runtime;
        if (next.runtimeBeforeDebug) current.runtime_before_debug = next.runtimeBeforeDebug;
        else delete current.runtime_before_debug;
        current.generation += 1;
        current.provisioning_state = 'Updating';
        current.updated_at = new Date(now()).toISOString();
        delete current.failure;
        // An update without --debug ends debugging.
        if (debug) current.debug = debug;
        else delete current.debug;
        if (python) current.python = python;
        else delete current.python;
        return current;
      });
      const gateProblems = await syncRoute(endpoint);
      if (debug) for (const event of debugStartsEvents(spec.name, debug, gateProblems?.get(`${endpoint}/${spec.name}`), debugOptions)) context.emit(event);
      if (!debugging && requested === undefined && before.runtime_before_debug && record.runtime !== before.runtime) {
        context.emit({ phase: 'notice', message: `deployment ${spec.name} goes back to the ${record.runtime} runtime it ran on before --debug (--runtime chooses another)` });
      }
      if (before.python && python && before.python.path !== python.path) {
        context.emit({ phase: 'notice', message: `deployment ${spec.name}: the process runtime's interpreter changes from ${describeRecordedPython(before.python)} to ${describeRecordedPython(python)}; its replicas restart with it` });
      }
      context.accept(deploymentView(record, liveOf(endpoint, spec.name)));
      await deps.identityNotice?.(endpoint, spec.name, context.emit);
      await deps.configureRuntime?.(record.runtime, endpoint, spec.name, runtimeChoices(params), context.emit);
      await rollOut(record, context, params.allTraffic === true);
      return deploymentView(requireDeployment(store.snapshot(), endpoint, spec.name), liveOf(endpoint, spec.name));
    },

    async 'deployment.delete'(params, context) {
      const endpoint = params.endpoint;
      const name = params.name;
      // Again on a deployment already Deleting (a delete interrupted, or one under way): it finishes.
      const purge = await store.mutate((state) => {
        const owner = requireEndpoint(state, endpoint);
        const record = requireDeployment(state, endpoint, name);
        // Its endpoint's delete takes it along; that one is the delete to wait for.
        if (owner.provisioning_state === 'Deleting') refuseWhileDeleting(owner, undefined, `asked to delete deployment ${name} on its own`);
        const live = owner.spec.traffic[name] ?? 0;
        if (live > 0) {
          throw new OepError('OEP_ERR_DEPLOYMENT_HAS_TRAFFIC', `Deployment ${name} has ${live}% of the live traffic of endpoint ${endpoint} and cannot be deleted.`, {
            hint: `Move its traffic first, e.g. oep endpoint update -n ${endpoint} --traffic "<other>=100".`,
          });
        }
        record.provisioning_state = 'Deleting';
        if (params.purge === true) record.purge_on_delete = true;
        return record.purge_on_delete === true;
      });
      context.accept();
      await pause('deployment.delete:marked');
      await deleter.deployment(endpoint, name, { purge });
      return null;
    },

    /** What `oep endpoint export` turns into Kubernetes objects: the endpoint, its keys, its deployments. */
    async 'endpoint.export'(params) {
      return exportSourceOf(requireEndpoint(store.snapshot(), params.name));
    },

    async 'deployment.build'(params, context) {
      const endpoint = params.endpoint;
      const name = params.name;
      const { spec } = requireDeployment(store.snapshot(), endpoint, name);
      if (!deps.buildImage) throw new OepError('OEP_ERR_DOCKER_UNAVAILABLE', 'This oep daemon has no Docker engine to build images with.');
      const buildLog = join(deploymentLogDir(deps.paths, endpoint, name), 'image-build.log');
      return deps.buildImage({ spec, tag: params.tag, push: params.push === true, emit: context.emit, buildLog, bakeEnv: params.bake_env === true });
    },

    async 'deployment.logs'(params, context) {
      const endpoint = params.endpoint;
      const name = params.name;
      requireDeployment(store.snapshot(), endpoint, name);
      const file =
        params.container === 'storage-initializer'
          ? storageInitializerLog(deps.paths, endpoint, name)
          : reconciler.logFile(endpoint, name, Number(params.replica ?? 0));
      const lines = Number(params.lines ?? 5000);
      if (params.follow === true) {
        await followLog(file, lines, context.log, context.signal);
        return null;
      }
      const tail = await readLogTail(file, lines);
      return tail === '' ? '' : `${tail}\n`;
    },
  };

  /** What the daemon knows live about a deployment, for its view. */
  function liveOf(endpoint: string, name: string): DeploymentLive {
    return {
      replicas: reconciler.replicas(endpoint, name),
      problem: reconciler.problem(endpoint, name),
      replicaCount: reconciler.replicaCount(endpoint, name),
      inflightOf: (replica) => router.inflightOf(replica),
    };
  }

  /**
   * Makes the record's configuration the wanted one and waits until its replicas are ready (the
   * previous configuration serving meanwhile), then records the outcome and (optionally) moves
   * all traffic.
   */
  async function rollOut(record: DeploymentRecord, context: CallContext, allTraffic: boolean): Promise<void> {
    const endpoint = record.spec.endpoint_name;
    const name = record.spec.name;
    // --debug: if the replica's debugpy turns out to answer without the token, this command says so.
    const debug = record.debug;
    const stopWatching =
      debug && !debug.open
        ? deps.debugGate?.whenOpen(endpoint, name, (reason) => context.emit({ phase: 'warning', message: openDebugWarning(name, debug, reason, debugOptions.idleMs) }))
        : undefined;
    try {
      await reconciler.apply({
        endpoint,
        spec: record.spec,
        runtime: record.runtime,
        generation: record.generation,
        ...(record.debug && { debug: record.debug }),
        ...(record.python && { python: record.python }),
        emit: context.emit,
      });
      // Ready means debugpy listened (before the script loaded): the gate's look at it is moments away.
      if (stopWatching) await deps.debugGate?.checked(endpoint, name, 5000);
    } catch (error) {
      const failure = error instanceof OepError ? error : new OepError('OEP_ERR_DEPLOYMENT_FAILED', (error as Error).message);
      await store.mutate((state) => {
        const owner = state.endpoints[endpoint];
        const current = owner?.deployments[name];
        // Deleted meanwhile: the state says Deleting until the delete ends, not Failed.
        if (!owner || !current || current.generation !== record.generation || isBeingDeleted(owner, current)) return;
        current.provisioning_state = 'Failed';
        current.failure = { phase: failure.phase ?? 'start', message: failure.message, details: failure.details };
      });
      throw failure;
    } finally {
      stopWatching?.();
    }
    const gone = await store.mutate((state) => {
      const owner = state.endpoints[endpoint];
      const current = owner?.deployments[name];
      if (!owner || !current || isBeingDeleted(owner, current)) return true;
      if (current.generation !== record.generation) return false;
      current.provisioning_state = 'Succeeded';
      if (allTraffic) {
        owner.spec.traffic = { [name]: 100 };
        delete owner.spec.mirror_traffic[name];
      }
      return false;
    });
    if (gone) {
      // Deleted while it was starting: make sure nothing of it runs (the delete itself does too).
      await reconciler.remove(endpoint, name, record.runtime);
      throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Deployment ${name} of endpoint ${endpoint} was deleted while it was starting.`);
    }
    await syncRoute(endpoint);
  }
}


/** A deployment's type must match its endpoint's: kubernetes endpoints (compute set) take `type: kubernetes`. */
function assertDeploymentFits(owner: EndpointRecord, spec: DeploymentSpec): void {
  const second = owner.local ? secondLocalDeployment(owner.spec.name, Object.keys(owner.deployments), spec.name) : undefined;
  if (second) throw new OepError('OEP_ERR_LIMIT_EXCEEDED', second.message, { hint: second.hint });
  const endpointKind = owner.spec.kind;
  if (endpointKind === spec.type) return;
  const endpointText = endpointKind === 'kubernetes' ? `a kubernetes endpoint (compute: ${owner.spec.compute})` : 'a managed endpoint (no compute)';
  throw new OepError('OEP_ERR_SPEC_INVALID', `Deployment ${spec.name} is of type ${spec.type}, but ${owner.spec.name} is ${endpointText}.`, {
    hint:
      endpointKind === 'kubernetes'
        ? 'Set type: kubernetes in the deployment YAML, or deploy it to a managed endpoint. Nothing was changed.'
        : 'Remove type: kubernetes from the deployment YAML (managed is the default), or deploy it to a kubernetes endpoint. Nothing was changed.',
  });
}

function assertTraffic(traffic: TrafficMap, mirror: TrafficMap, deployments: string[], kubernetes: boolean, endpoint: string): void {
  const problems = checkTrafficRules(traffic, mirror, deployments, kubernetes, endpoint);
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_TRAFFIC_INVALID', problems.length === 1 ? problems[0]! : `${problems.length} problems with the traffic rules:`, {
      details: problems.length === 1 ? [] : problems,
      hint: 'Nothing was changed. Fix the traffic values and run the command again.',
    });
  }
}

/**
 * Azure answers 409 Conflict to a change of a resource that is being deleted: oep refuses it the
 * same way (OEP_ERR_BEING_DELETED, exit 1: the command is right, the resource is going away),
 * so an endpoint or deployment being deleted takes no update and runs nothing new.
 */
function refuseWhileDeleting(owner: EndpointRecord, record: DeploymentRecord | undefined, change: string): void {
  const name = owner.spec.name;
  if (owner.provisioning_state === 'Deleting') {
    throw new OepError('OEP_ERR_BEING_DELETED', `Online endpoint ${name} is being deleted, so it cannot be ${change}.`, {
      hint: `Wait for the delete to finish ("oep endpoint show -n ${name}" says Deleting until then, then that it does not exist), and create it again if you need it.`,
    });
  }
  if (record?.provisioning_state === 'Deleting') {
    throw new OepError('OEP_ERR_BEING_DELETED', `Deployment ${record.spec.name} of endpoint ${name} is being deleted, so it cannot be ${change}.`, {
      hint: `Wait for the delete to finish ("oep deployment show -n ${record.spec.name} -e ${name}" says Deleting until then, then that it does not exist), and create it again if you need it.`,
    });
  }
}

export function requireEndpoint(state: OepState, name: string): EndpointRecord {
  const record = state.endpoints[name];
  if (!record) {
    throw new OepError('OEP_ERR_ENDPOINT_NOT_FOUND', `Online endpoint ${name} does not exist.`, {
      hint: 'List endpoints with: oep endpoint list',
    });
  }
  return record;
}

export function requireDeployment(state: OepState, endpoint: string, name: string): DeploymentRecord {
  const record = requireEndpoint(state, endpoint).deployments[name];
  if (!record) {
    throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Deployment ${name} does not exist in endpoint ${endpoint}.`, {
      hint: `List deployments with: oep deployment list -e ${endpoint}`,
    });
  }
  return record;
}

/** The runtime a create or update asks for, checked before anything is recorded. */
async function resolveRuntime(requested: unknown, deps: ControllerDeps, emit: EmitProgress): Promise<RuntimeKind> {
  const choice = parseRuntimeChoice(requested);
  const kind = choice === 'auto' ? await deps.defaultRuntime(emit) : choice;
  await deps.checkRuntime?.(kind);
  return kind;
}

function runtimeChoices(params: DeploymentApplyParams): RuntimeChoices {
  return { gpu: params.gpu === true, pull: params.pull === true };
}

/** "system-assigned", or "user-assigned: <resource ids>", for messages. */
function describeIdentity(identity: EndpointIdentity): string {
  return identity.type === 'user_assigned' ? `user-assigned: ${identity.user_assigned_identities.map((item) => item.resource_id).join(', ')}` : 'system-assigned';
}
