import { isOepError, OepError } from '../errors.js';
import type { DeploymentApplyParams, EndpointUpdateParams, MethodName, ParamsOf, ResultOf } from './api.js';

/**
 * The daemon's connection dropped before the call's last frame (the daemon was killed, crashed
 * or stopped): the CLI says so instead of printing a stack trace. `accepted` says whether the
 * daemon had sent its "accepted" frame, i.e. had recorded the work, before it went.
 */
export class DaemonConnectionLost extends OepError {
  readonly method: MethodName;
  readonly params: object;
  readonly accepted: boolean;
  /** What asking the daemon again found: the work recorded (true), not (false), or not known. */
  readonly recorded: boolean | undefined;

  constructor(call: LostCall, message: string, options: { details?: string[]; hint?: string; recorded?: boolean } = {}) {
    super('OEP_ERR_DAEMON_LOST', message, { details: options.details, hint: options.hint });
    this.method = call.method;
    this.params = call.params;
    this.accepted = call.accepted;
    this.recorded = options.recorded ?? (call.accepted ? true : undefined);
  }

  /** The drop as the client sees it, before anyone asks the daemon again. */
  static plain(call: LostCall, daemonLog: string): DaemonConnectionLost {
    return new DaemonConnectionLost(call, `The oep daemon stopped answering during ${describeCall(call.method, call.params)}.`, {
      details: call.accepted ? ['It had recorded the work before it stopped: the daemon finishes it when it runs again.'] : [],
      hint: `Run the command again (it starts the daemon when none runs). Why the daemon stopped may be in its log: ${daemonLog}`,
    });
  }
}

export interface LostCall {
  method: MethodName;
  params: object;
  accepted: boolean;
}

/** How the client asks the daemon again, once the connection has dropped. */
export interface DaemonAgain {
  /**
   * Calls a method; undefined when no daemon runs and none is to be started (the daemon was
   * stopped on purpose). Rejects as calls do (e.g. OEP_ERR_DEPLOYMENT_NOT_FOUND).
   */
  ask<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M> | undefined>;
  daemonLog: string;
}

/**
 * Turns a dropped connection into what the user needs: that the daemon stopped answering during
 * which command, whether the work was recorded (the "accepted" frame, or else what the daemon,
 * asked again, now holds), and the command that shows the outcome. Never throws.
 */
export async function explainLostCall(lost: DaemonConnectionLost, daemon: DaemonAgain): Promise<DaemonConnectionLost> {
  const message = `The oep daemon stopped answering during ${describeCall(lost.method, lost.params)}.`;
  const change = changeOf(lost.method, lost.params);
  const why = `why the daemon stopped may be in its log: ${daemon.daemonLog}`;
  const pid = await daemonAgain(daemon);
  if (!change) {
    return new DaemonConnectionLost(lost, message, {
      details: [...readNote(lost.method, lost.params), answerOfDaemon(pid)],
      hint: `${rerunHint(lost.method, lost.params)} (${why})`,
    });
  }
  const details: string[] = [];
  if (lost.accepted) details.push(`The ${change.verb} was recorded before the daemon stopped: the daemon finishes it when it runs again.`);
  const observed = typeof pid === 'number' ? await observeChange(change, daemon) : undefined;
  const recorded = lost.accepted ? true : observed instanceof Error ? undefined : observed?.recorded;
  details.push(outcomeLine(change, lost.accepted, pid, observed));
  return new DaemonConnectionLost(lost, message, { details, hint: `See the outcome with: ${change.show} (${why})`, recorded });
}

/** How often the daemon is asked again when the asking's own connection drops too. */
const ASK_ATTEMPTS = 3;

/**
 * The daemon's pid once it answers again; 'stopped' when it was stopped on purpose; the error
 * otherwise. A daemon being started again (by the keeper, or by this very ask) may drop the first
 * connection, e.g. one that lost the start race and exits: that connection is asked again, a few
 * times, before the outcome is called unknown.
 */
async function daemonAgain(daemon: DaemonAgain): Promise<number | 'stopped' | Error> {
  for (let attempt = 1; ; attempt++) {
    try {
      const status = await daemon.ask('status', {});
      return status === undefined ? 'stopped' : status.pid;
    } catch (error) {
      if (error instanceof DaemonConnectionLost && attempt < ASK_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        continue;
      }
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}

function answerOfDaemon(pid: number | 'stopped' | Error): string {
  if (pid === 'stopped') return 'The daemon was stopped (its socket is gone, as after oep daemon stop), so oep did not start it again; the next oep command does.';
  if (pid instanceof Error) return `Asking the daemon again failed: ${pid.message}`;
  return `The daemon answers again (pid ${pid}).`;
}

function outcomeLine(change: Change, accepted: boolean, pid: number | 'stopped' | Error, observed: Observed | Error | undefined): string {
  if (pid === 'stopped') {
    const known = accepted ? `it finishes the ${change.verb} once it runs` : `whether the ${change.verb} was recorded is known once it runs`;
    return `The daemon was stopped (its socket is gone, as after oep daemon stop), so oep did not start it again: ${known} (the next oep command starts it).`;
  }
  if (pid instanceof Error) return `${accepted ? 'Asking' : `Whether the ${change.verb} was recorded is not known: asking`} the daemon again failed: ${pid.message}`;
  if (observed instanceof Error || observed === undefined) {
    const reason = observed instanceof Error ? observed.message : 'no answer';
    return `${accepted ? 'Asking' : `Whether the ${change.verb} was recorded is not known: asking`} the daemon (pid ${pid}) again failed: ${reason}`;
  }
  const asked = `asked again, the daemon (pid ${pid}) shows ${observed.now}`;
  if (accepted) return `${capitalise(asked)}.`;
  if (observed.recorded === true) return `The ${change.verb} was recorded: ${asked}.`;
  if (observed.recorded === false) return `The ${change.verb} was not recorded: ${asked}. Nothing was changed: run the command again.`;
  return `${capitalise(asked)}; whether the ${change.verb} was done cannot be told from it.`;
}

async function observeChange(change: Change, daemon: DaemonAgain): Promise<Observed | Error> {
  try {
    return await change.observe(daemon);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** What the daemon, asked again, holds of the target: `now` completes "the daemon shows ...". */
interface Observed {
  recorded: boolean | undefined;
  now: string;
}

/** A call that changes state, and how to tell afterwards whether it did. */
interface Change {
  /** The noun of "the update was recorded". */
  verb: string;
  /** The command that shows the outcome, ready to paste. */
  show: string;
  observe(daemon: DaemonAgain): Promise<Observed>;
}

function changeOf(method: MethodName, params: object): Change | undefined {
  switch (method) {
    case 'deployment.create':
    case 'deployment.update':
      return deploymentApplyChange(method === 'deployment.create' ? 'create' : 'update', params as DeploymentApplyParams);
    case 'deployment.delete':
      return deploymentDeleteChange(params as ParamsOf<'deployment.delete'>);
    case 'endpoint.create':
      return endpointCreateChange(params as ParamsOf<'endpoint.create'>);
    case 'endpoint.update':
      return endpointUpdateChange(params as EndpointUpdateParams);
    case 'endpoint.delete':
      return endpointDeleteChange(params as ParamsOf<'endpoint.delete'>);
    case 'endpoint.regenerateKeys':
      return regenerateKeysChange(params as ParamsOf<'endpoint.regenerateKeys'>);
    case 'batchEndpoint.create':
    case 'batchEndpoint.update':
      return batchEndpointApplyChange(method === 'batchEndpoint.create' ? 'create' : 'update', params as ParamsOf<'batchEndpoint.create'>);
    case 'batchEndpoint.delete':
      return batchEndpointDeleteChange(params as ParamsOf<'batchEndpoint.delete'>);
    case 'batchDeployment.create':
    case 'batchDeployment.update':
      return batchDeploymentApplyChange(method === 'batchDeployment.create' ? 'create' : 'update', params as ParamsOf<'batchDeployment.create'>);
    case 'batchDeployment.delete':
      return batchDeploymentDeleteChange(params as ParamsOf<'batchDeployment.delete'>);
    default:
      return undefined;
  }
}

function deploymentShow(endpoint: string, name: string): string {
  return `oep deployment show -n ${shellWord(name)} -e ${shellWord(endpoint)} --query provisioning_state`;
}

function endpointShow(name: string): string {
  return `oep endpoint show -n ${shellWord(name)} --query provisioning_state`;
}

/** create/update: recorded when the daemon holds the deployment with exactly the configuration sent. */
function deploymentApplyChange(verb: 'create' | 'update', params: DeploymentApplyParams): Change {
  const endpoint = params.spec.endpoint_name;
  const name = params.spec.name;
  return {
    verb,
    show: deploymentShow(endpoint, name),
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('deployment.show', { endpoint, name }));
      if (view === undefined) return { recorded: false, now: `no deployment ${name} in endpoint ${endpoint}` };
      const stored = await daemon.ask('deployment.spec', { endpoint, name });
      const state = stateOf(view);
      if (sameJson(stored, params.spec)) return { recorded: true, now: `deployment ${name} ${state}, with this ${verb}'s configuration` };
      const other = verb === 'update' ? 'its earlier configuration' : `another configuration than this ${verb}'s`;
      return { recorded: false, now: `deployment ${name} ${state}, with ${other}` };
    },
  };
}

function deploymentDeleteChange(params: ParamsOf<'deployment.delete'>): Change {
  const { endpoint, name } = params;
  return {
    verb: 'delete',
    show: deploymentShow(endpoint, name),
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('deployment.show', { endpoint, name }));
      return deletion(view, `deployment ${name}`, `no deployment ${name} in endpoint ${endpoint} any more`);
    },
  };
}

function endpointCreateChange(params: ParamsOf<'endpoint.create'>): Change {
  const name = params.spec.name;
  return {
    verb: 'create',
    show: endpointShow(name),
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('endpoint.show', { name }));
      if (view === undefined) return { recorded: false, now: `no endpoint ${name}` };
      const stored = await daemon.ask('endpoint.spec', { name });
      // A new endpoint has no traffic yet: the rest of the file is what it keeps.
      const same = sameJson(withoutTraffic(stored), withoutTraffic(params.spec));
      return { recorded: same, now: `endpoint ${name} ${stateOf(view)}${same ? ", with this create's configuration" : ", with another configuration than this create's"}` };
    },
  };
}

/** update: recorded when what it set (the file's keys, traffic, mirror traffic) is what the endpoint has. */
function endpointUpdateChange(params: EndpointUpdateParams): Change {
  const name = params.name;
  const traffic = params.traffic ?? (params.spec && params.keepTraffic !== true ? params.spec.traffic : undefined);
  const mirror = params.mirror ?? (params.spec && params.keepMirror !== true ? params.spec.mirror_traffic : undefined);
  return {
    verb: 'update',
    show: `oep endpoint show -n ${shellWord(name)} --query "{provisioning_state: provisioning_state, traffic: traffic, mirror_traffic: mirror_traffic}"`,
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('endpoint.show', { name }));
      if (view === undefined) return { recorded: false, now: `no endpoint ${name}` };
      const stored = await daemon.ask('endpoint.spec', { name });
      const checks: boolean[] = [];
      if (params.spec) checks.push(sameJson(withoutTraffic(stored), withoutTraffic(params.spec)));
      if (traffic) checks.push(sameJson(withoutZeros(stored?.traffic), withoutZeros(traffic)));
      if (mirror) checks.push(sameJson(withoutZeros(stored?.mirror_traffic), withoutZeros(mirror)));
      const recorded = checks.length === 0 ? undefined : checks.every(Boolean);
      const held = recorded === undefined ? '' : recorded ? ", with this update's settings" : ', with its earlier settings';
      return { recorded, now: `endpoint ${name} ${stateOf(view)} (traffic ${describeTraffic(stored?.traffic)})${held}` };
    },
  };
}

function endpointDeleteChange(params: ParamsOf<'endpoint.delete'>): Change {
  const name = params.name;
  return {
    verb: 'delete',
    show: endpointShow(name),
    observe: async (daemon) => deletion(await showOrAbsent(daemon.ask('endpoint.show', { name })), `endpoint ${name}`, `no endpoint ${name} any more`),
  };
}

/** New keys cannot be told from old ones by the daemon's answer: the user compares them. */
function regenerateKeysChange(params: ParamsOf<'endpoint.regenerateKeys'>): Change {
  const name = params.name;
  return {
    verb: 'key regeneration',
    show: `oep endpoint get-credentials -n ${shellWord(name)}`,
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('endpoint.show', { name }));
      return { recorded: undefined, now: view === undefined ? `no endpoint ${name}` : `endpoint ${name} ${stateOf(view)}` };
    },
  };
}

/** Batch changes are one write of the state: recorded when the daemon holds exactly the spec sent (a --set-default may have changed the endpoint's defaults since). */
function batchEndpointApplyChange(verb: 'create' | 'update', params: ParamsOf<'batchEndpoint.create'>): Change {
  const name = params.spec.name;
  return {
    verb,
    show: `oep batch-endpoint show -n ${shellWord(name)}`,
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('batchEndpoint.show', { name }));
      if (view === undefined) return { recorded: false, now: `no batch endpoint ${name}` };
      const stored = await daemon.ask('batchEndpoint.spec', { name });
      const same = sameJson(stored, params.spec);
      return { recorded: same, now: `batch endpoint ${name} ${stateOf(view)}, with ${same ? `this ${verb}'s configuration` : 'another configuration'}` };
    },
  };
}

function batchEndpointDeleteChange(params: ParamsOf<'batchEndpoint.delete'>): Change {
  const name = params.name;
  return {
    verb: 'delete',
    show: `oep batch-endpoint show -n ${shellWord(name)}`,
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('batchEndpoint.show', { name }));
      return view === undefined ? { recorded: true, now: `no batch endpoint ${name} any more: it is deleted` } : { recorded: false, now: `batch endpoint ${name} ${stateOf(view)}` };
    },
  };
}

function batchDeploymentApplyChange(verb: 'create' | 'update', params: ParamsOf<'batchDeployment.create'>): Change {
  const endpoint = params.spec.endpoint_name;
  const name = params.spec.name;
  return {
    verb,
    show: `oep batch-deployment show -n ${shellWord(name)} -e ${shellWord(endpoint)}`,
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('batchDeployment.show', { endpoint, name }));
      if (view === undefined) return { recorded: false, now: `no deployment ${name} in batch endpoint ${endpoint}` };
      const stored = await daemon.ask('batchDeployment.spec', { endpoint, name });
      const same = sameJson(stored, params.spec);
      return { recorded: same, now: `batch deployment ${name} ${stateOf(view)}, with ${same ? `this ${verb}'s configuration` : 'another configuration'}` };
    },
  };
}

function batchDeploymentDeleteChange(params: ParamsOf<'batchDeployment.delete'>): Change {
  const { endpoint, name } = params;
  return {
    verb: 'delete',
    show: `oep batch-deployment show -n ${shellWord(name)} -e ${shellWord(endpoint)}`,
    observe: async (daemon) => {
      const view = await showOrAbsent(daemon.ask('batchDeployment.show', { endpoint, name }));
      return view === undefined ? { recorded: true, now: `no deployment ${name} in batch endpoint ${endpoint} any more: it is deleted` } : { recorded: false, now: `batch deployment ${name} ${stateOf(view)}` };
    },
  };
}

/** A delete is recorded once the target is Deleting, and done once it is gone. */
function deletion(view: Record<string, unknown> | undefined, target: string, gone: string): Observed {
  if (view === undefined) return { recorded: true, now: `${gone}: it is deleted` };
  const state = stateOf(view);
  return { recorded: state === 'Deleting', now: `${target} ${state}` };
}

/** A show's answer, or undefined when the daemon says the endpoint or deployment does not exist. */
async function showOrAbsent(shown: Promise<Record<string, unknown> | undefined>): Promise<Record<string, unknown> | undefined> {
  try {
    const view = await shown;
    if (view === undefined) throw new Error('the daemon does not run');
    return view;
  } catch (error) {
    if (isOepError(error) && (error.code === 'OEP_ERR_DEPLOYMENT_NOT_FOUND' || error.code === 'OEP_ERR_ENDPOINT_NOT_FOUND')) return undefined;
    throw error;
  }
}

function stateOf(view: Record<string, unknown>): string {
  return typeof view.provisioning_state === 'string' ? view.provisioning_state : 'in an unknown state';
}

function withoutTraffic(spec: object | undefined): object {
  const { traffic: _traffic, mirror_traffic: _mirror, ...rest } = (spec ?? {}) as Record<string, unknown>;
  return rest;
}

/** The daemon drops 0% entries when it records traffic. */
function withoutZeros(traffic: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(traffic ?? {}).filter(([, percent]) => percent !== 0));
}

function describeTraffic(traffic: Record<string, number> | undefined): string {
  const entries = Object.entries(withoutZeros(traffic));
  return entries.length === 0 ? 'none' : entries.map(([name, percent]) => `${name}=${percent}`).join(' ');
}

/** Equal as JSON, whatever the order of keys (a stored spec comes back through JSON). */
function sameJson(left: unknown, right: unknown): boolean {
  return canonicalJson(left) === canonicalJson(right);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * What the call was, as the user knows it: the command (or, for the reads a command makes first,
 * what it read) and its target. A table over every method, so a new one cannot be forgotten.
 */
const CALLS: { [M in MethodName]: (params: ParamsOf<M>) => string } = {
  status: () => 'a status request',
  shutdown: () => 'daemon stop',
  restart: () => 'daemon restart',
  'endpoint.list': () => 'endpoint list',
  'endpoint.show': (p) => `endpoint show (endpoint ${p.name})`,
  'endpoint.traffic': (p) => `a read of endpoint ${p.name}'s traffic`,
  'endpoint.spec': (p) => `a read of endpoint ${p.name}'s configuration`,
  'endpoint.create': (p) => `endpoint create (endpoint ${p.spec.name})`,
  'endpoint.update': (p) => `endpoint update (endpoint ${p.name})`,
  'endpoint.delete': (p) => `endpoint delete (endpoint ${p.name})`,
  'endpoint.credentials': (p) => `endpoint get-credentials (endpoint ${p.name})`,
  'endpoint.regenerateKeys': (p) => `endpoint regenerate-keys (endpoint ${p.name})`,
  'endpoint.export': (p) => `endpoint export (endpoint ${p.name})`,
  'traffic.compare': (p) => `traffic compare (endpoint ${p.name})`,
  'dashboard.url': () => 'dashboard',
  'deployment.list': (p) => `deployment list (endpoint ${p.endpoint})`,
  'deployment.show': (p) => `deployment show (deployment ${p.name} of endpoint ${p.endpoint})`,
  'deployment.spec': (p) => `a read of deployment ${p.name}'s configuration (endpoint ${p.endpoint})`,
  'deployment.create': (p) => `deployment create (deployment ${p.spec.name} of endpoint ${p.spec.endpoint_name})`,
  'deployment.update': (p) => `deployment update (deployment ${p.spec.name} of endpoint ${p.spec.endpoint_name})`,
  'deployment.delete': (p) => `deployment delete (deployment ${p.name} of endpoint ${p.endpoint})`,
  'deployment.build': (p) => `deployment build (deployment ${p.name} of endpoint ${p.endpoint})`,
  'deployment.logs': (p) => `deployment get-logs${p.follow === true ? ' --follow' : ''} (deployment ${p.name} of endpoint ${p.endpoint})`,
  'batchEndpoint.list': () => 'batch-endpoint list',
  'batchEndpoint.show': (p) => `batch-endpoint show (batch endpoint ${p.name})`,
  'batchEndpoint.spec': (p) => `a read of batch endpoint ${p.name}'s configuration`,
  'batchEndpoint.create': (p) => `batch-endpoint create (batch endpoint ${p.spec.name})`,
  'batchEndpoint.update': (p) => `batch-endpoint update (batch endpoint ${p.spec.name})`,
  'batchEndpoint.delete': (p) => `batch-endpoint delete (batch endpoint ${p.name})`,
  'batchDeployment.list': (p) => `batch-deployment list (batch endpoint ${p.endpoint})`,
  'batchDeployment.show': (p) => `batch-deployment show (deployment ${p.name} of batch endpoint ${p.endpoint})`,
  'batchDeployment.spec': (p) => `a read of batch deployment ${p.name}'s configuration (batch endpoint ${p.endpoint})`,
  'batchDeployment.create': (p) => `batch-deployment create (deployment ${p.spec.name} of batch endpoint ${p.spec.endpoint_name})`,
  'batchDeployment.update': (p) => `batch-deployment update (deployment ${p.spec.name} of batch endpoint ${p.spec.endpoint_name})`,
  'batchDeployment.delete': (p) => `batch-deployment delete (deployment ${p.name} of batch endpoint ${p.endpoint})`,
  'batchEndpoint.invoke': (p) => `batch-endpoint invoke (batch endpoint ${p.endpoint}${p.deployment ? `, deployment ${p.deployment}` : ''})`,
  'job.show': (p) => `job show (job ${p.name})`,
  'job.list': () => 'job list',
  'job.cancel': (p) => `job cancel (job ${p.name})`,
};

export function describeCall(method: MethodName, params: object): string {
  const describe = CALLS[method] as ((params: object) => string) | undefined;
  return describe ? describe(params) : method;
}

/** Calls that change nothing, or whose work ends with the daemon (a build): what became of it. */
function readNote(method: MethodName, params: object): string[] {
  if (method === 'deployment.build') return ['The image build ran in the daemon and stopped with it: the image may not be complete.'];
  if (method === 'deployment.logs' && (params as ParamsOf<'deployment.logs'>).follow === true) {
    return ['Following stopped with the daemon; the deployment keeps running and its log is kept.'];
  }
  return ['Nothing was changed by this command.'];
}

/** Reads are safe to run again; `get-logs --follow` is given back as the command that resumes it. */
function rerunHint(method: MethodName, params: object): string {
  if (method === 'deployment.logs' && (params as ParamsOf<'deployment.logs'>).follow === true) {
    const { endpoint, name } = params as ParamsOf<'deployment.logs'>;
    return `Follow it again with: oep deployment get-logs -n ${shellWord(name)} -e ${shellWord(endpoint)} --follow`;
  }
  return 'Run the command again';
}

function capitalise(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** A word as a POSIX shell reads it back: as it is when plain, else in single quotes. */
function shellWord(text: string): string {
  if (/^[\w@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
