import { Command, Option } from '../../commander.js';
import type { EndpointExportOptions as EngineExportOptions } from '../../../engine/export.js';
import type { CliContext } from '../../context.js';
import type { RunCommand } from '../../run-command.js';

/** The flags map one to one onto the engine's options (which checks them). */
export type EndpointExportOptions = EngineExportOptions;

/** Exports the endpoint: prints the objects, or writes the folder and says how to apply it. */
export async function runEndpointExport(ctx: CliContext, options: EndpointExportOptions): Promise<void> {
  const { exportEndpoint } = await import('../../../engine/export.js');
  const result = await exportEndpoint(options, {
    client: ctx.client,
    cwd: ctx.cwd,
    onEvent: (event) => void ctx.stderr.write(`${event.phase}: ${event.message}\n`),
  });
  if ('text' in result) {
    ctx.stdout.write(result.text);
    return;
  }
  ctx.stdout.write(`${result.files.join('\n')}\n`);
  ctx.stderr.write(`hint: build the images (see the top of kustomization.yaml), then: kubectl apply -k ${result.directory}\n`);
}

export function endpointExportCommand(ctx: CliContext, run: RunCommand<EndpointExportOptions> = runEndpointExport): Command {
  return new Command('export')
    .description(
      'Export an endpoint to Kubernetes: Deployments, Services, a Secret with the keys, a Gateway API Gateway and HTTPRoute ' +
        '(traffic, mirror, the azureml-model-deployment pin, timeouts) and a key-auth policy; -d DIR for kubectl apply -k, ' +
        'or -o yaml (--registry, --gateway-class, --auth-policy: see docs/scale-out.md).',
    )
    .requiredOption('-n, --name <name>', 'endpoint name')
    .addOption(new Option('--format <format>', 'what to export to').choices(['kubernetes']).default('kubernetes'))
    .option('--registry <registry>', 'registry the deployment images are pushed to (oep deployment build --push), e.g. myacr.azurecr.io')
    .option('--gateway-class <name>', 'GatewayClass of the Gateway', 'envoy-gateway')
    .addOption(new Option('--auth-policy <implementation>', "whose key-auth policy to emit (none: add your own)").choices(['envoy-gateway', 'none']).default('envoy-gateway'))
    .option('-d, --directory <dir>', 'write a folder for kubectl apply -k')
    .addOption(new Option('-o, --output <format>', 'print the objects instead of writing a folder (default: yaml)').choices(['yaml', 'json']))
    .action(async (flags: EndpointExportOptions) => {
      await run(ctx, {
        name: flags.name,
        format: flags.format,
        registry: flags.registry,
        gatewayClass: flags.gatewayClass,
        authPolicy: flags.authPolicy,
        directory: flags.directory,
        output: flags.output,
      });
    });
}
