/** The spec layer: endpoint and deployment YAML in, validated specs (or located problems) out. */
export type { SpecProblem, SpecResult } from './problem.js';
export { formatProblem, unwrapSpec } from './problem.js';
export type { AnySpec, LoadAssetOptions, LoadSpecOptions } from './pipeline.js';
export {
  loadAnySpec,
  loadDeploymentSpec,
  loadEndpointSpec,
  loadEnvironmentAsset,
  loadModelAsset,
  validateDeploymentObject,
  validateEndpointObject,
} from './pipeline.js';
export { NAME_PATTERN, checkResourceName } from './rules.js';
export * from './types.js';
export {
  loadBatchDeploymentSpec,
  loadBatchSpecIfBatch,
  loadBatchEndpointSpec,
  loadDataAsset,
  validateBatchDeploymentObject,
  validateBatchEndpointObject,
} from './batch.js';
export * from './batch-types.js';
