import { Command, Option } from '../../commander.js';
import { noWaitOption, setOption } from '../../options.js';
import type { DeploymentApplyOptions } from '../../../engine/deployment-apply.js';
import type { WatchOptions } from '../../../engine/watch.js';
import type { DebugView } from '../../../model/debug.js';
import type { ProgressEvent } from '../../../model/progress.js';
import { RUNTIME_CHOICES } from '../../../model/runtime-kind.js';
import { isOepError, OepError } from '../../../errors.js';
import { renderError } from '../../render-error.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import type { RunCommand } from '../../run-command.js';

/** What commander gives `deployment create` and `deployment update`. */
interface ApplyFlags extends OutputFlags, DeploymentApplyOptions {
  watch: boolean;
}

/** The options `deployment create` and `deployment update` run with: the engine's, the output flags and --watch. */
export interface DeploymentApplyCommandOptions extends OutputFlags, DeploymentApplyOptions {
  watch: boolean;
}

/** The flags `deployment create` and `deployment update` share. */
export function deploymentApplyCommand(name: 'create' | 'update', description: string): Command {
  return withOutputOptions(
    new Command(name)
      .description(description)
      .option('-f, --file <file>', 'deployment YAML')
      .option('-n, --name <name>', 'overrides the deployment name')
      .option('-e, --endpoint-name <name>', 'overrides endpoint_name')
      .addOption(setOption('overrides a key, e.g. instance_count=3'))
      .option('--all-traffic', 'send 100% of the endpoint traffic here once ready', false)
      .addOption(new Option('--runtime <runtime>', 'where replicas run').choices(RUNTIME_CHOICES))
      .option('--pull', 'docker: pull base images even when they exist locally', false)
      .option('--local-enable-gpu', 'docker: give the containers the GPUs (needs the NVIDIA container toolkit)', false)
      .addOption(noWaitOption())
      .option('--watch', 'stay in the foreground and reload the deployment on every save of its YAML, code or model (Ctrl-C stops watching)', false)
      .option('--debug', 'run one replica with one worker under debugpy on 127.0.0.1, no timeouts while a debugger holds a request (update without it: back to normal)')
      .option('--debug-port <port>', 'with --debug: the port debugpy listens on (default 5678)')
      .option('--debug-wait', 'with --debug: debugpy waits for a debugger before the scoring script loads (breakpoints in init())')
      .option('--vscode', 'with --debug: also write the attach configuration into ./.vscode/launch.json (other configurations are kept)')
      // az validates the script in the cloud before it deploys; oep finds script errors when it starts it.
      .addOption(new Option('--skip-script-validation', 'accepted for az scripts (oep reports script errors when it starts the deployment)').hideHelp())
      .addOption(new Option('--package-model', 'accepted for az scripts: locally the model is mounted, never packaged').hideHelp()),
  );
}

const WORDING = {
  create: { doing: 'creating', done: 'deployment ready' },
  update: { doing: 'updating', done: 'deployment updated' },
};

/**
 * The action of `deployment create` and `deployment update`: the checks that need no daemon, then
 * `run` with the options. The flags map one to one onto the options; az's --local (added to every
 * command by program.ts) is one of them: a create with it makes a missing endpoint, local.
 */
export function applyAction(ctx: CliContext, run: RunCommand<DeploymentApplyCommandOptions>): (flags: ApplyFlags) => Promise<void> {
  return async (flags) => {
    await checkOutputFlags(flags);
    if (flags.watch && !flags.wait) throw new OepError('OEP_ERR_USAGE', '--watch and --no-wait do not go together: watching waits for each reload.');
    await run(ctx, {
      file: flags.file,
      name: flags.name,
      endpointName: flags.endpointName,
      set: flags.set,
      allTraffic: flags.allTraffic,
      runtime: flags.runtime,
      pull: flags.pull,
      localEnableGpu: flags.localEnableGpu,
      wait: flags.wait,
      local: flags.local,
      debug: flags.debug,
      debugPort: flags.debugPort,
      debugWait: flags.debugWait,
      vscode: flags.vscode,
      watch: flags.watch,
      output: flags.output,
      query: flags.query,
    });
  };
}

/** What `deployment create` and `deployment update` do: apply under a progress display, then print (or watch). */
export async function runApply(ctx: CliContext, mode: 'create' | 'update', options: DeploymentApplyCommandOptions): Promise<void> {
  const { doing, done } = WORDING[mode];
  const { applyDeployment } = await import('../../../engine/deployment-apply.js');
  let submitted: { endpoint: string; deployment: string } | undefined;
  let result: unknown;
  try {
    result = await withProgress(ctx, `${doing} deployment`, options.wait ? done : 'accepted', (progress) =>
      applyDeployment(mode, options, {
        client: ctx.client,
        cwd: ctx.cwd,
        env: ctx.env,
        onEvent: progress.onEvent,
        onDebug: (debug) => showDebugAttach(debug, options.vscode === true, progress.onEvent),
        onSubmit: (subject) => {
          submitted = { endpoint: subject.endpoint, deployment: subject.deployment! };
          progress.whenInterrupted = daemonGoesOn(`${doing} deployment ${subject.deployment} of endpoint ${subject.endpoint}`, `oep deployment show -n ${subject.deployment} -e ${subject.endpoint}`);
        },
      }),
    );
  } catch (error) {
    // Watching: a first version that fails to start is one more save away from running.
    if (!options.watch || !submitted || !isOepError(error) || error.code !== 'OEP_ERR_DEPLOYMENT_FAILED') throw error;
    ctx.stderr.write(renderError(error, ctx));
  }
  if (options.watch && submitted) {
    if (result !== undefined) await printData(ctx, result, options);
    await watch(ctx, { ...options, name: submitted.deployment, endpointName: submitted.endpoint });
    return;
  }
  if (!options.wait) {
    const { name, endpoint_name: endpoint } = result as { name: string; endpoint_name: string };
    ctx.stderr.write(`notice: the daemon goes on ${doing} deployment ${name}; follow it with: oep deployment show -n ${name} -e ${endpoint} --query provisioning_state\n`);
  }
  await printData(ctx, result, options);
}

/**
 * --debug: where debugpy listens and the attach configuration, on stderr as a notice (stdout
 * keeps the command's data). Said as soon as the daemon has the deployment: with --debug-wait the
 * replica waits for this debugger. (--vscode writes it into ./.vscode/launch.json once the
 * deployment is made: the engine does.)
 */
function showDebugAttach(debug: DebugView, vscode: boolean, say: (event: ProgressEvent) => void): void {
  const waits = debug.wait ? ' and waits for a debugger before the scoring script loads' : '';
  const where = vscode ? ', written there if the command succeeds' : ', or add --vscode';
  // Who can attach: oep's debug gate on that port lets only this user's connections through.
  const who = debug.access === 'open' ? 'any local user can attach while --debug is on (see the warning)' : 'only you can attach (oep checks who connects)';
  const lines = [`debugpy listens on ${debug.host}:${debug.port} once the replica starts${waits}; ${who}. Attach with this configuration (VS Code: .vscode/launch.json${where}):`];
  lines.push(JSON.stringify(debug.attach, null, 2));
  say({ phase: 'notice', message: lines.join('\n') });
}

/** Stays in the foreground, reloading on every save, until Ctrl-C (which leaves the deployment running). */
export async function watch(ctx: CliContext, options: WatchOptions): Promise<void> {
  const { watchDeployment } = await import('../../../engine/watch.js');
  ctx.claimInterrupt();
  await watchDeployment(options, {
    client: ctx.client,
    cwd: ctx.cwd,
    env: ctx.env,
    signal: ctx.interrupt,
    say: (line) => void ctx.stderr.write(`${line}\n`),
  });
}
