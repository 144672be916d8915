import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import { OepError } from '../errors.js';
import { Router } from '../router/router.js';
import { openDescriptors, ownOpenFilesLimit } from '../router/connection-budget.js';
import { aadVerifier } from '../identity/aad.js';
import { LocalIssuer } from '../identity/issuer.js';
import { ManagedIdentity } from '../identity/managed-identity.js';
import { chooseDefaultRuntime } from '../runtimes/docker/default-runtime.js';
import { bakeDeployment } from '../runtimes/docker/bake.js';
import { DockerRuntime } from '../runtimes/docker/docker-runtime.js';
import { removeBatchWorkers } from '../runtimes/docker/batch-worker.js';
import { ProcessRuntime } from '../runtimes/process/process-runtime.js';
import type { Runtime } from '../runtimes/types.js';
import type { RuntimeKind } from '../state/types.js';
import { makeEndpointIdentity } from '../model/identity.js';
import { readImageMap } from '../spec/image-map.js';
import { imageMapFile, logMaxBytes, openSettings, pairRingSize, settingReader } from '../state/settings.js';
import { join } from 'node:path';
import { PairRecorder } from '../router/pairs.js';
import { comparePairs } from '../model/compare.js';
import { Dashboard } from './dashboard.js';
import { DashboardSeries } from './dashboard-series.js';
import { latestBenchmark } from '../registry/benchmarks.js';
import { endpointAccessLog, oepPaths, resolveOepHome } from '../state/paths.js';
import { ensureHome } from '../state/home-check.js';
import { writeFileNoFollowSync } from '../state/atomic-write.js';
import { StateStore } from '../state/store.js';
import { debugToken, identityIds, metricsToken } from '../state/secrets.js';
import { DEFAULT_OPEN_DEBUG_IDLE_MS } from '../model/debug.js';
import { DebugGate } from './debug-gate.js';
import { Autoscaler } from '../supervisor/autoscaler.js';
import { Reconciler } from '../supervisor/reconciler.js';
import { AccessLog } from '../telemetry/access-log.js';
import { LogRotator } from '../telemetry/log-rotation.js';
import { Metrics } from '../telemetry/metrics.js';
import { OEP_VERSION } from '../version.js';
import { BatchJobs } from '../supervisor/batch-jobs.js';
import { createHandlers } from './controller.js';
import { deletesThrough, restoreState } from './restore.js';
import { homeViewSources } from './view-sources.js';
import { withSecretInjection } from './secret-injection.js';
import { DaemonClient } from './client.js';
import { acquireLock, releaseLock } from './lock.js';
import { startControlServer } from './server.js';
import { KeeperLink } from './keeper-link.js';
import { startResidentCli, type ResidentCli } from './resident-cli.js';
import { fileURLToPath } from 'node:url';
import { UMASK_ENV } from '../model/server-contract.js';

/** How long `oep daemon restart` lets requests in flight finish on the old daemon. */
const HAND_OVER_MS = 120_000;

/**
 * The daemon: the only writer of state. Started in the background by the CLI (or
 * `oep daemon start`); on start it re-reads its state, re-opens every endpoint's port (before
 * it answers on its socket, so a command that started it finds the ports open) and brings every
 * deployment back, adopting the replicas a crashed daemon left.
 */
async function runDaemon(): Promise<void> {
  const paths = oepPaths(resolveOepHome());
  // What the daemon creates under OEP_HOME (logs, run/, records, data) is private to the user
  // whatever the umask it was started with; process replicas get that umask back (OEP_UMASK).
  process.env[UMASK_ENV] = process.umask(0o077).toString(8);
  // A home another user owns or can write is refused (the CLI checked too, but a daemon may be started on its own).
  ensureHome(paths.home);
  // A long OEP_HOME puts the socket in a per-user folder of the temp directory (src/state/paths.ts).
  if (dirname(paths.socket) !== paths.home) assertPrivateDir(dirname(paths.socket));
  const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  // Under the keeper (the process `oep` starts): it holds the endpoints' ports across restarts. A
  // standby waits here, loaded, until the keeper needs it (keeper.ts).
  const keeper = KeeperLink.fromProcess(log);
  await keeper?.standby();

  // Another daemon already answering, or starting: leave it be.
  if ((await new DaemonClient(paths.home).callIfRunning('status')) !== undefined) return;
  if (!acquireLock(paths.lockFile)) return;

  const store = new StateStore(paths.stateFile);
  await store.load();
  // State written before endpoints had identities: each gets its own once, then keeps it.
  if (Object.values(store.snapshot().endpoints).some((record) => !record.identity)) {
    await store.mutate((state) => {
      for (const record of Object.values(state.endpoints)) record.identity ??= makeEndpointIdentity(record.spec.identity, identityIds(paths.home));
    });
  }
  // Deployments' managed identity (MSI_ENDPOINT): listens before any replica starts, below.
  const identity = new ManagedIdentity({ paths, state: () => store.snapshot(), setting: async () => (await openSettings()).get('identity_source'), log });
  // Connects to Docker only when a deployment needs it: a machine without Docker pays nothing.
  const docker = new DockerRuntime({
    paths,
    version: OEP_VERSION,
    log,
    identity: identity.access,
    imageMap: async () => {
      const file = imageMapFile((await openSettings()).all());
      return file === undefined ? undefined : readImageMap(file);
    },
  });
  const runtimes: Record<RuntimeKind, Runtime> = {
    // A deployment's interpreter comes with it (resolved by its create or update command, then
    // recorded); the setting only serves deployments recorded before that. OEP_PYTHON in the
    // daemon's own environment is not read: it is the command's.
    process: new ProcessRuntime({ paths, python: async () => (await openSettings()).get('python'), identity: identity.access }),
    docker,
  };
  const reconciler = new Reconciler({ paths, runtimes, log });
  // Secret injection: deployments' ${{azureml://connections/...}} and ${{keyvault:...}} resolved
  // right before their replicas start (create, update, daemon start); the values never reach state.
  const injecting = withSecretInjection(reconciler, { home: paths.home, store, keyvaultSource: async () => (await openSettings()).get('keyvault_source'), log });
  const accessLog = new AccessLog((endpoint) => endpointAccessLog(paths, endpoint));
  const rotation = new LogRotator({ dirs: [paths.logsDir], files: [paths.daemonLog], maxBytes: async () => logMaxBytes((await openSettings()).all()), log });
  const metrics = new Metrics(() => reconciler.health());
  const series = new DashboardSeries();
  const pairs = new PairRecorder({ ringSize: pairRingSize((await openSettings()).all()), dir: join(paths.home, 'pairs'), log });
  const dashboard = new Dashboard({
    state: () => store.snapshot(),
    series,
    health: () => reconciler.health(),
    compare: (endpoint) => comparePairs(pairs.pairs(endpoint), { endpoint }),
    latestBenchmark: (endpoint) => latestBenchmark(paths.home, endpoint),
  });
  // The home's token issuer, opened once: aad_token endpoints accept the tokens it signs, and those
  // of the aad_tenant setting's Entra ID tenant (its keys from OEP_AAD_JWKS_URL when set: tests, proxies).
  const issuer = await LocalIssuer.open(paths.home);
  const router = new Router({
    ...(keeper && { ports: keeper }),
    verifyAadToken: aadVerifier({ issuer, tenant: settingReader('aad_tenant'), jwksUrl: process.env.OEP_AAD_JWKS_URL, log }),
    replicas: (endpoint, deployment) => reconciler.replicas(endpoint, deployment),
    // Through secret injection: a request during the daemon-start resolution waits for it.
    waitForReplica: (endpoint, deployment, timeoutMs) => injecting.waitForReplica(endpoint, deployment, timeoutMs),
    unreachable: (endpoint, deployment, replica) => reconciler.unreachable(endpoint, deployment, replica),
    record: (entry) => {
      accessLog.write(entry);
      metrics.record(entry);
      series.record(entry);
    },
    pairs,
    log,
  });
  const autoscaler = new Autoscaler({
    deployments: () => reconciler.autoscaled(),
    inflight: (endpoint, deployment) => router.stats(endpoint)[deployment]?.inflight ?? 0,
    scale: (endpoint, deployment, replicas) => reconciler.scale(endpoint, deployment, replicas),
    log,
  });

  // --debug: where debuggers attach (only this user's connections pass; src/daemon/debug-gate.ts).
  const debugIdleMs = Number(process.env.OEP_DEBUG_IDLE_S) > 0 ? Number(process.env.OEP_DEBUG_IDLE_S) * 1000 : DEFAULT_OPEN_DEBUG_IDLE_MS;
  const debugGate = new DebugGate({
    token: (endpoint, deployment) => debugToken(paths.home, endpoint, deployment),
    idleMs: debugIdleMs,
    log,
    // The replica's debugpy does not take the token: recorded (deployment show says so), and the gate counts idle time.
    onOpen: (endpoint, deployment, reason) =>
      void store
        .mutate((state) => {
          const debug = state.endpoints[endpoint]?.deployments[deployment]?.debug;
          if (debug && debug.open === undefined) debug.open = reason;
        })
        .then(() => debugGate.sync(store.snapshot()))
        .catch((error: Error) => log(`${endpoint}/${deployment}: could not record an open debug port: ${error.message}`)),
    onIdle: (endpoint, deployment) => void endOpenDebugging(endpoint, deployment),
  });
  /** An open debug port nobody used for debugIdleMs: the deployment as `deployment update` without --debug makes it. */
  const endOpenDebugging = async (endpoint: string, deployment: string): Promise<void> => {
    const record = store.snapshot().endpoints[endpoint]?.deployments[deployment];
    if (!record?.debug?.open) return;
    const quiet = { emit: () => undefined, log: () => undefined, accept: () => undefined, signal: new AbortController().signal };
    try {
      await handlers['deployment.update']({ spec: record.spec }, quiet);
      log(`${endpoint}/${deployment}: back to a normal deployment (no debugger for ${Math.round(debugIdleMs / 1000)} s on a debug port any local user could reach)`);
    } catch (error) {
      log(`${endpoint}/${deployment}: could not end debugging: ${(error as Error).message}`);
    }
  };

  // Batch jobs run here; one an earlier daemon left running is Failed now, never left Running.
  const batchJobs = new BatchJobs(paths.home);
  const leftovers = await batchJobs.failLeftovers().catch((error: unknown) => {
    log(`could not check the batch jobs left by an earlier daemon: ${(error as Error).message}`);
    return 0;
  });
  if (leftovers > 0) log(`${leftovers} batch job(s) an earlier daemon was running: marked Failed`);
  // Their worker containers, if any, go too (in the background: the engine may be slow or absent).
  const startedAt = Date.now();
  void (async () => {
    if (!(await docker.engine.answers())) return;
    const removed = await removeBatchWorkers(await docker.engine.docker(), paths.home, startedAt);
    if (removed > 0) log(`removed ${removed} batch worker container(s) an earlier daemon left`);
  })().catch((error: unknown) => log(`could not remove batch worker containers: ${(error as Error).message}`));

  let control: Server | undefined;
  let residentCli: ResidentCli | undefined;
  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // The keeper closes the ports and exits once this daemon has: a stop is not a crash.
    keeper?.stopping();
    log('daemon stopping');
    control?.close();
    await residentCli?.stop();
    debugGate.close();
    metrics.close();
    dashboard.close();
    rotation.stop();
    autoscaler.close();
    await batchJobs.stopAll();
    await router.close();
    await reconciler.stopAll();
    await identity.close();
    // Containers started while stopping (e.g. by a restore still under way) go too.
    await docker.shutdown().catch((error: unknown) => log(`could not remove containers: ${(error as Error).message}`));
    accessLog.close();
    await pairs.close();
    for (const file of [paths.socket, paths.pidFile]) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
    releaseLock(paths.lockFile);
    log('daemon stopped');
    process.exit(0);
  };
  /**
   * `oep daemon restart` (the keeper's `drain`): no new commands; what is in flight finishes here,
   * idle connections go back to the keeper for the next daemon; the replicas keep running (the
   * next daemon adopts them, as after a crash); then this process exits 0.
   */
  const handOver = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('daemon handing over to a new daemon (oep daemon restart)');
    control?.close();
    await residentCli?.stop();
    for (const file of [paths.socket, paths.pidFile]) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
    debugGate.close();
    metrics.close();
    dashboard.close();
    rotation.stop();
    autoscaler.close();
    // Jobs do not move to the next daemon: they end Failed, saying why.
    await batchJobs.stopAll();
    const deadline = Date.now() + HAND_OVER_MS;
    for (;;) {
      const { released, remaining } = router.releaseIdle();
      await Promise.all(released.map(({ port, socket }) => keeper!.handBack(port, socket)));
      if (remaining === 0 || Date.now() > deadline) {
        if (remaining > 0) log(`hand-over: ${remaining} connection(s) still answering after ${HAND_OVER_MS / 1000} s are closed`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await router.close();
    await identity.close();
    accessLog.close();
    await pairs.close();
    releaseLock(paths.lockFile);
    log('daemon handed over');
    process.exit(0);
  };
  if (keeper) keeper.onDrain = () => void handOver();
  // The daemon outlives every command: a bug in one request is logged, never fatal to the rest.
  process.on('uncaughtException', (error) => log(`uncaught exception: ${error.stack ?? error.message}`));
  process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`));
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());

  // What the views read from this home (its secrets, its local CA's certificates).
  const views = homeViewSources(paths);
  const handlers = createHandlers({
    paths,
    store,
    reconciler: injecting,
    router,
    defaultRuntime: async (emit) => chooseDefaultRuntime((await openSettings()).get('runtime'), docker.engine, emit),
    // Whichever runtime the deployment is on; one without the hook has nothing to do there.
    checkRuntime: async (kind) => runtimes[kind].check?.(),
    configureRuntime: async (kind, endpoint, deployment, choices, emit) => runtimes[kind].configure?.(endpoint, deployment, choices, emit),
    releaseRuntime: async (kind, endpoint, deployment, options) => runtimes[kind].release?.(endpoint, deployment, options),
    version: OEP_VERSION,
    metricsUrl: () => metrics.metricsUrl,
    closeEndpointLogs: (endpoint) => {
      accessLog.close(endpoint);
      series.forget(endpoint);
    },
    pairs,
    dashboardUrl: (endpoint) => dashboard.url(endpoint),
    buildImage: (request) => bakeDeployment({ engine: docker.engine, images: docker.images }, request),
    defaultTls: async () => (await openSettings()).get('tls') === 'on',
    issuer,
    identityNotice: (endpoint, deployment, emit) => identity.notice(endpoint, deployment, emit),
    debugGate,
    debugIdleMs,
    shutdown: () => void shutdown(),
    batchJobs: {
      runner: batchJobs,
      python: async () => (await openSettings()).get('python'),
      docker: { engine: docker.engine, images: docker.images, home: paths.home, version: OEP_VERSION },
    },
    ...(keeper && { keeper }),
    entry: fileURLToPath(import.meta.url),
    log,
  }, views);

  // MSI_ENDPOINT's port before any replica starts or is adopted (process replicas keep it).
  await identity.listen(issuer);
  // Ports first: a request sent right after the command that started this daemon waits in the
  // router for its replica instead of finding the port closed.
  // Deletes a killed daemon did not finish are finished through the delete commands' own handlers.
  await restoreState({ store, reconciler: injecting, router, log, deletes: deletesThrough(handlers), views });
  await debugGate.sync(store.snapshot());
  autoscaler.start();
  rotation.start();
  try {
    unlinkSync(paths.socket);
  } catch {
    // no stale socket
  }
  await metrics.listen(Number(process.env.OEP_METRICS_PORT ?? 0), metricsToken(paths.home));
  await dashboard.listen(Number(process.env.OEP_DASHBOARD_PORT ?? 0));
  control = await startControlServer(paths.socket, handlers, log);
  writeFileNoFollowSync(paths.pidFile, String(process.pid));
  log(`daemon ${OEP_VERSION} listening on ${paths.socket} (pid ${process.pid}${keeper ? `, keeper ${keeper.info()?.pid ?? '?'}` : ''})`);
  keeper?.ready();
  residentCli = startResidentCli(paths.home, log);
  const files = ownOpenFilesLimit();
  log(
    `open files: limit ${files.soft ?? 'unknown'} (hard ${files.hard ?? 'unknown'}), ${openDescriptors() ?? '?'} in use; ` +
      `router: at most ${router.budget?.total ?? 'any number of'} client connections across endpoints, the rest kept for replicas, probes and starts`,
  );
}

/** Creates a folder only this user can use, and refuses one that someone else made or opened up. */
function assertPrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o077) !== 0) {
    throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', `${dir} (where the daemon's socket goes because OEP_HOME is a long path) is not a folder private to this user.`, {
      hint: `Remove ${dir}, or set OEP_HOME to a shorter path.`,
    });
  }
}

runDaemon().catch((error: unknown) => {
  // A known problem (e.g. an unreadable state file) is logged as the user will read it.
  const text = error instanceof OepError ? `${error.message}${error.hint ? `\nhint: ${error.hint}` : ''}` : ((error as Error).stack ?? String(error));
  process.stderr.write(`oep daemon failed: ${text}\n`);
  process.exit(1);
});
