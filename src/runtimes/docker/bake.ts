import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type Dockerode from 'dockerode';
import type { AuthConfig } from 'dockerode';
import { OepError } from '../../errors.js';
import { imageDockerfile, imageEnvFile, imagePlan, type ImageCopy } from '../../export/image.js';
import { parseImageReference, type ImageReference } from '../../export/image-reference.js';
import { isSecretReferenceValue } from '../../model/secret-references.js';
import type { DeploymentSpec } from '../../spec/types.js';
import { writeFileAtomic } from '../../state/atomic-write.js';
import { PACKAGE_ROOT } from '../../state/paths.js';
import type { EmitProgress } from '../types.js';
import { digestContext, memoryContext, readContext, type ContextEntry } from './build-context.js';
import { DockerEngine } from './engine.js';
import type { ImageService } from './images.js';
import { jsonMessages, messageError } from './progress.js';

/** Where built deployment images are cached, by a hash of everything in them. */
export const BUILD_REPOSITORY = 'oep-build';
/** Bumped when the way oep lays out a built image changes, so old cache tags are not reused. */
export const BAKE_VERSION = '1';

export interface BakeRequest {
  spec: DeploymentSpec;
  /** The user's tag, e.g. myacr.azurecr.io/sklearn-blue:1 (checked again here). */
  tag: string;
  push: boolean;
  emit: EmitProgress;
  /** Where the build output goes; the env file (IMAGE_ENV_FILE) is written beside it. */
  buildLog: string;
  /**
   * `--bake-env`: the deployment's environment_variables go into the image's ENV (and so its
   * history, and the registry it is pushed to), as before, instead of the env file.
   */
  bakeEnv?: boolean;
}

/** The env file of the last build of a deployment, beside its image-build.log (0600). */
export const IMAGE_ENV_FILE = 'image.env';

/** What `oep deployment build` prints. */
export interface BakeResult {
  image: string;
  id: string;
  /** False when the cache had it: nothing was built. */
  built: boolean;
  /** oep's content-hash tag of the same image. */
  cache_tag: string;
  /** The deployment's environment image it was built on. */
  environment_image: string;
  /** The port the image serves on; `docker run -p 127.0.0.1:8080:<port> IMAGE`. */
  port: number;
  pushed: boolean;
  /** The registry's digest of the pushed image. */
  digest?: string;
  /**
   * The deployment's environment_variables, one `NAME=value` line each (0600): the image has none
   * of them, so run it with `docker run --env-file <env_file> ...`. Absent without variables, and
   * with --bake-env.
   */
  env_file?: string;
  /** The names in env_file (or, with --bake-env, those baked into the image). */
  env_variables?: string[];
  /**
   * The variables that are secret references (secret injection), by name, as written: neither the
   * image nor the env file holds their values (the env file names them bare, so `docker run`
   * takes them from the caller's environment).
   */
  secret_references?: Record<string, string>;
}

export interface BakeDeps {
  engine: DockerEngine;
  images: ImageService;
  /** oep's scoring server folder, copied into the image; default: the package's server/. */
  serverDir?: string;
}

/**
 * Builds one self-contained image for a deployment: its environment image (the same one the
 * docker runtime runs, from the same cache), with oep's server, the code and the model copied to
 * the paths the runtime mounts them at, the same environment and the same command. The image is
 * cached under a hash of its whole context, so an unchanged deployment builds nothing; the user's
 * tag is then pointed at it, and pushed when asked.
 */
export async function bakeDeployment(deps: BakeDeps, request: BakeRequest): Promise<BakeResult> {
  const { spec, emit } = request;
  const reference = parseImageReference(request.tag);
  if (typeof reference === 'string') throw new OepError('OEP_ERR_USAGE', `--tag: ${reference}`);
  const plan = imagePlan(spec, 'python3');
  // Checked before anything is built: a value the env file cannot hold is refused at once.
  const envText = request.bakeEnv ? undefined : imageEnvFile(plan);
  // Secret references are never baked (neither value nor reference): they are given at docker run.
  const references = Object.fromEntries(Object.entries(plan.runEnvironment).filter(([, value]) => isSecretReferenceValue(value)));
  const bakedNames = Object.keys(plan.runEnvironment).filter((name) => !Object.hasOwn(references, name));
  if (request.bakeEnv && bakedNames.length > 0) {
    emit({
      phase: 'warning',
      message:
        `--bake-env: the ${bakedNames.length} environment_variables of deployment ${spec.name} (${bakedNames.join(', ')}) are written into the image's ENV, ` +
        `where docker inspect and docker history show them to anyone who has the image${request.push ? ', and --push sends them to the registry' : ''}.`,
    });
  }
  if (request.bakeEnv && Object.keys(references).length > 0) {
    emit({ phase: 'notice', message: `--bake-env: ${Object.keys(references).join(', ')} are secret references: never baked; give them at docker run (-e NAME, with the value in your shell).` });
  }
  await deps.engine.ensureAvailable();
  try {
    const docker = await deps.engine.docker();
    const environment = await deps.images.ensure({ spec, pull: false, emit, buildLog: request.buildLog });
    const python = environment.python;
    const finalPlan = python === 'python3' ? plan : imagePlan(spec, python);
    const dockerfile = imageDockerfile(
      finalPlan,
      environment.id,
      {
        'org.opencontainers.image.title': `${spec.endpoint_name}/${spec.name}`,
        'org.opencontainers.image.description': `Deployment ${spec.name} of endpoint ${spec.endpoint_name}, built by oep with its model, code and scoring server`,
      },
      { bakeRunEnvironment: request.bakeEnv === true },
    );
    const entries = [...memoryContext({ Dockerfile: dockerfile })];
    const serverDir = deps.serverDir ?? join(PACKAGE_ROOT, 'server');
    for (const copy of finalPlan.copies) entries.push(...(await copyEntries(copy, serverDir, spec)));
    const digest = createHash('sha256')
      .update(JSON.stringify({ bake: BAKE_VERSION, context: await digestContext(entries) }))
      .digest('hex');
    const cacheTag = `${BUILD_REPOSITORY}:${digest.slice(0, 20)}`;
    const built = await deps.images.buildOnce(docker, { tag: cacheTag, entries, dockerfile: 'Dockerfile', condaBase: undefined }, { spec, pull: false, emit, buildLog: request.buildLog });
    await pointTag(docker, built.id, reference, emit);
    const envFile = await writeEnvFile(join(dirname(request.buildLog), IMAGE_ENV_FILE), request.bakeEnv ? undefined : envText);
    const variables = Object.keys(finalPlan.runEnvironment);
    const result: BakeResult = {
      image: `${reference.repository}:${reference.tag}`,
      id: built.id,
      built: built.built,
      cache_tag: cacheTag,
      environment_image: environment.reference,
      port: finalPlan.routes.port,
      pushed: false,
      ...(envFile !== undefined && { env_file: envFile }),
      ...(variables.length > 0 && { env_variables: variables }),
      ...(Object.keys(references).length > 0 && { secret_references: references }),
    };
    if (!request.push) return result;
    const digestPushed = await pushImage(docker, reference, emit);
    return { ...result, pushed: true, ...(digestPushed && { digest: digestPushed }) };
  } catch (error) {
    if (DockerEngine.isConnectionError(error)) throw deps.engine.unavailable(error);
    throw error;
  }
}

/**
 * Writes the env file (0600, replacing what was there, never through a link), or removes a stale
 * one when there is nothing to write. Returns its path when written.
 */
async function writeEnvFile(file: string, text: string | undefined): Promise<string | undefined> {
  if (text === undefined) {
    await rm(file, { force: true });
    return undefined;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, text, 0o600);
  return file;
}

/**
 * The build-context entries of one copy, under a folder named after it: `server/`, `code/`,
 * `model/<last segment of model.path>`. Modes are made readable by everyone (executable bits
 * kept), so an image whose USER is not root reads them as it reads the runtime's mounts.
 */
async function copyEntries(copy: ImageCopy, serverDir: string, spec: DeploymentSpec): Promise<ContextEntry[]> {
  const source = copy.source ?? serverDir;
  let info;
  try {
    info = await stat(source);
  } catch (error) {
    const key = copy.what === 'model' ? 'model.path' : copy.what === 'code' ? 'code_configuration.code' : "oep's scoring server";
    throw new OepError('OEP_ERR_FILE_NOT_FOUND', `The ${key} of deployment ${spec.name} cannot be read: ${source} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, {
      hint: `Check ${key}; the deployment's files must still be where they were when it was created.`,
    });
  }
  const folder = copy.what === 'model' ? `model/${basename(source)}` : copy.what;
  const directories = folder.split('/').map((_, index, parts) => directory(parts.slice(0, index + 1).join('/')));
  if (info.isFile()) {
    return [directory('model'), { name: folder, type: 'file', mode: readable(info.mode), size: info.size, source }];
  }
  // A name that is never in a folder: nothing is kept as "the Dockerfile" of a code or model folder.
  const inner = (await readContext(source, '\0')).filter((entry) => copy.what !== 'server' || !/(^|\/)__pycache__(\/|$)|\.pyc$/.test(entry.name));
  return [...directories, ...inner.map((entry) => ({ ...entry, name: `${folder}/${entry.name}`, mode: entry.type === 'symlink' ? entry.mode : readable(entry.mode, entry.type === 'directory') }))];
}

function directory(name: string): ContextEntry {
  return { name, type: 'directory', mode: 0o755, size: 0, source: name };
}

function readable(mode: number, isDirectory = false): number {
  return isDirectory || mode & 0o111 ? 0o755 : 0o644;
}

/** Points the user's tag at the built image (nothing to do when it already does). */
async function pointTag(docker: Dockerode, id: string, reference: ImageReference, emit: EmitProgress): Promise<void> {
  const name = `${reference.repository}:${reference.tag}`;
  const current = await docker
    .getImage(name)
    .inspect()
    .catch(() => undefined);
  if (current?.Id === id) {
    emit({ phase: 'build', message: `${name} is already this image` });
    return;
  }
  await docker.getImage(id).tag({ repo: reference.repository, tag: reference.tag });
  emit({ phase: 'build', message: `tagged ${name}` });
}

/** Pushes the tag to the registry it names, with the credentials the docker CLI would use. Returns the digest. */
async function pushImage(docker: Dockerode, reference: ImageReference, emit: EmitProgress): Promise<string | undefined> {
  const name = `${reference.repository}:${reference.tag}`;
  const registry = reference.registry ?? 'docker.io';
  emit({ phase: 'push', message: `pushing ${name}` });
  const failed = (reason: string): OepError =>
    new OepError('OEP_ERR_IMAGE_PUSH_FAILED', `Pushing ${name} to ${registry} failed: ${reason.trim()}`, {
      hint: `The image is built and tagged locally. Check that ${registry} is reachable and that you are logged in (docker login ${registry}; for Azure Container Registry: az acr login -n <registry>), then run the command again.`,
    });
  let digest: string | undefined;
  let failure: string | undefined;
  try {
    const auth = await registryAuth(registry);
    const stream = await docker.getImage(reference.repository).push({ tag: reference.tag, ...(auth && { authconfig: auth }) });
    for await (const message of jsonMessages(stream)) {
      // A line that is not JSON says nothing about the push.
      if (typeof message === 'string') continue;
      failure = messageError(message) ?? failure;
      if (message.aux?.Digest) digest = message.aux.Digest;
      if (message.status && !message.id) emit({ phase: 'push', message: message.status });
    }
  } catch (error) {
    if (DockerEngine.isConnectionError(error) || error instanceof OepError) throw error;
    throw failed((error as Error).message);
  }
  if (failure !== undefined) throw failed(failure);
  emit({ phase: 'push', message: `pushed ${name}${digest ? ` (${digest})` : ''}` });
  return digest;
}

/**
 * The credentials the docker CLI would send to `registry`: its credential helper (credHelpers,
 * else credsStore), else the `auths` entry of config.json; none means an anonymous push.
 */
async function registryAuth(registry: string): Promise<AuthConfig | undefined> {
  const dir = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  let config: { auths?: Record<string, { auth?: string; identitytoken?: string }>; credHelpers?: Record<string, string>; credsStore?: string } = {};
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as typeof config;
  } catch {
    return undefined;
  }
  const serveraddress = registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    const found = await credentialHelper(helper, serveraddress);
    if (found) return found.Username === '<token>' ? { identitytoken: found.Secret, serveraddress } : { username: found.Username, password: found.Secret, serveraddress };
  }
  const entry = config.auths?.[serveraddress] ?? config.auths?.[`https://${registry}`];
  if (entry?.identitytoken) return { identitytoken: entry.identitytoken, serveraddress };
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const split = decoded.indexOf(':');
    return { username: decoded.slice(0, split), password: decoded.slice(split + 1), serveraddress };
  }
  return undefined;
}

function credentialHelper(helper: string, server: string): Promise<{ Username: string; Secret: string } | undefined> {
  return new Promise((resolve) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      try {
        resolve(JSON.parse(stdout) as { Username: string; Secret: string });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin?.end(server);
  });
}
