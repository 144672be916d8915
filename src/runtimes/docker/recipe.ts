import { createHash } from 'node:crypto';
import { OepError } from '../../errors.js';
import { scoringPlan, type ScoringSpec } from '../../model/scoring-plan.js';
import { mappedImage, type ImageMap } from '../../spec/image-map.js';

/**
 * What image a deployment runs, before anything is built. Pure: no Docker, no files.
 * - `base`: `environment.image` alone; the image runs as is, oep's server is mounted.
 * - `conda`: `environment.image` + `conda_file`; a conda env is created on top of the image.
 * - `build`: `environment.build`; the user's Dockerfile and context.
 * - `mlflow`: an MLflow model with neither scoring script nor environment, as Azure does it: a
 *   conda env from the model's own conda.yaml (found in `modelPath`) on an MLflow inference image.
 */
export type ImageRecipe =
  | { kind: 'base'; image: string }
  | { kind: 'conda'; image: string; condaFile: string }
  | { kind: 'build'; context: string; dockerfile: string }
  | { kind: 'mlflow'; image: string; modelPath: string };

/** Bumped when the way oep builds images changes, so old tags are not reused by mistake. */
export const RECIPE_VERSION = '1';
/** Where oep creates the conda environment inside a `conda` image. */
export const CONDA_ENV_PREFIX = '/opt/oep-env';
/** The marker the conda step prints when the base image has no conda at all. */
export const NO_CONDA_MARKER = 'OEP_NO_CONDA';
export const IMAGE_REPOSITORY = 'oep-env';
/** The image Azure's MLflow no-code environments start from (it has conda); the model's conda.yaml goes on top. */
export const MLFLOW_BASE_IMAGE = 'mcr.microsoft.com/azureml/mlflow-ubuntu20.04-py38-cpu-inference:latest';

/** `mlflowBaseImage` replaces MLFLOW_BASE_IMAGE (OEP_MLFLOW_BASE_IMAGE, e.g. a mirror of it). */
export function imageRecipe(spec: ScoringSpec, options: { mlflowBaseImage?: string } = {}): ImageRecipe {
  const environment = spec.environment;
  const plan = scoringPlan(spec);
  if (plan.kind === 'mlflow' && plan.environment === 'model' && typeof spec.model === 'object') {
    return { kind: 'mlflow', image: options.mlflowBaseImage || MLFLOW_BASE_IMAGE, modelPath: spec.model.path };
  }
  if (environment === undefined) {
    throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} has no environment, so the docker runtime has no image to run.`, {
      hint: 'Add environment.image (e.g. mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04) or environment.build to the deployment YAML.',
    });
  }
  if (typeof environment === 'string') {
    throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `Deployment ${spec.name} uses the registered environment "${environment}", which lives in an Azure ML workspace that oep cannot read.`, {
      hint: 'Describe the environment inline (environment.image with an optional conda_file, or environment.build) to run it locally.',
    });
  }
  if (environment.build) {
    return { kind: 'build', context: environment.build.path, dockerfile: environment.build.dockerfile_path || 'Dockerfile' };
  }
  if (!environment.image) {
    throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `The environment of deployment ${spec.name} has neither image nor build.`, {
      hint: 'Set environment.image or environment.build.',
    });
  }
  if (environment.conda_file) return { kind: 'conda', image: environment.image, condaFile: environment.conda_file };
  return { kind: 'base', image: environment.image };
}

/** An image of the deployment's environment replaced by a local stand-in through the image map. */
export interface ImageSubstitution {
  /** The image the YAML (or Azure's rule, for MLflow no-code) names. */
  from: string;
  /** The local image that runs instead. */
  to: string;
  /** The image map's file. */
  map: string;
  /** What is not applied because the stand-in runs as it is (the conda file), if anything. */
  skipped?: string;
}

/**
 * The recipe with its base image replaced when the image map names it. A stand-in runs as it
 * is: it already has the packages, so a conda file on top (the deployment's, or an MLflow model's
 * own) is not applied. `build` recipes are left alone: their Dockerfile names its own base.
 */
export function substituteImage(recipe: ImageRecipe, map: ImageMap | undefined): { recipe: ImageRecipe; substitution?: ImageSubstitution } {
  if (recipe.kind === 'build') return { recipe };
  const to = mappedImage(map, recipe.image);
  if (to === undefined || map === undefined) return { recipe };
  const skipped = recipe.kind === 'conda' ? `environment.conda_file (${recipe.condaFile})` : recipe.kind === 'mlflow' ? "the MLflow model's conda file" : undefined;
  return { recipe: { kind: 'base', image: to }, substitution: { from: recipe.image, to, map: map.file, ...(skipped && { skipped }) } };
}

/** The one line that says a stand-in runs instead of the named image. */
export function substitutionNotice(substitution: ImageSubstitution): string {
  const skipped = substitution.skipped ? `; ${substitution.skipped} is not applied (the stand-in has its packages)` : '';
  return `environment image ${substitution.from} -> local stand-in ${substitution.to} (image_map ${substitution.map})${skipped}`;
}

/**
 * The Dockerfile that adds a conda environment to an image. It uses whichever of micromamba,
 * mamba or conda the image has, and fails with a recognisable marker when it has none.
 * `user` is the image's own USER, restored after the root-only steps.
 */
export function condaDockerfile(baseImageId: string, user: string): string {
  const create = [
    'set -e;',
    'if command -v micromamba >/dev/null 2>&1; then',
    `  micromamba create -y -p ${CONDA_ENV_PREFIX} -f /tmp/oep/conda.yaml && micromamba clean -a -y;`,
    'elif command -v mamba >/dev/null 2>&1; then',
    `  mamba env create -p ${CONDA_ENV_PREFIX} -f /tmp/oep/conda.yaml && mamba clean -a -y;`,
    'elif command -v conda >/dev/null 2>&1; then',
    `  conda env create -p ${CONDA_ENV_PREFIX} -f /tmp/oep/conda.yaml && conda clean -a -y;`,
    'else',
    // The marker is split in the command ("OEP_""NO_CONDA") so that only the echo's output, never
    // the build log's copy of the RUN line, contains it.
    `  echo "${NO_CONDA_MARKER.slice(0, 4)}""${NO_CONDA_MARKER.slice(4)}: the image has no conda, mamba or micromamba on its PATH" >&2; exit 97;`,
    'fi',
  ].join(' \\\n    ');
  const lines = [`FROM ${baseImageId}`, 'USER root', 'COPY conda.yaml /tmp/oep/conda.yaml', `RUN ${create}`];
  if (user && user !== 'root' && user !== '0') lines.push(`USER ${user}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The inputs that decide an image's content; equal inputs give the same tag and no build.
 * oep's scoring server is not among them: it is mounted into the container, not copied into the
 * image, so its version is part of the container's config hash instead.
 */
export interface RecipeInputs {
  kind: 'conda' | 'build';
  /** Local image ids of the base image(s), where known. */
  baseImageIds: string[];
  /** conda: the conda file's text; build: the context digest (Dockerfile included). */
  contentDigest: string;
  dockerfile: string;
}

export function recipeTag(inputs: RecipeInputs): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ recipe: RECIPE_VERSION, ...inputs, baseImageIds: [...inputs.baseImageIds].sort() }))
    .digest('hex');
  return `${IMAGE_REPOSITORY}:${hash.slice(0, 20)}`;
}

/**
 * The images a Dockerfile starts from (FROM lines), without stage names and without references
 * that need build arguments (those cannot be known before the build).
 */
export function dockerfileBaseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  const joined = dockerfile.replace(/\\\r?\n/g, ' ');
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    const match = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!match) continue;
    const image = match[1]!;
    if (!stages.has(image.toLowerCase()) && !image.includes('$') && image.toLowerCase() !== 'scratch') images.push(image);
    if (match[2]) stages.add(match[2].toLowerCase());
  }
  return images;
}
