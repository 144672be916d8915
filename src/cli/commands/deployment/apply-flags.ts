import { Command, Option } from 'commander';
import { collect, noWaitOption } from '../../options.js';
import type { DeploymentApplyOptions } from '../../../engine/deployment-apply.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData, withOutputOptions, type OutputFlags } from '../../print.js';
import { daemonGoesOn, withProgress } from '../../progress.js';

/** The flags map one to one onto the engine's options. */
export interface ApplyFlags extends OutputFlags, DeploymentApplyOptions {}

/** The flags `deployment create` and `deployment update` share. */
export function deploymentApplyCommand(name: 'create' | 'update', description: string): Command {
  return withOutputOptions(
    new Command(name)
      .description(description)
      .option('-f, --file <file>', 'deployment YAML')
      .option('-n, --name <name>', 'overrides the deployment name')
      .option('-e, --endpoint-name <name>', 'overrides endpoint_name')
      .option('--set <key=value>', 'overrides a key (repeatable), e.g. instance_count=3', collect, [])
      .option('--all-traffic', 'send 100% of the endpoint traffic here once ready', false)
      .addOption(new Option('--runtime <runtime>', 'where replicas run').choices(['auto', 'docker', 'process']))
      .option('--pull', 'docker: pull base images even when they exist locally', false)
      .option('--local-enable-gpu', 'docker: give the containers the GPUs (needs the NVIDIA container toolkit)', false)
      .addOption(noWaitOption())
      // az validates the script in the cloud before it deploys; oep finds script errors when it starts it.
      .addOption(new Option('--skip-script-validation', 'accepted for az scripts (oep reports script errors when it starts the deployment)').hideHelp())
      .addOption(new Option('--package-model', 'accepted for az scripts: locally the model is mounted, never packaged').hideHelp()),
  );
}

const WORDING = {
  create: { doing: 'creating', done: 'deployment ready' },
  update: { doing: 'updating', done: 'deployment updated' },
};

/** What `deployment create` and `deployment update` do: apply under a progress display, then print. */
export function applyAction(ctx: CliContext, mode: 'create' | 'update'): (flags: ApplyFlags) => Promise<void> {
  const { doing, done } = WORDING[mode];
  return async (flags) => {
    await checkOutputFlags(flags);
    const { applyDeployment } = await import('../../../engine/deployment-apply.js');
    const result = await withProgress(ctx, `${doing} deployment`, flags.wait ? done : 'accepted', (progress) =>
      applyDeployment(mode, flags, {
        client: ctx.client,
        cwd: ctx.cwd,
        onEvent: progress.onEvent,
        onSubmit: ({ endpoint, deployment }) =>
          (progress.whenInterrupted = daemonGoesOn(`${doing} deployment ${deployment} of endpoint ${endpoint}`, `oep deployment show -n ${deployment} -e ${endpoint}`)),
      }),
    );
    if (!flags.wait) {
      const { name, endpoint_name: endpoint } = result as { name: string; endpoint_name: string };
      ctx.stderr.write(`notice: the daemon goes on ${doing} deployment ${name}; follow it with: oep deployment show -n ${name} -e ${endpoint} --query provisioning_state\n`);
    }
    await printData(ctx, result, flags);
  };
}
