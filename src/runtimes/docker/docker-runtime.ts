import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import { OepError } from '../../errors.js';
import { collectsData } from '../../model/data-collection.js';
import type { FoundReplica } from '../../model/replica-plan.js';
import { dataCollectorDir, deploymentLogDir, deploymentRunDir, PACKAGE_ROOT, storageInitializerLog, type OepPaths } from '../../state/paths.js';
import { debugToken, replicaSecret } from '../../state/secrets.js';
import { appendFileNoFollow, writeFileAtomic } from '../../state/atomic-write.js';
import { writePreparedLog } from '../prepared-log.js';
import type { PreparedConfiguration, PrepareRequest, ReleaseOptions, ReplicaExit, ReplicaHandle, ReplicaRequest, Runtime, RuntimeChoices } from '../types.js';
import { digestContext, readContext } from './build-context.js';
import { followContainerLog } from './container-log.js';
import { planContainer, type ContainerPlan } from './container-spec.js';
import { DockerEngine } from './engine.js';
import { checkGpuRuntime } from './gpu.js';
import type { ImageMap } from '../../spec/image-map.js';
import type { DeploymentSpec } from '../../spec/types.js';
import type { ReplicaIdentityAccess } from '../../model/msi.js';
import { ImageService, type PreparedImage } from './images.js';
import { BATCH_LABELS, LABELS, labelFilters } from './labels.js';
import { ensureInternalNetwork, internalOrigin, needsInternalNetwork, removeNetworks } from './network.js';
import { deploymentKey } from '../../model/deployment-key.js';
import { IMAGE_REPOSITORY } from './recipe.js';
import { containerLaunchKey, readTakenSpare, removeTakenSpare, SpareContainer, spareContainerOptions, takenSpareFile, writeTakenSpare, type ContainerLaunch } from './spare-container.js';

export interface DockerRuntimeOptions {
  paths: OepPaths;
  version: string;
  log: (line: string) => void;
  /** The image map in force, read for each deployment (src/spec/image-map.ts). */
  imageMap?: () => Promise<ImageMap | undefined>;
  engine?: DockerEngine;
  /** oep's scoring server folder, mounted into every container that runs it. */
  serverDir?: string;
  /** The managed identity's MSI socket folder and client ids; without it containers get no MSI_* variables. */
  identity?: ReplicaIdentityAccess;
}

/** Per-deployment choices made on the command line, kept so a daemon restart honours them. */
export interface DockerDeploymentOptions {
  gpu: boolean;
  /** oep-built image tags this deployment has used, for `delete --purge`. */
  images: string[];
}

export interface CleanupReport {
  containers: number;
  imagesRemoved: string[];
  imagesKept: string[];
}

/** A container as observed on the engine (the parts oep reads). */
interface ObservedContainer {
  id: string;
  labels: Record<string, string>;
  /** Docker's state: running, exited, created, restarting, paused, dead, removing. */
  state: string;
}

/** What a configuration's containers are made from, readied once for all its replicas. */
interface PreparedDeployment {
  /** The configuration it was prepared for: the reconciler hands the same spec object to every replica of it. */
  spec: DeploymentSpec;
  generation: number;
  image: PreparedImage;
  gpu: boolean;
  network?: string;
  collectorDir?: string;
  serverDigest: string;
}

/** Seconds a container gets to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_S = 5;

/**
 * Runs each replica in a container laid out as in the cloud. A configuration is prepared first
 * (its image, hence its config hash); the replica plan then adopts a running container with the
 * same labels and config hash (left by a daemon that was killed) or starts a new one, and this
 * runtime does what it was told.
 */
export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  readonly engine: DockerEngine;
  readonly images: ImageService;
  private readonly serverDir: string;
  /** Deployments with a replica being started right now (count per deployment key). */
  private readonly starting = new Map<string, number>();
  /** Deployments whose next image preparation pulls base images (`--pull`). */
  private readonly pullNext = new Set<string>();
  private closing = false;
  /** The configuration each deployment prepared last (the plan's config hash came from it). */
  private readonly prepared = new Map<string, PreparedDeployment>();
  /** Serialises read-modify-write of each deployment's options file (replicas start together). */
  private readonly optionWrites = new Map<string, Promise<unknown>>();
  /** The warm container readied for each deployment's next start (spare-container.ts), by deployment key. */
  private readonly spares = new Map<string, SpareContainer>();
  /** How many times each deployment was cleaned up: a spare worked out across a cleanup is removed, not kept. */
  private readonly cleanups = new Map<string, number>();

  constructor(private readonly options: DockerRuntimeOptions) {
    this.engine = options.engine ?? new DockerEngine();
    this.images = new ImageService(this.engine, options.imageMap);
    this.serverDir = options.serverDir ?? join(PACKAGE_ROOT, 'server');
  }

  /** A command that would record a docker deployment fails first, in plain words, when no engine answers. */
  async check(): Promise<void> {
    await this.engine.ensureAvailable();
  }

  /** Records the command-line choices for a deployment's next roll-out. */
  async configure(endpoint: string, deployment: string, choices: RuntimeChoices): Promise<void> {
    await this.updateOptions(endpoint, deployment, (current) => ({ ...current, gpu: choices.gpu }));
    if (choices.pull) this.pullNext.add(deploymentKey(endpoint, deployment));
    else this.pullNext.delete(deploymentKey(endpoint, deployment));
  }

  /**
   * Readies a configuration before any of its replicas starts: the image (built, pulled or found),
   * the network and folders. The config hash this gives lets the replica plan decide, once,
   * whether a running container is adopted; the containers of the deployment's generation seen
   * now go with it (left while the engine did not answer at the daemon's start).
   */
  async prepare(request: PrepareRequest): Promise<PreparedConfiguration> {
    return this.whileStarting(request, async () => {
      const prepared = await this.prepareDeployment(request);
      const key = deploymentKey(request.endpoint, request.deployment);
      this.prepared.set(key, prepared);
      // The hash is the same for every replica of a configuration (container-spec.ts).
      const { configHash } = this.planFor(prepared, { ...request, replica: 0 });
      const found = (await this.findReplicas()).filter((each) => each.endpoint === request.endpoint && each.deployment === request.deployment && each.generation === request.generation);
      return { configHash, found };
    });
  }

  /**
   * Creates a new container for the replica (the plan found none to adopt), or takes the
   * deployment's spare when it was made for exactly this launch (spare-container.ts).
   */
  async startReplica(request: ReplicaRequest): Promise<ReplicaHandle> {
    return this.whileStarting(request, async () => {
      const { docker, plan, prepared } = await this.planReplica(request);
      // A build can outlast `daemon stop`: create nothing once the daemon is stopping.
      this.assertOpen();
      const taken = await this.takeSpare(request, plan, prepared);
      if (taken) return taken;
      await this.writePrepared(request, prepared.image, plan);
      let container: Dockerode.Container;
      try {
        container = await this.create(docker, plan, request);
      } catch (error) {
        // The next start prepares again: the image may have been removed meanwhile.
        this.prepared.delete(deploymentKey(request.endpoint, request.deployment));
        throw error;
      }
      await appendFileNoFollow(storageInitializerLog(this.options.paths, request.endpoint, request.deployment), `container: ${container.id.slice(0, 12)} (created) for replica ${request.replica}\n`);
      return this.handle(docker, container, plan, request, false);
    });
  }

  /** Takes over a running container the plan chose (its config hash is the prepared one). */
  async adoptReplica(found: FoundReplica, request: ReplicaRequest): Promise<ReplicaHandle> {
    return this.whileStarting(request, async () => {
      const { docker, plan, prepared } = await this.planReplica(request);
      await this.writePrepared(request, prepared.image, plan);
      const container = docker.getContainer(found.id);
      request.emit({ phase: 'start', message: `adopted running container ${found.id.slice(0, 12)} for replica ${request.replica} of ${request.deployment}` });
      await appendFileNoFollow(storageInitializerLog(this.options.paths, request.endpoint, request.deployment), `container: ${found.id.slice(0, 12)} (adopted, already running) for replica ${request.replica}\n`);
      // A spare taken by an earlier daemon: its record goes with it.
      const record = takenSpareFile(this.options.paths, request.endpoint, request.deployment, found.id);
      return this.handle(docker, container, plan, request, true, record);
    });
  }

  /**
   * The replica from the deployment's spare, if it runs for this very launch (image, options,
   * server, and the same files behind its binds); otherwise the spare is removed and undefined
   * says: start cold. The taken container's record is written before it is told to start, so a
   * daemon killed from then on leaves a replica the next one adopts (killed before it, the spare
   * sees its stdin end and exits).
   */
  private async takeSpare(request: ReplicaRequest, plan: ContainerPlan, prepared: PreparedDeployment): Promise<ReplicaHandle | undefined> {
    const key = deploymentKey(request.endpoint, request.deployment);
    const spare = this.spares.get(key);
    if (!spare) return undefined;
    this.spares.delete(key);
    const launch = this.launchOf(plan, prepared);
    const container = await spare.take(request.debug ? '' : containerLaunchKey(launch), launch);
    if (!container) return undefined;
    const docker = await this.engine.docker();
    const record = takenSpareFile(this.options.paths, request.endpoint, request.deployment, container.id);
    const preparedLog = storageInitializerLog(this.options.paths, request.endpoint, request.deployment);
    try {
      // Everything that can fail comes before the start line: until then the spare is simply removed.
      await writePreparedLog(preparedLog, this.preparedLogOf(request, prepared.image, plan, true));
      await appendFileNoFollow(preparedLog, `container: ${container.id.slice(0, 12)} (a warm spare, made ahead with the same image, options and mounts) for replica ${request.replica}\n`);
      await mkdir(dirname(record), { recursive: true });
      await writeTakenSpare(record, { replica: request.replica, generation: request.generation, configHash: plan.configHash });
    } catch {
      void spare.discard();
      return undefined;
    }
    spare.start(plan.options.Cmd as string[]);
    return this.handle(docker, container, plan, request, false, record);
  }

  /**
   * Readies a warm container for the deployment's next start (a reload in watch mode, an update,
   * a restart): the container this request would get, made and started now, oep-server imported,
   * idle until a start with the same launch takes it. One per deployment; none under --debug or
   * for a custom container. Made from the configuration prepared last, never preparing one.
   */
  async standBy(request: ReplicaRequest): Promise<void> {
    if (this.closing || request.debug) return;
    const key = deploymentKey(request.endpoint, request.deployment);
    const prepared = this.prepared.get(key);
    if (prepared?.spec !== request.spec || prepared.generation !== request.generation) return;
    const cleanups = this.cleanups.get(key) ?? 0;
    const launch = this.launchOf(this.planFor(prepared, request), prepared);
    const launchKey = containerLaunchKey(launch);
    if (this.spares.get(key)?.key === launchKey) return;
    void this.dropSpare(key);
    const options = spareContainerOptions(launch, launchKey, false);
    if (!options) return;
    // Counted as a start in flight, so `daemon stop` waits for it and then removes it with the rest.
    await this.whileStarting(request, async () => {
      const docker = await this.engine.docker();
      const spare = new SpareContainer({ docker, launch, key: launchKey, options, remove: (id) => removeContainer(docker, id) });
      this.spares.set(key, spare);
      await spare.made;
      // The daemon began to stop, or the deployment was removed, while it was made.
      if (this.closing || (this.cleanups.get(key) ?? 0) !== cleanups) await this.dropSpare(key, spare);
    });
  }

  /** Removes the deployment's spare; with `only`, that spare (and it only if it is still the deployment's). */
  private dropSpare(key: string, only?: SpareContainer): Promise<void> {
    const spare = only ?? this.spares.get(key);
    if (spare && this.spares.get(key) === spare) this.spares.delete(key);
    return spare?.discard() ?? Promise.resolve();
  }

  private launchOf(plan: ContainerPlan, prepared: PreparedDeployment): ContainerLaunch {
    return { plan, imageId: prepared.image.id, serverDigest: prepared.serverDigest };
  }

  /** Counts the work as a start in flight (`shutdown` waits for it) and words a lost engine as such. */
  private async whileStarting<T>(request: PrepareRequest, work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const key = deploymentKey(request.endpoint, request.deployment);
    this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
    try {
      return await work();
    } catch (error) {
      if (DockerEngine.isConnectionError(error)) throw this.engine.unavailable(error);
      throw error;
    } finally {
      const left = (this.starting.get(key) ?? 1) - 1;
      if (left > 0) this.starting.set(key, left);
      else this.starting.delete(key);
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'The oep daemon is stopping; it starts no more containers.');
  }

  /**
   * The replica's container as plain data, from its configuration's preparation (made again when
   * this configuration is not the one prepared last, or a start of it failed).
   */
  private async planReplica(request: ReplicaRequest): Promise<{ docker: Dockerode; plan: ContainerPlan; prepared: PreparedDeployment }> {
    const key = deploymentKey(request.endpoint, request.deployment);
    const cached = this.prepared.get(key);
    const prepared = cached?.spec === request.spec && cached.generation === request.generation ? cached : await this.prepareDeployment(request);
    const docker = await this.engine.docker();
    const plan = this.planFor(prepared, request);
    return { docker, plan, prepared };
  }

  private async prepareDeployment(request: PrepareRequest): Promise<PreparedDeployment> {
    const { endpoint, deployment, spec } = request;
    await this.engine.ensureAvailable();
    const docker = await this.engine.docker();
    const choices = await this.deploymentOptions(endpoint, deployment);
    if (choices.gpu) await checkGpuRuntime(docker, this.engine.describe());

    const key = deploymentKey(endpoint, deployment);
    const pull = this.pullNext.has(key);
    const image = await this.images.ensure({
      spec,
      pull,
      emit: request.emit,
      buildLog: join(deploymentLogDir(this.options.paths, endpoint, deployment), 'build.log'),
    });
    if (pull) this.pullNext.delete(key);
    if (image.tag && !choices.images.includes(image.tag)) {
      const tag = image.tag;
      await this.updateOptions(endpoint, deployment, (current) => (current.images.includes(tag) ? current : { ...current, images: [...current.images, tag] }));
    }

    const network = needsInternalNetwork(spec) ? await ensureInternalNetwork(docker, { home: this.options.paths.home, endpoint, deployment }) : undefined;
    const collectorDir = collectsData(spec) ? dataCollectorDir(this.options.paths, endpoint, deployment) : undefined;
    if (collectorDir) await mkdir(collectorDir, { recursive: true });
    return { spec, generation: request.generation, image, gpu: choices.gpu, network, collectorDir, serverDigest: await this.serverDigest() };
  }

  private planFor(prepared: PreparedDeployment, request: PrepareRequest & { replica: number }): ContainerPlan {
    const { endpoint, deployment, spec } = request;
    return planContainer({
      home: this.options.paths.home,
      endpoint,
      deployment,
      replica: request.replica,
      generation: request.generation,
      spec,
      image: { reference: prepared.image.reference, id: prepared.image.id },
      python: prepared.image.python,
      server: { dir: this.serverDir, digest: prepared.serverDigest },
      version: this.options.version,
      gpu: prepared.gpu,
      network: prepared.network,
      dataCollectorDir: prepared.collectorDir,
      replicaSecret: replicaSecret(this.options.paths.home, endpoint, deployment),
      ...(request.debug && { debug: request.debug, debugToken: debugToken(this.options.paths.home, endpoint, deployment) }),
      ...this.identityOf(endpoint, deployment),
    });
  }

  /** The storage-initializer log: what the replica's container is made of. */
  private async writePrepared(request: ReplicaRequest, image: PreparedImage, plan: ContainerPlan): Promise<void> {
    await writePreparedLog(storageInitializerLog(this.options.paths, request.endpoint, request.deployment), this.preparedLogOf(request, image, plan, false));
  }

  private preparedLogOf(request: ReplicaRequest, image: PreparedImage, plan: ContainerPlan, spare: boolean): Parameters<typeof writePreparedLog>[1] {
    return {
      runtime: 'docker',
      image: `${image.reference} (${describeImage(image)})`,
      configHash: plan.configHash,
      command: spare ? `${plan.command} (a warm container, made ahead with the same image, options and mounts: server/oep_spare.py --container)` : plan.command,
      mounts: [
        ...plan.mounts,
        plan.network ? `internal network ${plan.network} (no outbound access), port ${plan.containerPort}` : `127.0.0.1:<random> -> ${plan.containerPort}/tcp`,
        ...(request.debug ? [`127.0.0.1:${request.debug.backendPort ?? request.debug.port} -> debugpy (a debugger attaches through oep on 127.0.0.1:${request.debug.port})${request.debug.wait ? ' (waits for a debugger before the script loads)' : ''}`] : []),
      ],
      environment: plan.environment,
    };
  }

  /** What a container needs for its managed identity, when the daemon's MSI socket listens and the endpoint has identities. */
  private identityOf(endpoint: string, deployment: string): { identity?: { socketDir: string; secret: string; clientId: string } } {
    const access = this.options.identity;
    const socketDir = access?.socketDir();
    const clientId = access?.defaultClientId(endpoint);
    if (!access || !socketDir || !clientId) return {};
    return { identity: { socketDir, secret: access.secret(endpoint, deployment), clientId } };
  }

  private async create(docker: Dockerode, plan: ContainerPlan, request: ReplicaRequest): Promise<Dockerode.Container> {
    let container: Dockerode.Container;
    try {
      container = await docker.createContainer({ ...plan.options, name: plan.name });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 409) throw startError(request, 'creating the container failed', error);
      // A container with this name is still being removed; remove it and try once more.
      await removeContainer(docker, plan.name);
      container = await docker.createContainer({ ...plan.options, name: plan.name });
    }
    try {
      await container.start();
    } catch (error) {
      await removeContainer(docker, container.id);
      throw startError(request, 'starting the container failed', error);
    }
    return container;
  }

  /** `record`: a taken spare's record (spare-container.ts), removed with the container. */
  private async handle(docker: Dockerode, container: Dockerode.Container, plan: ContainerPlan, request: ReplicaRequest, adopted: boolean, record?: string): Promise<ReplicaHandle> {
    await mkdir(dirname(request.logFile), { recursive: true });
    const follower = await followContainerLog(docker, container, request.logFile, adopted);
    const exited = (async (): Promise<ReplicaExit> => {
      let exit: ReplicaExit;
      try {
        const result = (await container.wait()) as { StatusCode?: number };
        exit = { code: result.StatusCode ?? null, signal: null };
      } catch (error) {
        exit = { code: null, signal: `the container could not be watched: ${(error as Error).message}` };
      }
      // The supervisor reads the log tail once a replica ends: let the last lines land first.
      await Promise.race([follower.done, sleep(2000)]);
      return exit;
    })();
    const info = await container.inspect().catch(() => undefined);
    const binding = info?.NetworkSettings?.Ports?.[`${plan.containerPort}/tcp`]?.find((entry) => entry.HostIp === '127.0.0.1');
    const origin = plan.network ? internalOrigin(info, plan.network, plan.containerPort) : `http://127.0.0.1:${binding?.HostPort ?? 0}`;
    let stopped: Promise<void> | undefined;
    return {
      id: container.id.slice(0, 12),
      target: { origin, scoringPath: plan.scoringPath, readinessPath: plan.readinessPath, livenessPath: plan.livenessPath },
      exited,
      adopted,
      stop: () => {
        stopped ??= (async () => {
          await stopContainer(container);
          await removeContainer(docker, container.id);
          if (record) await removeTakenSpare(record).catch(() => undefined);
          await Promise.race([exited, sleep(STOP_TIMEOUT_S * 1000)]);
          follower.stop();
        })();
        return stopped;
      },
    };
  }

  /** Removes a deployment's containers, whatever state they are in (the supervisor stopped its replicas). */
  async cleanup(endpoint: string, deployment: string): Promise<void> {
    const key = deploymentKey(endpoint, deployment);
    this.prepared.delete(key);
    this.cleanups.set(key, (this.cleanups.get(key) ?? 0) + 1);
    await this.dropSpare(key);
    if (!(await this.engine.answers())) return;
    const docker = await this.engine.docker();
    for (const container of await this.observe(docker, labelFilters(this.options.paths.home, { endpoint, deployment }))) {
      await removeContainer(docker, container.id);
    }
  }

  /**
   * For a deleted deployment: removes its containers and its runtime files and, with `purge`,
   * the image tags oep built for it (kept while another container still uses them). What went
   * goes to the daemon's log.
   */
  async release(endpoint: string, deployment: string, options: ReleaseOptions): Promise<void> {
    const report = await this.releaseDeployment(endpoint, deployment, options);
    const kept = report.imagesKept.length > 0 ? `; kept images in use: ${report.imagesKept.join(', ')}` : '';
    this.options.log(`released ${endpoint}/${deployment}: ${report.containers} container(s), images removed: ${report.imagesRemoved.join(', ') || 'none'}${kept}`);
  }

  private async releaseDeployment(endpoint: string, deployment: string, options: ReleaseOptions): Promise<CleanupReport> {
    const report: CleanupReport = { containers: 0, imagesRemoved: [], imagesKept: [] };
    const key = deploymentKey(endpoint, deployment);
    this.cleanups.set(key, (this.cleanups.get(key) ?? 0) + 1);
    await this.dropSpare(key);
    const choices = await this.deploymentOptions(endpoint, deployment);
    let docker: Dockerode | undefined;
    if (await this.engine.answers()) {
      docker = await this.engine.docker();
      const observed = await this.observe(docker, labelFilters(this.options.paths.home, { endpoint, deployment }));
      for (const container of observed) {
        await removeContainer(docker, container.id);
        report.containers += 1;
      }
      if (options.purge) {
        for (const tag of choices.images.filter((image) => image.startsWith(`${IMAGE_REPOSITORY}:`))) {
          try {
            await docker.getImage(tag).remove();
            report.imagesRemoved.push(tag);
          } catch (error) {
            const status = (error as { statusCode?: number }).statusCode;
            if (status === 404) continue;
            report.imagesKept.push(tag);
            this.options.log(`kept image ${tag} of ${endpoint}/${deployment}: ${(error as Error).message}`);
          }
        }
      }
    }
    this.pullNext.delete(deploymentKey(endpoint, deployment));
    this.prepared.delete(deploymentKey(endpoint, deployment));
    if (docker) await removeNetworks(docker, this.options.paths.home, { endpoint, deployment }).catch((error: Error) => this.options.log(`could not remove the networks of ${endpoint}/${deployment}: ${error.message}`));
    await rm(deploymentRunDir(this.options.paths, endpoint, deployment), { recursive: true, force: true });
    return report;
  }

  /**
   * This home's containers, running or not, as replicas an earlier daemon left. Without an
   * engine there is nothing to find now; a deployment's start adopts its container by label
   * once the engine is back.
   */
  async findReplicas(): Promise<FoundReplica[]> {
    if (!(await this.engine.answers())) return [];
    const docker = await this.engine.docker();
    const observed = await this.observe(docker, labelFilters(this.options.paths.home));
    // Batch workers are no replicas: their jobs remove them (src/runtimes/docker/batch-worker.ts).
    const replicas = observed.filter((container) => container.labels[BATCH_LABELS.job] === undefined);
    return Promise.all(replicas.map((container) => this.foundOf(container)));
  }

  /**
   * A container as a found replica: by its labels, or, for one made as a spare, by the record its
   * take wrote (spare-container.ts); a spare without one was never taken and is only discarded.
   */
  private async foundOf(container: ObservedContainer): Promise<FoundReplica> {
    const endpoint = container.labels[LABELS.endpoint] ?? '';
    const deployment = container.labels[LABELS.deployment] ?? '';
    const common = { id: container.id.slice(0, 12), runtime: 'docker' as const, endpoint, deployment, alive: container.state === 'running' };
    if (container.labels[LABELS.spare] === undefined) {
      return {
        ...common,
        index: Number(container.labels[LABELS.replica] ?? -1),
        generation: Number(container.labels[LABELS.generation] ?? 0),
        configHash: container.labels[LABELS.configHash],
      };
    }
    const taken = await readTakenSpare(takenSpareFile(this.options.paths, endpoint, deployment, container.id));
    if (!taken) return { ...common, index: -1, generation: 0, spare: true };
    return { ...common, index: taken.replica, generation: taken.generation, configHash: taken.configHash };
  }

  async discardReplica(found: FoundReplica): Promise<void> {
    const docker = await this.engine.docker();
    if (found.alive) await stopContainer(docker.getContainer(found.id));
    await removeContainer(docker, found.id);
    await removeTakenSpare(takenSpareFile(this.options.paths, found.endpoint, found.deployment, found.id)).catch(() => undefined);
  }

  /**
   * On `oep daemon stop`, after the supervisor stopped every replica: waits for starts still in
   * flight (a restore, a create), then removes every container of this home, so none outlives the
   * daemon. (A daemon that is killed leaves them running; the next one adopts them.)
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    const spares = [...this.spares.keys()].map((key) => this.dropSpare(key));
    const deadline = Date.now() + 15_000;
    while (this.starting.size > 0 && Date.now() < deadline) await sleep(50);
    await Promise.all(spares);
    if (!(await this.engine.answers())) return;
    const docker = await this.engine.docker();
    const observed = await this.observe(docker, labelFilters(this.options.paths.home));
    await Promise.all(observed.map((container) => removeContainer(docker, container.id)));
    await removeNetworks(docker, this.options.paths.home).catch((error: Error) => this.options.log(`could not remove networks: ${error.message}`));
  }

  private async observe(docker: Dockerode, filters: string[]): Promise<ObservedContainer[]> {
    const containers = await docker.listContainers({ all: true, filters: { label: filters } });
    return containers.map((container) => ({ id: container.Id, labels: container.Labels ?? {}, state: container.State }));
  }

  private async deploymentOptions(endpoint: string, deployment: string): Promise<DockerDeploymentOptions> {
    try {
      const saved = JSON.parse(await readFile(this.optionsFile(endpoint, deployment), 'utf8')) as Partial<DockerDeploymentOptions>;
      return { gpu: saved.gpu === true, images: Array.isArray(saved.images) ? saved.images.map(String) : [] };
    } catch {
      return { gpu: false, images: [] };
    }
  }

  private updateOptions(endpoint: string, deployment: string, change: (current: DockerDeploymentOptions) => DockerDeploymentOptions): Promise<void> {
    const key = deploymentKey(endpoint, deployment);
    const previous = this.optionWrites.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const file = this.optionsFile(endpoint, deployment);
      const updated = change(await this.deploymentOptions(endpoint, deployment));
      await mkdir(dirname(file), { recursive: true });
      await writeFileAtomic(file, `${JSON.stringify(updated, null, 2)}\n`);
    });
    this.optionWrites.set(key, next);
    void next.finally(() => {
      if (this.optionWrites.get(key) === next) this.optionWrites.delete(key);
    }).catch(() => undefined);
    return next;
  }

  private optionsFile(endpoint: string, deployment: string): string {
    return join(deploymentRunDir(this.options.paths, endpoint, deployment), 'docker.json');
  }

  /** A digest of oep's server files: a new server means new containers, never an adopted old one. */
  private async serverDigest(): Promise<string> {
    const entries = await readContext(this.serverDir);
    return digestContext(entries.filter((entry) => !entry.name.includes('__pycache__')));
  }
}

function describeImage(image: PreparedImage): string {
  if (image.standInFor) return `${image.id}; local stand-in for ${image.standInFor} (image_map), used as it is, no build`;
  if (image.recipe === 'base') return `${image.id}; used as it is, no build`;
  if (image.built) return `${image.id}; built now in ${((image.buildMs ?? 0) / 1000).toFixed(1)} s`;
  return `${image.id}; cached, no build`;
}

function startError(request: ReplicaRequest, what: string, error: unknown): Error {
  if (DockerEngine.isConnectionError(error)) return error as Error;
  const reason = ((error as { json?: { message?: string } }).json?.message ?? (error as Error).message).trim();
  return new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${request.deployment} failed in phase "start": ${what}: ${reason}`, {
    hint: 'Check the model and code paths and the environment in the deployment YAML; see the prepared mounts with: ' +
      `oep deployment get-logs -n ${request.deployment} -e ${request.endpoint} --container storage-initializer`,
    phase: 'start',
  });
}

async function stopContainer(container: Dockerode.Container): Promise<void> {
  try {
    await container.stop({ t: STOP_TIMEOUT_S });
  } catch {
    // Already stopped (304), gone (404) or the engine is down: removal below settles it.
  }
}

async function removeContainer(docker: Dockerode, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    // 404: already gone; 409: removal already in progress.
    if (status === 404 || status === 409) return;
    if (DockerEngine.isConnectionError(error)) return;
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
