import { OepError } from '../errors.js';
import { loadDeploymentSpec, unwrapSpec, validateDeploymentObject } from '../spec/index.js';
import type { DeploymentSpec } from '../spec/types.js';
import { localRunProblems } from '../model/local-run.js';
import { resolveDeploymentAssets } from '../registry/resolve.js';
import { specOrThrow, type EngineDeps } from './deps.js';

export interface DeploymentApplyOptions {
  file?: string;
  name?: string;
  endpointName?: string;
  set: string[];
  allTraffic: boolean;
  runtime?: string;
  /** docker: pull base images even when they exist locally. */
  pull?: boolean;
  /** docker: request the GPUs (`--local-enable-gpu`). */
  localEnableGpu?: boolean;
  /** false (--no-wait): return once the daemon has recorded the work. */
  wait?: boolean;
}

const RUNTIMES = ['auto', 'docker', 'process'];

/** `deployment create` and `deployment update`: load and validate, then hand over to the daemon. */
export async function applyDeployment(mode: 'create' | 'update', options: DeploymentApplyOptions, deps: EngineDeps): Promise<unknown> {
  if (options.runtime !== undefined && !RUNTIMES.includes(options.runtime)) {
    throw new OepError('OEP_ERR_USAGE', `--runtime must be one of ${RUNTIMES.join(', ')}, not "${options.runtime}".`);
  }
  let spec: DeploymentSpec;
  if (options.file) {
    spec = specOrThrow(
      await loadDeploymentSpec({ file: options.file, cwd: deps.cwd, name: options.name, endpointName: options.endpointName, set: options.set }),
      deps,
    );
  } else if (mode === 'update' && options.name && options.endpointName) {
    const stored = await deps.client.call('deployment.spec', { endpoint: options.endpointName, name: options.name });
    spec = unwrapSpec(validateDeploymentObject(stored, `deployment ${options.name}`, options.set));
  } else {
    throw new OepError('OEP_ERR_USAGE', `deployment ${mode} needs -f/--file${mode === 'update' ? ', or -n and -e with --set' : ''}.`);
  }
  const resolved = await resolveDeploymentAssets(spec, deps.client.paths.home);
  for (const warning of resolved.warnings) deps.onEvent?.({ phase: 'notice', message: warning });
  spec = resolved.spec;
  const problems = [...resolved.problems, ...localRunProblems(spec)];
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `Deployment ${spec.name} cannot run on this machine.`, {
      details: problems.map((problem) => (options.file ? `${options.file}: ${problem}` : problem)),
      hint: 'Nothing was changed. The YAML stays valid for Azure.',
    });
  }
  deps.onSubmit?.({ endpoint: spec.endpoint_name, deployment: spec.name });
  return deps.client.call(
    `deployment.${mode}`,
    {
      spec,
      allTraffic: options.allTraffic,
      runtime: options.runtime,
      pull: options.pull === true,
      gpu: options.localEnableGpu === true,
    },
    { onEvent: deps.onEvent, untilAccepted: options.wait === false },
  );
}
