import { DaemonConnectionLost } from '../daemon/connection-lost.js';
import { isOepError, OepError } from '../errors.js';
import { formatProblem, loadDeploymentSpec, unwrapSpec, validateDeploymentObject } from '../spec/index.js';
import { placeInDeploymentFile } from '../spec/locate-keys.js';
import type { ProgressEvent } from '../model/progress.js';
import type { DeploymentSpec } from '../spec/types.js';
import { localRunProblems } from '../model/local-run.js';
import { parseRuntimeChoice } from '../model/runtime-kind.js';
import { debugProblem, type DebugView } from '../model/debug.js';
import { planInlineModel, registerPlannedModel, type InlineModelPlan } from '../registry/inline-model.js';
import type { PythonChoice } from '../model/process-interpreter.js';
import { resolveDeploymentAssets } from '../registry/resolve.js';
import { debugSettingsOf, writeLaunchConfiguration, type DebugFlags } from './debug-launch.js';
import { specOrThrow, type EngineDeps } from './deps.js';
import { checkSecretInjection } from './secret-check.js';
import { createEndpoint } from './endpoint-create.js';
import { keptAfterFailedCreate } from './failed-create.js';
import { resolvePythonChoice } from './python-choice.js';

export interface DeploymentApplyOptions extends DebugFlags {
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
  /** az's --local: a create whose endpoint does not exist makes it, local (ensureLocalEndpoint). */
  local?: boolean;
  /**
   * A named inline model whose version is registered with other files: refused as Azure refuses
   * it (the default), or, in watch mode, a warning (the registry keeps its files, the edited ones run).
   */
  modelVersionConflict?: 'refuse' | 'warn';
}

export interface DeploymentApplyDeps extends EngineDeps {
  /** The command's environment: its OEP_PYTHON (and PATH) name the process runtime's interpreter. */
  env: NodeJS.ProcessEnv;
  /** --debug: where debugpy listens and the attach configuration, as soon as the daemon has the deployment (before it is ready). */
  onDebug?: (debug: DebugView) => void | Promise<void>;
  /**
   * The python setting, read now. Absent: the settings are opened for it; watch mode passes one
   * that keeps them open (opening compiles their schema, a tenth of a second on every reload).
   */
  pythonSetting?: () => Promise<string>;
}

/** `deployment create` and `deployment update`: load and validate, then hand over to the daemon. */
export async function applyDeployment(mode: 'create' | 'update', options: DeploymentApplyOptions, deps: DeploymentApplyDeps): Promise<unknown> {
  // Checked before the YAML is read, so a typo changes nothing; the daemon checks it again.
  parseRuntimeChoice(options.runtime);
  const debug = debugSettingsOf(options);
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
  const notDebuggable = debug ? debugProblem(spec) : undefined;
  if (notDebuggable) throw new OepError('OEP_ERR_USAGE', `--debug: ${notDebuggable}`, { hint: 'Nothing was changed.' });
  const problems = [...resolved.problems, ...localRunProblems(spec)];
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `Deployment ${spec.name} cannot run on this machine.`, {
      details: problems.map((problem) => (options.file ? `${options.file}: ${problem}` : problem)),
      hint: 'Nothing was changed. The YAML stays valid for Azure.',
    });
  }
  const inlineModel = await planInlineModel(spec, deps.client.paths.home);
  if (inlineModel.conflict) await reportModelConflict(inlineModel, options, deps);
  spec = inlineModel.spec;
  // Secret references (${{azureml://connections/...}}, ${{keyvault:...}}) that name nothing: Azure's
  // SecretsInjectionError, before anything changes (the daemon resolves them again at the start).
  await checkSecretInjection(spec, {
    home: deps.client.paths.home,
    ...(options.file && { source: { file: options.file, cwd: deps.cwd, name: options.name, endpointName: options.endpointName, set: options.set } }),
  });
  if (options.local === true && mode === 'create') await ensureLocalEndpoint(spec.endpoint_name, deps);
  // The process runtime's interpreter, as this command names it; --runtime docker does not use one.
  const python = options.runtime === 'docker' ? undefined : await commandPython(deps);
  deps.onSubmit?.({ endpoint: spec.endpoint_name, deployment: spec.name });
  // The daemon says where debugpy will listen once it has recorded the deployment; the attach
  // configuration (which depends on the runtime it chose) is then in the deployment's view.
  let debugShown: Promise<void> | undefined;
  const onEvent = (event: ProgressEvent): void => {
    deps.onEvent?.(event);
    if (event.phase !== 'debug' || !deps.onDebug || debugShown) return;
    debugShown = deps.client
      .call('deployment.show', { endpoint: spec.endpoint_name, name: spec.name })
      .then((view) => (view.debug ? deps.onDebug!(view.debug as DebugView) : undefined))
      .catch((error: Error) => deps.onEvent?.({ phase: 'warning', message: `could not show how to attach a debugger: ${error.message}` }));
  };
  let result: unknown;
  let recorded = false;
  try {
    result = await deps.client.call(
      `deployment.${mode}`,
      {
        spec,
        allTraffic: options.allTraffic,
        runtime: options.runtime,
        pull: options.pull === true,
        gpu: options.localEnableGpu === true,
        ...(debug && { debug }),
        ...(python && { python }),
      },
      { onEvent, untilAccepted: options.wait === false, onAccepted: () => void (recorded = true) },
    );
  } catch (error) {
    // Azure registers the model before it creates the deployment: one that failed to start has it
    // too, and so does one the daemon had recorded when it stopped answering (it finishes it).
    if (isOepError(error) && error.code === 'OEP_ERR_DEPLOYMENT_FAILED') await registerInlineModel(inlineModel, deps);
    else if (error instanceof DaemonConnectionLost && error.recorded === true) await registerInlineModel(inlineModel, deps);
    throw mode === 'create' && recorded ? keptAfterFailedCreate(error, options, spec) : error;
  } finally {
    await debugShown;
  }
  await registerInlineModel(inlineModel, deps);
  // --vscode: only a deployment that was made (or, with --no-wait, accepted) gets a launch configuration.
  const shown = (result as { debug?: DebugView } | undefined)?.debug;
  if (options.vscode && shown) await writeAttachConfiguration(deps, shown);
  return result;
}

/**
 * `deployment create --local` for an endpoint that does not exist: Azure's local mode runs the
 * deployment under a stand-in endpoint; oep creates that endpoint with --local (key auth and the
 * defaults, as `endpoint create -n NAME --local`), which says so in its notice.
 */
async function ensureLocalEndpoint(endpoint: string, deps: EngineDeps): Promise<void> {
  try {
    await deps.client.call('endpoint.show', { name: endpoint });
    return;
  } catch (error) {
    if (!(error instanceof OepError) || error.code !== 'OEP_ERR_ENDPOINT_NOT_FOUND') throw error;
  }
  await createEndpoint({ name: endpoint, set: [], local: true }, deps);
}

/**
 * A named inline model's version registered with other files: exit 2 before anything changes,
 * pointing at model.version in the YAML (Azure's "Asset paths cannot be updated"); in watch mode a
 * warning, so that editing the model's files keeps reloading.
 */
async function reportModelConflict(plan: InlineModelPlan, options: DeploymentApplyOptions, deps: DeploymentApplyDeps): Promise<void> {
  const { name, version } = plan.existing!;
  const what = `give the changed files a new version (model.version, or leave it out for the next one), or deploy the registered ones: model: azureml:${name}:${version}`;
  if (options.modelVersionConflict === 'warn') {
    deps.onEvent?.({ phase: 'warning', message: `${plan.conflict} The registered version keeps its files; this deployment runs the ones at model.path. Azure would refuse it: ${what}.` });
    return;
  }
  const raw = { path: ['model', 'version'], at: 'value' as const, message: plan.conflict! };
  const where = options.file
    ? formatProblem((await placeInDeploymentFile({ file: options.file, cwd: deps.cwd, name: options.name, endpointName: options.endpointName, set: options.set }, [raw]))[0]!)
    : `deployment ${plan.spec.name}: ${plan.conflict}`;
  throw new OepError('OEP_ERR_ASSET_EXISTS', `Deployment ${plan.spec.name}: the inline model's version is registered with other files.`, {
    details: [where],
    hint: `${what.charAt(0).toUpperCase()}${what.slice(1)}. Nothing was changed.`,
  });
}

/** Registers a named inline model once the daemon has the deployment; a race lost to other files is a warning. */
async function registerInlineModel(plan: InlineModelPlan, deps: DeploymentApplyDeps): Promise<void> {
  const conflict = await registerPlannedModel(plan, deps.client.paths.home);
  if (conflict) deps.onEvent?.({ phase: 'warning', message: `${conflict} The registered version keeps its files.` });
}

/** OEP_PYTHON of the command, else `oep config get python` of its OEP_HOME, resolved in its environment. */
async function commandPython(deps: DeploymentApplyDeps): Promise<PythonChoice> {
  const { openSettings, SETTING_RULES } = await import('../state/settings.js');
  return resolvePythonChoice({
    env: deps.env,
    cwd: deps.cwd,
    setting: deps.pythonSetting ?? (async () => (await openSettings(deps.env)).get('python')),
    settingDefault: SETTING_RULES.python.default,
  });
}

/** Merges the attach configuration into ./.vscode/launch.json; a file it cannot read is left alone, with a warning. */
async function writeAttachConfiguration(deps: DeploymentApplyDeps, debug: DebugView): Promise<void> {
  try {
    const file = await writeLaunchConfiguration(deps.cwd, debug.attach);
    deps.onEvent?.({ phase: 'notice', message: `wrote the configuration "${debug.attach.name}" into ${file} (Run and Debug: attach with it)` });
  } catch (error) {
    if (!(error instanceof OepError)) throw error;
    deps.onEvent?.({ phase: 'warning', message: `${error.message} ${error.hint ?? ''}`.trim() });
  }
}
