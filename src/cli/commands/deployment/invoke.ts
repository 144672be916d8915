import { Command } from '../../commander.js';
import type { CliContext } from '../../context.js';
import { checkOutputFlags, printResponseBody, withOptionalOutputOptions, type OutputFlags } from '../../print.js';
import type { RunCommand } from '../../run-command.js';

export interface DeploymentInvokeOptions extends Partial<OutputFlags> {
  name: string;
  endpointName: string;
  /** The request body's file, or - for standard input. */
  requestFile?: string;
}

/** Sends the request to the one deployment and prints the response body. */
export async function runDeploymentInvoke(ctx: CliContext, options: DeploymentInvokeOptions): Promise<void> {
  const { invokeEndpoint } = await import('../../../engine/invoke.js');
  const result = await invokeEndpoint(
    { endpoint: options.endpointName, deployment: options.name, requestFile: options.requestFile, stdin: ctx.stdin },
    { client: ctx.client, cwd: ctx.cwd },
  );
  await printResponseBody(ctx, result.body, options);
}

export function deploymentInvokeCommand(ctx: CliContext, run: RunCommand<DeploymentInvokeOptions> = runDeploymentInvoke): Command {
  return withOptionalOutputOptions(
    new Command('invoke')
      .description('Send a scoring request to one deployment through the router (azureml-model-deployment header).')
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
      .option('-r, --request-file <file>', 'request body (JSON file, or - for standard input)'),
  ).action(async (flags: DeploymentInvokeOptions) => {
    if (flags.output !== undefined || flags.query !== undefined) await checkOutputFlags({ output: flags.output ?? 'json', query: flags.query });
    await run(ctx, { name: flags.name, endpointName: flags.endpointName, requestFile: flags.requestFile, output: flags.output, query: flags.query });
  });
}
