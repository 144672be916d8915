import { OepError } from '../errors.js';
import { parseImageReference } from '../export/image-reference.js';
import type { EngineDeps } from './deps.js';

export interface DeploymentBuildOptions {
  name: string;
  endpointName: string;
  /** The image to make, `[registry/]name[:tag]`. */
  tag: string;
  /** Push it to the registry the tag names. */
  push?: boolean;
  /** Bake environment_variables into the image's ENV (the old way), instead of the env file. */
  bakeEnv?: boolean;
}

/**
 * `oep deployment build`: checks the tag, then the daemon (which owns the Docker connection)
 * builds the deployment's self-contained image and streams the build's progress.
 */
export async function buildDeploymentImage(options: DeploymentBuildOptions, deps: EngineDeps): Promise<unknown> {
  const reference = parseImageReference(options.tag);
  if (typeof reference === 'string') throw new OepError('OEP_ERR_USAGE', `--tag: ${reference}`);
  if (options.push && reference.registry === undefined) {
    throw new OepError('OEP_ERR_USAGE', `--push: the tag "${options.tag}" names no registry, so there is nowhere to push it.`, {
      hint: 'Name the registry in the tag, e.g. --tag myregistry.azurecr.io/sklearn-blue:1 (or docker.io/USER/NAME:TAG for Docker Hub).',
    });
  }
  deps.onSubmit?.({ endpoint: options.endpointName, deployment: options.name });
  return deps.client.call(
    'deployment.build',
    { endpoint: options.endpointName, name: options.name, tag: options.tag, push: options.push === true, bake_env: options.bakeEnv === true },
    { onEvent: deps.onEvent },
  );
}
