import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { watch } from './apply-flags.js';

export function deploymentWatchCommand(ctx: CliContext): Command {
  return new Command('watch')
    .description('Reload a running deployment on every save of its code, model (and YAML, with -f) until Ctrl-C; requests never fail.')
    .requiredOption('-n, --name <name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('-f, --file <file>', 'the deployment YAML: watched too, validated again on each save')
    .action(async (flags: { name: string; endpointName: string; file?: string }) => {
      await watch(ctx, { name: flags.name, endpointName: flags.endpointName, file: flags.file, set: [], allTraffic: false });
    });
}
