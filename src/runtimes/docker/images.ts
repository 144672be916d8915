import { createHash } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type Dockerode from 'dockerode';
import type { ImageInspectInfo } from 'dockerode';
import { OepError } from '../../errors.js';
import { APPEND_NOFOLLOW, REPLACE_NOFOLLOW } from '../../model/file-flags.js';
import { InputFileError, readInputText } from '../../spec/input-file.js';
import type { ScoringSpec } from '../../model/scoring-plan.js';
import { MAX_YAML_BYTES } from '../../spec/yaml-source.js';
import type { EmitProgress } from '../types.js';
import { digestContext, memoryContext, packContext, readContext, type ContextEntry } from './build-context.js';
import { DockerEngine } from './engine.js';
import { IMAGE_LABEL, testRunLabels } from './labels.js';
import { mlflowCondaFile } from './mlflow-env.js';
import { jsonMessages, messageError } from './progress.js';
import {
  CONDA_ENV_PREFIX,
  condaDockerfile,
  dockerfileBaseImages,
  imageRecipe,
  NO_CONDA_MARKER,
  recipeTag,
  substituteImage,
  substitutionNotice,
  type ImageRecipe,
  type ImageSubstitution,
} from './recipe.js';
import { mappedImage, readImageMap, type ImageMap } from '../../spec/image-map.js';
import { PACKAGE_ROOT } from '../../state/paths.js';
import { imageMapWay, pullFailureHint, replaceEnvironmentFlag, type ImageNeed, type MapFacts } from './image-hints.js';

/** The image a deployment's containers are created from. */
export interface PreparedImage {
  /** What containers are created from: the user's image name or oep's content-hash tag. */
  reference: string;
  id: string;
  /** The Python that runs oep's server in this image. */
  python: string;
  /** True when this call built the image; false when it was already there. */
  built: boolean;
  buildMs?: number;
  /** Set for images oep built (conda and build recipes). */
  tag?: string;
  recipe: ImageRecipe['kind'];
  /** The image the YAML named, when the image map runs this one instead. */
  standInFor?: string;
}

/** One image build: its tag, its context, the Dockerfile in it, and for a conda step the image it goes on. */
export interface BuildJob {
  tag: string;
  entries: ContextEntry[];
  dockerfile: string;
  condaBase: string | undefined;
}

export interface EnsureImageOptions {
  /** An online deployment, or a batch deployment (its workers run the same images). */
  spec: ScoringSpec;
  /** Pull base images even when they exist locally (`--pull`). */
  pull: boolean;
  emit: EmitProgress;
  /** Where the build output is kept (the deployment's log dir). */
  buildLog: string;
}

/**
 * Makes sure a deployment's image exists. Images oep builds are tagged with a hash of everything
 * that goes into them, so unchanged inputs find their tag and build nothing; a base image that
 * exists locally is never pulled unless asked. Concurrent requests for one image share one
 * build or pull.
 */
export class ImageService {
  /** Images built by this daemon since it started. */
  builds = 0;
  private readonly inflight = new Map<string, Promise<unknown>>();

  /**
   * `imageMap` gives the image map in force (setting image_map / OEP_IMAGE_MAP), read for each
   * deployment; `offlineMap` is oep's own (images/offline.yml), named by hints when no map is in force.
   */
  constructor(
    private readonly engine: DockerEngine,
    private readonly imageMap: () => Promise<ImageMap | undefined> = async () => undefined,
    private readonly offlineMap: string = join(PACKAGE_ROOT, 'images', 'offline.yml'),
  ) {}

  async ensure(options: EnsureImageOptions): Promise<PreparedImage> {
    const named = imageRecipe(options.spec, { mlflowBaseImage: process.env.OEP_MLFLOW_BASE_IMAGE });
    const { recipe, substitution } = substituteImage(named, await this.imageMap());
    if (substitution) options.emit({ phase: 'notice', message: substitutionNotice(substitution) });
    const docker = await this.engine.docker();
    if (recipe.kind === 'base') {
      const base = substitution ? await this.ensureStandIn(docker, substitution, options) : await this.ensureLocal(docker, recipe.image, options, 'base');
      options.emit({ phase: 'build', message: `using image ${recipe.image} as it is (no build)` });
      return { reference: recipe.image, id: base.Id, python: 'python3', built: false, recipe: 'base', ...(substitution && { standInFor: substitution.from }) };
    }
    if (recipe.kind === 'mlflow') return this.ensureMlflow(docker, recipe, options);
    if (recipe.kind === 'conda') {
      const base = await this.ensureLocal(docker, recipe.image, options, 'conda');
      const conda = await readInput(recipe.condaFile, 'environment.conda_file', options.spec.name);
      return this.ensureConda(docker, base, recipe.image, conda, options);
    }
    const dockerfilePath = join(recipe.context, recipe.dockerfile);
    const dockerfile = await readInput(dockerfilePath, 'environment.build.dockerfile_path', options.spec.name);
    const bases: string[] = [];
    for (const image of dockerfileBaseImages(dockerfile)) bases.push((await this.ensureLocal(docker, image, options, 'build')).Id);
    const entries = readableSnapshot(recipe.context, await readContext(recipe.context, recipe.dockerfile));
    const tag = recipeTag({ kind: 'build', baseImageIds: bases, contentDigest: await digestContext(entries), dockerfile: recipe.dockerfile });
    const built = await this.buildOnce(docker, { tag, entries, dockerfile: recipe.dockerfile, condaBase: undefined }, options);
    return { ...built, python: 'python3', recipe: 'build' };
  }

  /** The conda recipe's image: `conda` (text of the conda file) as an env on top of `base`. */
  private async ensureConda(docker: Dockerode, base: ImageInspectInfo, image: string, conda: string, options: EnsureImageOptions): Promise<PreparedImage> {
    const dockerfile = condaDockerfile(base.Id, base.Config?.User ?? '');
    const tag = recipeTag({
      kind: 'conda',
      baseImageIds: [base.Id],
      contentDigest: createHash('sha256').update(conda).digest('hex'),
      dockerfile,
    });
    const entries = memoryContext({ Dockerfile: dockerfile, 'conda.yaml': conda });
    const built = await this.buildOnce(docker, { tag, entries, dockerfile: 'Dockerfile', condaBase: image }, options);
    return { ...built, python: `${CONDA_ENV_PREFIX}/bin/python`, recipe: 'conda' };
  }

  /**
   * An MLflow model with no environment: the model's conda.yaml on Azure's MLflow inference image.
   * Both need the network the first time (the image pull, the packages); offline, the error says
   * so and names the way out.
   */
  private async ensureMlflow(docker: Dockerode, recipe: Extract<ImageRecipe, { kind: 'mlflow' }>, options: EnsureImageOptions): Promise<PreparedImage> {
    const condaFile = await mlflowCondaFile(recipe.modelPath, options.spec.name);
    const conda = await readInput(condaFile, "the MLflow model's conda file", options.spec.name);
    options.emit({ phase: 'build', message: `MLflow model without environment: building its image from ${condaFile} on ${recipe.image}` });
    try {
      const base = await this.ensureLocal(docker, recipe.image, options, 'mlflow');
      return await this.ensureConda(docker, base, recipe.image, conda, options);
    } catch (error) {
      if (!(error instanceof OepError) || error.code !== 'OEP_ERR_IMAGE_BUILD_FAILED') throw error;
      const mapWay = imageMapWay({ need: 'mlflow', image: recipe.image, ...(await this.mapFacts(docker, recipe.image)) });
      throw new OepError(
        'OEP_ERR_IMAGE_BUILD_FAILED',
        `Deployment ${options.spec.name} failed in phase "build": it is an MLflow model without an environment, and building one from ${condaFile} on ${recipe.image} (as Azure does) failed: ` +
          error.message.replace(/^Deployment \S+ failed in phase "build": /, ''),
        {
          hint:
            'This needs the network (the image pull and the packages of conda.yaml). Offline, give the deployment an environment ' +
            "that already has python3 and the model's packages (numpy, pandas, scikit-learn, cloudpickle, ... or mlflow): " +
            'environment: {image: <image>}, or --set environment.image=<image>.' +
            (mapWay ? ` Or ${mapWay}.` : ''),
          details: [...error.details, ...(error.hint ? [error.hint] : [])],
          phase: 'build',
        },
      );
    }
  }

  /** Builds `job` unless its tag exists; also used for the self-contained images of `oep deployment build` (bake.ts). */
  async buildOnce(docker: Dockerode, job: BuildJob, options: EnsureImageOptions): Promise<Omit<PreparedImage, 'python' | 'recipe'>> {
    const { tag } = job;
    const existing = await inspectImage(docker, tag);
    if (existing) {
      options.emit({ phase: 'build', message: `image ${tag} is up to date (no build)` });
      return { reference: tag, id: existing.Id, built: false, tag };
    }
    return this.shared(`build ${tag}`, async () => {
      const again = await inspectImage(docker, tag);
      if (again) return { reference: tag, id: again.Id, built: false, tag };
      const started = Date.now();
      await this.build(docker, job, options);
      this.builds += 1;
      const info = await inspectImage(docker, tag);
      if (!info) throw buildError(options, '', `the build finished but image ${tag} is missing`, []);
      return { reference: tag, id: info.Id, built: true, buildMs: Date.now() - started, tag };
    });
  }

  private async build(docker: Dockerode, job: BuildJob, options: EnsureImageOptions): Promise<void> {
    const { tag, entries, dockerfile, condaBase } = job;
    await mkdir(dirname(options.buildLog), { recursive: true });
    await writeFile(options.buildLog, `${new Date().toISOString()} building ${tag} for deployment ${options.spec.name}\n`, { flag: REPLACE_NOFOLLOW, mode: 0o600 });
    options.emit({ phase: 'build', message: `building image ${tag}` });
    const log: string[] = [];
    let step = '';
    let failure: string | undefined;
    const record = async (text: string): Promise<void> => {
      // Build output carries terminal colours for stderr lines; the log and messages are plain text.
      const lines = stripVTControlCharacters(text)
        .split('\n')
        .filter((line) => line.trim() !== '');
      for (const line of lines) {
        log.push(line);
        if (/^Step \d+\/\d+ : /.test(line)) {
          step = line;
          options.emit({ phase: 'build', message: line });
        }
      }
      if (lines.length > 0) await appendFile(options.buildLog, `${lines.join('\n')}\n`, { flag: APPEND_NOFOLLOW, mode: 0o600 });
    };
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.buildImage(packContext(entries), {
        t: tag,
        dockerfile,
        rm: true,
        forcerm: true,
        labels: { [IMAGE_LABEL]: tag.split(':')[1]!, ...testRunLabels() },
      });
    } catch (error) {
      if (DockerEngine.isConnectionError(error)) throw this.engine.unavailable(error);
      await record(`build request failed: ${(error as Error).message}`);
      throw buildError(options, '', (error as Error).message, log);
    }
    for await (const message of jsonMessages(stream)) {
      // A line that is not JSON is still build output: it goes to the log as it is.
      if (typeof message === 'string') {
        await record(message);
        continue;
      }
      if (message.stream) await record(message.stream);
      else if (message.status) await record(message.status);
      const error = messageError(message);
      if (error !== undefined) {
        failure = error;
        await record(`ERROR: ${failure}`);
      }
    }
    if (failure === undefined) return;
    if (condaBase && log.some((line) => line.includes(NO_CONDA_MARKER))) {
      throw new OepError(
        'OEP_ERR_IMAGE_BUILD_FAILED',
        `Deployment ${options.spec.name} failed in phase "build": the image ${condaBase} has no conda, mamba or micromamba, so environment.conda_file cannot be applied to it.`,
        {
          hint:
            'Use environment.build with a Dockerfile that installs the dependencies (e.g. RUN pip install ...), or a conda-based image such as mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04; ' +
            `or run an image that already has the packages (${condaBase} itself, if it has them), as it is, without the conda file: ${replaceEnvironmentFlag(typeof options.spec.environment === 'object' ? options.spec.environment : undefined)}.`,
          details: [`Build log: ${options.buildLog}`],
          phase: 'build',
        },
      );
    }
    throw buildError(options, step, failure, log);
  }

  /** A stand-in is local by definition: never pulled; missing, the error says how it is made. */
  private async ensureStandIn(docker: Dockerode, substitution: ImageSubstitution, options: EnsureImageOptions): Promise<ImageInspectInfo> {
    const local = await inspectImage(docker, substitution.to);
    if (local) return local;
    throw new OepError(
      'OEP_ERR_IMAGE_BUILD_FAILED',
      `Deployment ${options.spec.name} failed in phase "build": the image map ${substitution.map} runs ${substitution.to} instead of ${substitution.from}, and ${substitution.to} is not on this machine.`,
      {
        hint: `Build the stand-ins with images/build.sh all (in oep's folder), or map ${substitution.from} to an image you have, or \`oep config unset image_map\` to pull ${substitution.from} itself.`,
        phase: 'build',
      },
    );
  }

  /**
   * A base image's inspect data, pulling it only when it is missing (or when --pull asks). `need`
   * (what the image is for) chooses the hint of a failed pull: image-hints.ts.
   */
  private async ensureLocal(docker: Dockerode, image: string, options: EnsureImageOptions, need: ImageNeed): Promise<ImageInspectInfo> {
    if (!options.pull) {
      const local = await inspectImage(docker, image);
      if (local) return local;
    }
    return this.shared(`pull ${image}`, async () => {
      options.emit({ phase: 'build', message: `pulling image ${image}` });
      try {
        const stream = await docker.pull(image);
        await new Promise<void>((resolve, reject) => {
          docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()));
        });
      } catch (error) {
        if (DockerEngine.isConnectionError(error)) throw this.engine.unavailable(error);
        const local = options.pull ? await inspectImage(docker, image) : undefined;
        const environment = typeof options.spec.environment === 'object' ? options.spec.environment : undefined;
        throw new OepError(
          'OEP_ERR_IMAGE_BUILD_FAILED',
          `Deployment ${options.spec.name} failed in phase "build": ${local ? 'pulling' : 'the image is not on this machine and pulling'} ${image} failed: ${(error as Error).message.trim()}`,
          {
            hint: local
              ? `Run without --pull to use the local copy of ${image}.`
              : pullFailureHint({ need, image, environment, ...(await this.mapFacts(docker, image)) }),
            phase: 'build',
          },
        );
      }
      const pulled = await inspectImage(docker, image);
      if (!pulled) throw new OepError('OEP_ERR_IMAGE_BUILD_FAILED', `Deployment ${options.spec.name} failed in phase "build": ${image} was pulled but is not on the engine.`, { phase: 'build' });
      return pulled;
    });
  }

  /** What the image map could do for `image`, for hints; a map that cannot be read offers nothing. */
  private async mapFacts(docker: Dockerode, image: string): Promise<MapFacts> {
    const inForce = await this.imageMap().catch(() => undefined);
    if (inForce) return { mapInForce: inForce.file };
    const offline = await readImageMap(this.offlineMap).catch(() => undefined);
    const to = mappedImage(offline, image);
    if (to === undefined) return {};
    const present = (await inspectImage(docker, to).catch(() => undefined)) !== undefined;
    return { offline: { file: this.offlineMap, to, present } };
  }

  private shared<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const promise = work().finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }
}

/** Inspect data of an image, or undefined when the engine does not have it. */
export async function inspectImage(docker: Dockerode, reference: string): Promise<ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(reference).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** A registered environment's build context: OEP_HOME/registry/environments/<name>/<version>/files/build. */
const SNAPSHOT_CONTEXT = /[/\\]registry[/\\]environments[/\\][^/\\]+[/\\][^/\\]+[/\\]files[/\\]build$/;

/**
 * The registry keeps its snapshots private (folders 0700, files 0600 or 0700: registry/store.ts);
 * in the image, a registered build context's files get the modes of a checkout (0644, 0755 when
 * executable, folders 0755), so a Dockerfile whose USER is not root reads what it COPYs, as it
 * would from the user's own folder.
 */
function readableSnapshot(context: string, entries: ContextEntry[]): ContextEntry[] {
  if (!SNAPSHOT_CONTEXT.test(context.replace(/[/\\]+$/, ''))) return entries;
  return entries.map((entry) => (entry.type === 'symlink' ? entry : { ...entry, mode: entry.type === 'directory' || entry.mode & 0o111 ? 0o755 : 0o644 }));
}

async function readInput(file: string, key: string, deployment: string): Promise<string> {
  try {
    // Bounded, and never a FIFO or a device: a read that blocks would wedge the deployment's build.
    return await readInputText(file, MAX_YAML_BYTES);
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    const why =
      error.problem === 'missing' || error.problem === 'unreadable'
        ? `cannot be read: ${file} (${error.code ?? error.reason})`
        : `cannot be used: ${file} ${error.reason}${error.problem === 'too-large' ? `; the limit is ${MAX_YAML_BYTES / 1024 / 1024} MB` : ''}`;
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `${key} of deployment ${deployment} ${why}.`, {
      hint: `Check ${key}; relative paths resolve against the deployment YAML's folder.`,
    });
  }
}

function buildError(options: EnsureImageOptions, step: string, reason: string, log: string[]): OepError {
  const parsed = /^Step (\d+\/\d+) : (.*)$/.exec(step);
  const what = parsed ? `step ${parsed[1]} of the image build failed: ${parsed[2]}` : 'the image build failed';
  return new OepError('OEP_ERR_IMAGE_BUILD_FAILED', `Deployment ${options.spec.name} failed in phase "build": ${what}`, {
    hint: `The whole build log: ${options.buildLog}`,
    details: [`Docker said: ${reason.trim()}`, 'Last lines of the build log:', ...log.slice(-15).map((line) => `  ${line}`)],
    phase: 'build',
  });
}
