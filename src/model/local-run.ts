import type { DeploymentSpec } from '../spec/types.js';

/**
 * What a valid Azure deployment may still need that only a workspace has. oep runs on this
 * machine and cannot download a registered model, so a string model reference cannot run here.
 */
export function localRunProblems(spec: DeploymentSpec): string[] {
  if (typeof spec.model === 'string') {
    return [
      `model: "${spec.model}" refers to a model registered in an Azure ML workspace, which oep cannot download. ` +
        'Give the model inline with a local path to run it here, e.g. model: {path: ./model}.',
    ];
  }
  return [];
}
