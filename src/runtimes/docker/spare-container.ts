import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { writeFileAtomic } from '../../state/atomic-write.js';
import { deploymentRunDir, type OepPaths } from '../../state/paths.js';
import { SERVER_MOUNT, type ContainerPlan } from './container-spec.js';
import { LABELS } from './labels.js';

/** The cold start's entry in a container; a spare runs oep_spare.py beside it instead. */
const SERVER_ENTRY = `${SERVER_MOUNT}/oep_server.py`;
const SPARE_ENTRY = `${SERVER_MOUNT}/oep_spare.py`;

/** What a cold start would be made of, beyond its container options: a spare stands in only for the same. */
export interface ContainerLaunch {
  plan: ContainerPlan;
  /** The image's id (a tag may point elsewhere since the spare was made). */
  imageId: string;
  /** oep's server files (a spare imported them already). */
  serverDigest: string;
}

/**
 * The digest of a launch: the cold container's options without its labels (the replica, the
 * generation and the config hash are not known when the spare is made), the image id and oep's
 * server. Two launches with one key make the same container, up to what oep_spare.py does.
 */
export function containerLaunchKey(launch: ContainerLaunch): string {
  const { Labels: _labels, ...options } = launch.plan.options;
  return createHash('sha256').update(JSON.stringify({ options, imageId: launch.imageId, server: launch.serverDigest })).digest('hex').slice(0, 24);
}

/**
 * The spare's container as plain data: the cold container's options with oep_spare.py as the
 * entry (it imports oep-server and waits on stdin for the server's arguments), stdin open for the
 * daemon's one attach (closed when that attach ends), and labels that name it a spare of the
 * deployment, not a replica: nothing finds it by generation or config hash, so no restore adopts
 * it as one. Undefined when the replica could not come from a spare: a custom container (no oep
 * server) or --debug (debugpy starts before the script, on a fixed port an older replica holds).
 */
export function spareContainerOptions(launch: ContainerLaunch, key: string, debug: boolean): ContainerCreateOptions | undefined {
  const { options } = launch.plan;
  const entry = options.Entrypoint;
  if (debug || !Array.isArray(entry) || entry.length !== 2 || entry[1] !== SERVER_ENTRY) return undefined;
  // Endpoint, deployment, home, version and the test run's label stay: the spare is the home's and the deployment's.
  const { [LABELS.replica]: _replica, [LABELS.generation]: _generation, [LABELS.configHash]: _hash, ...labels } = options.Labels ?? {};
  return {
    ...options,
    Entrypoint: [entry[0]!, SPARE_ENTRY],
    Cmd: ['--container'],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    Labels: { ...labels, [LABELS.spare]: key },
  };
}

/**
 * The host paths the container binds. Docker resolves a bind when the container starts: a folder
 * or file replaced since (a new directory by the same name, a model written by rename) is the old
 * one inside a spare made before, though a cold start would see the new one.
 */
export function bindSources(plan: ContainerPlan): string[] {
  const binds = plan.options.HostConfig?.Binds ?? [];
  return binds.map((bind) => bind.split(':')[0]!);
}

/** Device and inode of each path ('-' for one that is missing): what a bind mount pins. */
export async function sourceIdentity(paths: string[]): Promise<string> {
  const parts = await Promise.all(paths.map((path) => stat(path).then((info) => `${info.dev}:${info.ino}`, () => '-')));
  return parts.join(',');
}

/** What a spare container became once taken: the replica it is (its labels cannot say so later). */
export interface TakenSpareRecord {
  replica: number;
  generation: number;
  configHash: string;
}

/**
 * A taken spare's record, written before it is told to start: a later daemon adopts the
 * container by it. Without a record a spare-labelled container is a spare that was never taken.
 */
export function takenSpareFile(paths: OepPaths, endpoint: string, deployment: string, containerId: string): string {
  return join(deploymentRunDir(paths, endpoint, deployment), 'spares', `${containerId.slice(0, 12)}.json`);
}

export async function writeTakenSpare(file: string, record: TakenSpareRecord): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(record)}\n`);
}

export async function readTakenSpare(file: string): Promise<TakenSpareRecord | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<TakenSpareRecord>;
    if (typeof value.replica !== 'number' || typeof value.generation !== 'number' || typeof value.configHash !== 'string') return undefined;
    return { replica: value.replica, generation: value.generation, configHash: value.configHash };
  } catch {
    return undefined;
  }
}

export async function removeTakenSpare(file: string): Promise<void> {
  await rm(file, { force: true });
}

export interface SpareContainerOptions {
  docker: Dockerode;
  launch: ContainerLaunch;
  key: string;
  options: ContainerCreateOptions;
  /** Removes a container, whatever its state (the runtime's removal, which ignores "gone"). */
  remove: (id: string) => Promise<void>;
}

/**
 * A replica's container made and started ahead of time: oep-server imported, the user's script
 * not (oep_spare.py --container), waiting on stdin, which is the daemon's attach stream. A start
 * whose launch has the same key takes it and sends only the server's arguments; the script is
 * imported then, for the first time, so the code mounted now is the code that runs. The daemon
 * gone, the attach ends, stdin closes and a spare not yet taken exits.
 */
export class SpareContainer {
  readonly key: string;
  /** Resolves true once the container runs with its stdin attached, false when that failed (it is then removed). */
  readonly made: Promise<boolean>;
  private container?: Dockerode.Container;
  private stdin?: Duplex;
  private sources = '';
  private running = false;
  /** waiting: nobody's yet; taken: a start has it (and may still give it up before its start line); started; discarded. */
  private state: 'waiting' | 'taken' | 'started' | 'discarded' = 'waiting';
  private removed: Promise<void> = Promise.resolve();
  private removal?: Promise<void>;

  constructor(private readonly options: SpareContainerOptions) {
    this.key = options.key;
    this.made = this.make();
  }

  get id(): string | undefined {
    return this.container?.id;
  }

  /**
   * The container, if it runs for this launch key with the same bind sources as now and nobody
   * took or discarded it: it is then taken (nobody else's spare) and becomes the replica with
   * `start`. Undefined otherwise, and a spare still waiting is discarded.
   */
  async take(key: string, launch: ContainerLaunch): Promise<Dockerode.Container | undefined> {
    if (this.state !== 'waiting') return undefined;
    if (key !== this.key || !(await this.made)) return this.discardAndGive();
    const sources = await sourceIdentity(bindSources(launch.plan));
    if (this.state !== 'waiting') return undefined;
    if (!this.running || sources !== this.sources) return this.discardAndGive();
    this.state = 'taken';
    return this.container;
  }

  /** Tells a taken spare to become the replica: oep-server's arguments, then the end of its stdin. */
  start(argv: string[]): void {
    if (this.state !== 'taken') return;
    this.state = 'started';
    this.stdin?.end(`${JSON.stringify({ argv })}\n`);
  }

  /**
   * Removes a spare that will not become a replica (also while it is being made, or once taken
   * but before its start line); resolves once it is gone. A started one is the replica's to stop.
   */
  discard(): Promise<void> {
    if (this.state === 'waiting' || this.state === 'taken') {
      this.state = 'discarded';
      this.removed = this.made.then(() => this.removeNow());
    }
    return this.removed;
  }

  private discardAndGive(): undefined {
    void this.discard();
    return undefined;
  }

  private async make(): Promise<boolean> {
    const { docker, options } = this.options;
    try {
      // Taken before the container exists: a folder replaced after this is noticed at the take.
      this.sources = await sourceIdentity(bindSources(this.options.launch.plan));
      const labels = options.Labels ?? {};
      const name = `oep-${labels[LABELS.endpoint]}-${labels[LABELS.deployment]}-spare-${randomBytes(4).toString('hex')}`;
      this.container = await docker.createContainer({ ...options, name });
      // Attached before it starts, as `docker run -i` does: its stdin is this stream from the start.
      this.stdin = (await this.container.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as unknown as Duplex;
      this.stdin.on('error', () => undefined);
      await this.container.start();
      this.running = true;
      void this.container.wait().then(
        () => (this.running = false),
        () => (this.running = false),
      );
      if (this.state === 'discarded') await this.removeNow();
      return this.state !== 'discarded';
    } catch {
      await this.removeNow();
      return false;
    }
  }

  /** Once: a spare discarded while it was made is removed by whichever of the two gets there first. */
  private removeNow(): Promise<void> {
    this.removal ??= (async () => {
      this.running = false;
      this.stdin?.destroy();
      if (this.container) await this.options.remove(this.container.id).catch(() => undefined);
    })();
    return this.removal;
  }
}
