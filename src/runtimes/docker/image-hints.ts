import type { InlineEnvironment } from '../../spec/types.js';

/**
 * The hints of a failed pull. Each way out they name must lead to a command that then works, so
 * the way depends on what needs the image:
 * - `base` (an image that is only run): any local image can replace it.
 * - `conda` (an image a conda file goes on): a local image without conda would fail the next
 *   attempt in the conda step, so the replacement drops the conda file too. `--set` cannot remove a
 *   key (`conda_file=` is refused as empty), so the whole environment is replaced by a JSON map,
 *   which `--set` reads as one value.
 * - `build` (a FROM line of environment.build): the image map does not apply to FROM lines.
 * - `mlflow` (the base image of an MLflow model without environment): see images.ts ensureMlflow.
 * Pure (no Docker, no files): the image service looks up the facts and passes them in.
 */
export type ImageNeed = 'base' | 'conda' | 'build' | 'mlflow';

/** What the image map could do for an image that is not on this machine. */
export interface MapFacts {
  /** The image map in force; it does not name the image (a mapped image is never pulled). */
  mapInForce?: string;
  /** oep's own offline map (images/offline.yml), when no map is in force and it names the image. */
  offline?: { file: string; to: string; present: boolean };
}

export interface PullHintFacts extends MapFacts {
  need: ImageNeed;
  /** The image that is missing and could not be pulled. */
  image: string;
  /** The deployment's inline environment, when it has one (its inference_config is kept). */
  environment?: InlineEnvironment;
}

/** `--set` that replaces the environment with a local image run as it is: no conda file, no build. */
export function replaceEnvironmentFlag(environment: InlineEnvironment | undefined): string {
  const replacement = { image: 'IMAGE', ...(environment?.inference_config && { inference_config: environment.inference_config }) };
  return `--set 'environment=${JSON.stringify(replacement)}'`;
}

/** The hint of a failed pull of `facts.image`, when there is no local copy to fall back on. */
export function pullFailureHint(facts: PullHintFacts): string {
  const ways = [pullOrTag(facts), runInstead(facts), imageMapWay(facts)].filter((way): way is string => way !== undefined);
  return `${ways.join('; or ')}.`;
}

/**
 * The image map's way out for `image`: a line in the map in force, or oep's offline map when none
 * is in force and it names the image. Never for a FROM line (`build`): those are not mapped.
 */
export function imageMapWay(facts: MapFacts & { need: ImageNeed; image: string }): string | undefined {
  if (facts.need === 'build') return undefined;
  const notApplied = facts.need === 'base' ? '' : ' (a mapped image runs as it is: the conda file is not applied)';
  if (facts.mapInForce) return `map it to a local image: add the line "${facts.image}: <local image>" to the image map ${facts.mapInForce}${notApplied}`;
  if (!facts.offline) return undefined;
  const build = facts.offline.present ? '' : ", once images/build.sh all (in oep's folder) has built it";
  return `run oep's offline stand-in ${facts.offline.to} instead${notApplied}: oep config set image_map ${facts.offline.file}${build}`;
}

function pullOrTag(facts: PullHintFacts): string {
  const { image } = facts;
  if (facts.need === 'conda') return `Pull it (docker pull ${image}), or tag a local image that has conda, mamba or micromamba with its name (docker tag <local image> ${image})`;
  const fromLines = facts.need === 'build' ? ' (the FROM lines of environment.build are used as written)' : '';
  return `Pull or tag it (docker pull ${image}, or docker tag <a local image> ${image})${fromLines}`;
}

function runInstead(facts: PullHintFacts): string | undefined {
  if (facts.need === 'base') return 'run another image: --set environment.image=IMAGE';
  if (facts.need === 'conda') return `run a local image that already has the packages, as it is, without the conda file: ${replaceEnvironmentFlag(facts.environment)}`;
  if (facts.need === 'build') return `run a local image that already has the packages instead of the build: ${replaceEnvironmentFlag(facts.environment)}`;
  // mlflow: the caller names the environment to give (it knows the model's packages).
  return undefined;
}
