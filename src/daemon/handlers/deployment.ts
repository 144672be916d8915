import { join } from 'node:path';
import { parseRuntimeChoice } from '../../model/runtime-kind.js';
import { OepError } from '../../errors.js';
import { runtimeOfUpdate } from '../../model/debug.js';
import { describeRecordedPython, recordedPythonOf } from '../../model/process-interpreter.js';
import type { EmitProgress } from '../../runtimes/types.js';
import { deploymentLogDir, storageInitializerLog } from '../../state/paths.js';
import type { DeploymentRecord, RuntimeKind } from '../../state/types.js';
import { followLog } from '../../telemetry/log-follow.js';
import { readLogTail } from '../../telemetry/log-tail.js';
import type { DeploymentApplyParams } from '../api.js';
import { checkDebugRequest, debugStartsEvents } from '../debug-request.js';
import {
  assertDeploymentAbsent,
  assertDeploymentFits,
  assertNoLiveTraffic,
  assertRoomForDeployment,
  refuseWhileDeleting,
  requireDeployment,
  requireEndpoint,
} from '../rules.js';
import type { CallContext, Handlers } from '../server.js';
import { deploymentView } from '../views.js';
import type { ControllerDeps, HandlerContext, RuntimeChoices } from './context.js';

export type DeploymentHandlers = Pick<
  Handlers,
  'deployment.list' | 'deployment.show' | 'deployment.spec' | 'deployment.create' | 'deployment.update' | 'deployment.delete' | 'deployment.build' | 'deployment.logs'
>;

/** The deployment methods: create and update record the change, then roll it out (src/daemon/rollout.ts). */
export function deploymentHandlers(ctx: HandlerContext): DeploymentHandlers {
  const { deps, now, views, liveOf } = ctx;
  const { store, reconciler } = deps;
  const paths = deps.paths;

  /** --debug: where debuggers attach, and whether anyone can (the gate's problems). */
  const announceDebug = (endpoint: string, record: DeploymentRecord, gateProblems: Map<string, string> | undefined, context: CallContext): void => {
    if (!record.debug) return;
    const name = record.spec.name;
    for (const event of debugStartsEvents(name, record.debug, gateProblems?.get(`${endpoint}/${name}`), ctx.debugOptions)) context.emit(event);
  };

  /** After the change is recorded and accepted: notices, the runtime's choices, then the roll-out. */
  const finish = async (record: DeploymentRecord, params: DeploymentApplyParams, context: CallContext): Promise<Record<string, unknown>> => {
    const endpoint = record.spec.endpoint_name;
    const name = record.spec.name;
    await deps.identityNotice?.(endpoint, name, context.emit);
    await deps.configureRuntime?.(record.runtime, endpoint, name, runtimeChoices(params), context.emit);
    await ctx.rollOut(record, context, params.allTraffic === true);
    return deploymentView(requireDeployment(store.snapshot(), endpoint, name), liveOf(endpoint, name), paths);
  };

  return {
    async 'deployment.list'(params) {
      const endpoint = params.endpoint;
      const record = requireEndpoint(store.snapshot(), endpoint);
      // The same shape as deployment show, as az prints full objects in lists.
      return Object.keys(record.deployments)
        .sort()
        .map((name) => deploymentView(record.deployments[name]!, liveOf(endpoint, name), paths));
    },

    async 'deployment.show'(params) {
      const endpoint = params.endpoint;
      const name = params.name;
      return deploymentView(requireDeployment(store.snapshot(), endpoint, name), liveOf(endpoint, name), paths);
    },

    async 'deployment.spec'(params) {
      return requireDeployment(store.snapshot(), params.endpoint, params.name).spec;
    },

    async 'deployment.create'(params, context) {
      const spec = params.spec;
      const runtime = await resolveRuntime(params.runtime, deps, context.emit);
      const endpoint = spec.endpoint_name;
      const debug = await checkDebugRequest(params.debug, store.snapshot(), endpoint, spec, ctx.debugOptions);
      // The command's interpreter, on the process runtime only; one that cannot run changes nothing.
      const python = recordedPythonOf(runtime, params.python, undefined);
      const record = await store.mutate((state) => {
        const owner = requireEndpoint(state, endpoint);
        refuseWhileDeleting(owner, undefined, `given deployment ${spec.name}`);
        assertDeploymentFits(owner, spec);
        assertDeploymentAbsent(owner, spec.name);
        assertRoomForDeployment(owner);
        const stamp = new Date(now()).toISOString();
        const fresh: DeploymentRecord = {
          spec,
          runtime,
          provisioning_state: 'Creating',
          generation: 1,
          created_at: stamp,
          updated_at: stamp,
          ...(debug && { debug }),
          ...(python && { python }),
        };
        owner.deployments[spec.name] = fresh;
        return fresh;
      });
      announceDebug(endpoint, record, await ctx.syncRoute(endpoint), context);
      context.accept(deploymentView(record, { replicas: [] }, paths));
      return finish(record, params, context);
    },

    async 'deployment.update'(params, context) {
      const spec = params.spec;
      const endpoint = spec.endpoint_name;
      const requested = params.runtime === undefined ? undefined : await resolveRuntime(params.runtime, deps, context.emit);
      const debugging = params.debug !== undefined && params.debug !== null;
      const before = requireDeployment(store.snapshot(), endpoint, spec.name);
      refuseWhileDeleting(requireEndpoint(store.snapshot(), endpoint), before, 'updated');
      const next = runtimeOfUpdate({ runtime: before.runtime, runtimeBeforeDebug: before.runtime_before_debug }, { runtime: requested, debug: debugging });
      if (requested === undefined) await deps.checkRuntime?.(next.runtime);
      const debug = await checkDebugRequest(params.debug, store.snapshot(), endpoint, spec, ctx.debugOptions);
      // Resolved again by every update's command: another OEP_PYTHON (or setting) switches it.
      const python = recordedPythonOf(next.runtime, params.python, before.python);
      const record = await store.mutate((state) => {
        const current = requireDeployment(state, endpoint, spec.name);
        refuseWhileDeleting(requireEndpoint(state, endpoint), current, 'updated');
        assertDeploymentFits(requireEndpoint(state, endpoint), spec);
        current.spec = spec;
        current.runtime = next.runtime;
        if (next.runtimeBeforeDebug) current.runtime_before_debug = next.runtimeBeforeDebug;
        else delete current.runtime_before_debug;
        current.generation += 1;
        current.provisioning_state = 'Updating';
        current.updated_at = new Date(now()).toISOString();
        delete current.failure;
        // An update without --debug ends debugging.
        if (debug) current.debug = debug;
        else delete current.debug;
        if (python) current.python = python;
        else delete current.python;
        return current;
      });
      announceDebug(endpoint, record, await ctx.syncRoute(endpoint), context);
      if (!debugging && requested === undefined && before.runtime_before_debug && record.runtime !== before.runtime) {
        context.emit({ phase: 'notice', message: `deployment ${spec.name} goes back to the ${record.runtime} runtime it ran on before --debug (--runtime chooses another)` });
      }
      if (before.python && python && before.python.path !== python.path) {
        context.emit({ phase: 'notice', message: `deployment ${spec.name}: the process runtime's interpreter changes from ${describeRecordedPython(before.python)} to ${describeRecordedPython(python)}; its replicas restart with it` });
      }
      context.accept(deploymentView(record, liveOf(endpoint, spec.name), paths));
      return finish(record, params, context);
    },

    async 'deployment.delete'(params, context) {
      const endpoint = params.endpoint;
      const name = params.name;
      // Again on a deployment already Deleting (a delete interrupted, or one under way): it finishes.
      const purge = await store.mutate((state) => {
        const owner = requireEndpoint(state, endpoint);
        const record = requireDeployment(state, endpoint, name);
        // Its endpoint's delete takes it along; that one is the delete to wait for.
        if (owner.provisioning_state === 'Deleting') refuseWhileDeleting(owner, undefined, `asked to delete deployment ${name} on its own`);
        assertNoLiveTraffic(owner, name);
        record.provisioning_state = 'Deleting';
        if (params.purge === true) record.purge_on_delete = true;
        return record.purge_on_delete === true;
      });
      context.accept();
      await ctx.pause('deployment.delete:marked');
      await ctx.deleter.deployment(endpoint, name, { purge });
      return null;
    },

    async 'deployment.build'(params, context) {
      const endpoint = params.endpoint;
      const name = params.name;
      const { spec } = requireDeployment(store.snapshot(), endpoint, name);
      if (!deps.buildImage) throw new OepError('OEP_ERR_DOCKER_UNAVAILABLE', 'This oep daemon has no Docker engine to build images with.');
      const buildLog = join(deploymentLogDir(paths, endpoint, name), 'image-build.log');
      return deps.buildImage({ spec, tag: params.tag, push: params.push === true, emit: context.emit, buildLog, bakeEnv: params.bake_env === true });
    },

    async 'deployment.logs'(params, context) {
      const endpoint = params.endpoint;
      const name = params.name;
      requireDeployment(store.snapshot(), endpoint, name);
      const file =
        params.container === 'storage-initializer'
          ? storageInitializerLog(paths, endpoint, name)
          : reconciler.logFile(endpoint, name, Number(params.replica ?? 0));
      const lines = Number(params.lines ?? 5000);
      if (params.follow === true) {
        await followLog(file, lines, context.log, context.signal);
        return null;
      }
      const tail = await readLogTail(file, lines);
      return tail === '' ? '' : `${tail}\n`;
    },
  };
}

/** The runtime a create or update asks for, checked before anything is recorded. */
async function resolveRuntime(requested: unknown, deps: ControllerDeps, emit: EmitProgress): Promise<RuntimeKind> {
  const choice = parseRuntimeChoice(requested);
  const kind = choice === 'auto' ? await deps.defaultRuntime(emit) : choice;
  await deps.checkRuntime?.(kind);
  return kind;
}

function runtimeChoices(params: DeploymentApplyParams): RuntimeChoices {
  return { gpu: params.gpu === true, pull: params.pull === true };
}
