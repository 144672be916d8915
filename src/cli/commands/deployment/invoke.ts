import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printResponseBody, withOptionalOutputOptions, type OutputFlags } from '../../print.js';

interface Flags extends Partial<OutputFlags> {
  name: string;
  endpointName: string;
  requestFile?: string;
}

export function deploymentInvokeCommand(ctx: CliContext): Command {
  return withOptionalOutputOptions(
    new Command('invoke')
      .description('Send a scoring request to one deployment through the router (azureml-model-deployment header).')
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
      .option('-r, --request-file <file>', 'request body (JSON file, or - for standard input)'),
  ).action(async (flags: Flags) => {
    if (flags.output !== undefined || flags.query !== undefined) await checkOutputFlags({ output: flags.output ?? 'json', query: flags.query });
    const { invokeEndpoint } = await import('../../../engine/invoke.js');
    const result = await invokeEndpoint(
      { endpoint: flags.endpointName, deployment: flags.name, requestFile: flags.requestFile, stdin: ctx.stdin },
      { client: ctx.client, cwd: ctx.cwd },
    );
    await printResponseBody(ctx, result.body, flags);
  });
}
