import { Command, Option } from 'commander';
import { collect } from '../../options.js';
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
      .option('--local-enable-gpu', 'docker: give the containers the GPUs (needs the NVIDIA container toolkit)', false),
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
    const result = await withProgress(ctx, `${doing} deployment`, done, (progress) =>
      applyDeployment(mode, flags, {
        client: ctx.client,
        cwd: ctx.cwd,
        onEvent: progress.onEvent,
        onSubmit: ({ endpoint, deployment }) =>
          (progress.whenInterrupted = daemonGoesOn(`${doing} deployment ${deployment} of endpoint ${endpoint}`, `oep deployment show -n ${deployment} -e ${endpoint}`)),
      }),
    );
    await printData(ctx, result, flags);
  };
}
