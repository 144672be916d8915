import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printData } from '../../print.js';
import { daemonGoesOn, withProgress } from '../../progress.js';
import { deploymentApplyCommand, type ApplyFlags } from './apply-flags.js';

export function deploymentUpdateCommand(ctx: CliContext): Command {
  return deploymentApplyCommand('update', 'Update a deployment (from -f, or --set on its current spec); new replicas replace the old once ready.')
    .action(async (flags: ApplyFlags) => {
      await checkOutputFlags(flags);
      const { applyDeployment } = await import('../../../engine/deployment-apply.js');
      const result = await withProgress(ctx, 'updating deployment', 'deployment updated', (progress) =>
        applyDeployment('update', flags, {
          client: ctx.client,
          cwd: ctx.cwd,
          onEvent: progress.onEvent,
          onSubmit: ({ endpoint, deployment }) =>
            (progress.whenInterrupted = daemonGoesOn(`updating deployment ${deployment} of endpoint ${endpoint}`, `oep deployment show -n ${deployment} -e ${endpoint}`)),
        }),
      );
      await printData(ctx, result, flags);
    });
}
