import type { DeploymentSpec, InferenceConfig } from '../spec/types.js';
import { MLFLOW_MODEL_FOLDER_ENV } from './server-contract.js';

/** oep's scoring script for MLflow models deployed without one, shipped beside oep_server.py in server/. */
export const MLFLOW_SCORING_SCRIPT = 'oep_mlflow_score.py';

/**
 * What runs in a replica of a deployment, decided from the spec alone:
 * - `script`: oep's scoring server with the user's scoring script (`code_configuration`); without
 *   one the server looks for main.py in its app root, as azmlinfsrv does.
 * - `mlflow`: an MLflow model without a scoring script (Azure's "no-code" deployment): oep's
 *   server runs oep's MLflow scoring script. `environment` says where its packages come from:
 *   the deployment's own environment, or (none given) the model's: on Docker an image built from
 *   the model's conda.yaml, on the process runtime the configured interpreter.
 * - `container`: a custom container (`environment.inference_config`): the image's own server.
 * - `unsupported`: something this machine cannot run; `reason` and `hint` say why and what to do.
 */
export type ScoringPlan =
  | { kind: 'script' }
  | { kind: 'mlflow'; script: typeof MLFLOW_SCORING_SCRIPT; environment: 'deployment' | 'model' }
  | { kind: 'container'; routes: InferenceConfig }
  | { kind: 'unsupported'; reason: string; hint: string };

/** The parts of a deployment that decide what runs (an online or a batch deployment has them). */
export type ScoringSpec = Pick<DeploymentSpec, 'name' | 'model' | 'code_configuration' | 'environment'>;

export function scoringPlan(spec: ScoringSpec): ScoringPlan {
  const environment = spec.environment;
  if (typeof environment === 'object' && environment.inference_config) {
    return { kind: 'container', routes: environment.inference_config };
  }
  const modelType = typeof spec.model === 'object' ? spec.model.type : undefined;
  if (spec.code_configuration) return { kind: 'script' };
  if (modelType === 'mlflow_model') {
    return { kind: 'mlflow', script: MLFLOW_SCORING_SCRIPT, environment: environment === undefined ? 'model' : 'deployment' };
  }
  if (modelType === 'triton_model') {
    return {
      kind: 'unsupported',
      reason:
        "model.type: triton_model without a scoring script is served by NVIDIA's Triton Inference Server, which needs " +
        "NVIDIA's Triton image (nvcr.io/nvidia/tritonserver) and a GPU; oep does not run Triton no-code deployments.",
      hint:
        'Run the Triton image yourself as a custom container (environment.image with inference_config routes), ' +
        'or deploy the model with a scoring script (code_configuration and an environment).',
    };
  }
  return { kind: 'script' };
}

/**
 * Environment variables a plan adds to the scoring environment, before `environment_variables`
 * (which override them). For MLflow, MLFLOW_MODEL_FOLDER names the model's folder under
 * AZUREML_MODEL_DIR, as Azure's generated deployments set it.
 */
export function planEnvironment(plan: ScoringPlan, modelEntry: string | undefined): Record<string, string> {
  if (plan.kind === 'mlflow' && modelEntry) return { [MLFLOW_MODEL_FOLDER_ENV]: modelEntry };
  return {};
}
