import type { DeploymentSpec } from '../spec/types.js';
import { scoringPlan } from './scoring-plan.js';

/**
 * Why a valid Azure deployment cannot run on this machine: what only a workspace has, or a scoring
 * path oep does not run. `validate` prints them as warnings; create and update refuse with them.
 */
export function localRunProblems(spec: DeploymentSpec): string[] {
  // (Registered models and environments are resolved before this, against oep's local registry.)
  return scoringPlanProblems(spec);
}

/** A deployment whose scoring path this machine cannot run (Triton no-code). */
function scoringPlanProblems(spec: DeploymentSpec): string[] {
  const plan = scoringPlan(spec);
  return plan.kind === 'unsupported' ? [`${plan.reason} ${plan.hint}`] : [];
}
