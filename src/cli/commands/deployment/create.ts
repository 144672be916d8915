import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData } from '../../print.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import { deploymentApplyCommand, type ApplyFlags } from './apply-flags.js';

export function deploymentCreateCommand(ctx: CliContext): Command {
  return deploymentApplyCommand('create', 'Create a deployment and wait until it answers.')
    .action(async (flags: ApplyFlags) => {
      await checkOutputFlags(flags);
      const { applyDeployment } = await import('../../../engine/deployment-apply.js');
      const result = await withProgress(ctx, 'creating deployment', 'deployment ready', (progress) =>
        applyDeployment('create', flags, {
          client: ctx.client,
          cwd: ctx.cwd,
          onEvent: progress.onEvent,
          onSubmit: ({ endpoint, deployment }) =>
            (progress.whenInterrupted = daemonGoesOn(`creating deployment ${deployment} of endpoint ${endpoint}`, `oep deployment show -n ${deployment} -e ${endpoint}`)),
        }),
      );
      await printData(ctx, result, flags);
    });
}
