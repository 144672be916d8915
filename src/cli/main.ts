import { Command, CommanderError, Option } from 'commander';
import { expandLongOptions } from './abbreviations.js';
import { isOepError, type ExitCode } from '../errors.js';
import { checkHome } from '../state/home-check.js';
import { OEP_VERSION } from '../version.js';
import { configGetCommand } from './commands/config/get.js';
import { configListCommand } from './commands/config/list.js';
import { configSetCommand } from './commands/config/set.js';
import { configUnsetCommand } from './commands/config/unset.js';
import { daemonStartCommand } from './commands/daemon/start.js';
import { daemonStatusCommand } from './commands/daemon/status.js';
import { daemonStopCommand } from './commands/daemon/stop.js';
import { daemonRestartCommand } from './commands/daemon/restart.js';
import { deploymentCreateCommand } from './commands/deployment/create.js';
import { deploymentDeleteCommand } from './commands/deployment/delete.js';
import { deploymentGetLogsCommand } from './commands/deployment/get-logs.js';
import { deploymentInvokeCommand } from './commands/deployment/invoke.js';
import { deploymentListCommand } from './commands/deployment/list.js';
import { deploymentShowCommand } from './commands/deployment/show.js';
import { deploymentUpdateCommand } from './commands/deployment/update.js';
import { deploymentBuildCommand } from './commands/deployment/build.js';
import { deploymentWatchCommand } from './commands/deployment/watch.js';
import { endpointCreateCommand } from './commands/endpoint/create.js';
import { endpointDeleteCommand } from './commands/endpoint/delete.js';
import { endpointExportCommand } from './commands/endpoint/export.js';
import { endpointGetCredentialsCommand } from './commands/endpoint/get-credentials.js';
import { endpointInvokeCommand } from './commands/endpoint/invoke.js';
import { endpointListCommand } from './commands/endpoint/list.js';
import { endpointRegenerateKeysCommand } from './commands/endpoint/regenerate-keys.js';
import { endpointShowCommand } from './commands/endpoint/show.js';
import { endpointUpdateCommand } from './commands/endpoint/update.js';
import { modelCreateCommand } from './commands/model/create.js';
import { modelShowCommand } from './commands/model/show.js';
import { modelListCommand } from './commands/model/list.js';
import { modelArchiveCommand } from './commands/model/archive.js';
import { modelRestoreCommand } from './commands/model/restore.js';
import { environmentCreateCommand } from './commands/environment/create.js';
import { environmentShowCommand } from './commands/environment/show.js';
import { environmentListCommand } from './commands/environment/list.js';
import { environmentArchiveCommand } from './commands/environment/archive.js';
import { environmentRestoreCommand } from './commands/environment/restore.js';
import { trafficSetCommand, trafficMirrorCommand } from './commands/traffic/set.js';
import { trafficShowCommand } from './commands/traffic/show.js';
import { trafficCompareCommand } from './commands/traffic/compare.js';
import { dashboardCommand } from './commands/dashboard/open.js';
import { caPathCommand } from './commands/ca/path.js';
import { connectionCreateCommand } from './commands/connection/create.js';
import { connectionShowCommand } from './commands/connection/show.js';
import { connectionListCommand } from './commands/connection/list.js';
import { connectionUpdateCommand } from './commands/connection/update.js';
import { connectionDeleteCommand } from './commands/connection/delete.js';
import { keyvaultSecretSetCommand } from './commands/keyvault-secret/set.js';
import { keyvaultSecretShowCommand } from './commands/keyvault-secret/show.js';
import { keyvaultSecretListCommand } from './commands/keyvault-secret/list.js';
import { keyvaultSecretListVersionsCommand } from './commands/keyvault-secret/list-versions.js';
import { keyvaultSecretDeleteCommand } from './commands/keyvault-secret/delete.js';
import { validateCommand } from './commands/validate.js';
import type { CliContext } from './context.js';
import { createDefaultContext } from './default-context.js';
import { renderError } from './render-error.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('oep')
    .description('Run Azure ML managed online endpoints on this machine: same YAML, same commands, same HTTP behaviour.')
    .version(OEP_VERSION, '-v, --version')
    // Program options only before a command: `oep model create --version 2` is the asset's version.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nFor scripts written for az ml, every command also accepts --local (oep always runs locally) and the\n' +
        'workspace flags -g/--resource-group, -w/--workspace-name and --subscription (ignored, with a notice);\n' +
        'long options may be shortened to any unambiguous prefix (--endpoint for --endpoint-name).\n',
    );

  const endpoint = new Command('endpoint').alias('online-endpoint').description('Manage online endpoints.');
  for (const make of [
    endpointCreateCommand,
    endpointShowCommand,
    endpointListCommand,
    endpointUpdateCommand,
    endpointDeleteCommand,
    endpointInvokeCommand,
    endpointGetCredentialsCommand,
    endpointRegenerateKeysCommand,
    endpointExportCommand,
  ]) {
    endpoint.addCommand(make(ctx));
  }

  const deployment = new Command('deployment').alias('online-deployment').description("Manage an endpoint's deployments.");
  for (const make of [
    deploymentCreateCommand,
    deploymentShowCommand,
    deploymentListCommand,
    deploymentUpdateCommand,
    deploymentDeleteCommand,
    deploymentGetLogsCommand,
    deploymentInvokeCommand,
    deploymentBuildCommand,
    deploymentWatchCommand,
  ]) {
    deployment.addCommand(make(ctx));
  }

  const daemon = new Command('daemon').description('Control the background daemon that runs endpoints.');
  for (const make of [daemonStartCommand, daemonStopCommand, daemonRestartCommand, daemonStatusCommand]) daemon.addCommand(make(ctx));

  const config = new Command('config').description('Read and change user settings (kept in $OEP_HOME/settings.json), e.g. the default runtime.');
  for (const make of [configGetCommand, configSetCommand, configUnsetCommand, configListCommand]) config.addCommand(make(ctx));

  const traffic = new Command('traffic').description("Show and set an endpoint's live and mirrored traffic (short forms of endpoint update).");
  for (const make of [trafficShowCommand, trafficSetCommand, trafficMirrorCommand, trafficCompareCommand]) traffic.addCommand(make(ctx));

  const model = new Command('model').description("Register and inspect models in oep's local registry (deployments use them as azureml:<name>:<version>).");
  for (const make of [modelCreateCommand, modelShowCommand, modelListCommand, modelArchiveCommand, modelRestoreCommand]) model.addCommand(make(ctx));

  const environment = new Command('environment').description("Register and inspect environments in oep's local registry (azureml:<name>:<version>, or a curated AzureML-<name>).");
  for (const make of [environmentCreateCommand, environmentShowCommand, environmentListCommand, environmentArchiveCommand, environmentRestoreCommand]) {
    environment.addCommand(make(ctx));
  }

  const connection = new Command('connection').description(
    "Workspace connections in oep's local workspace (az ml connection): deployments read their secrets through ${{azureml://connections/...}}.",
  );
  for (const make of [connectionCreateCommand, connectionShowCommand, connectionListCommand, connectionUpdateCommand, connectionDeleteCommand]) connection.addCommand(make(ctx));

  const keyvault = new Command('keyvault').description("oep's local Key Vault (az keyvault secret): deployments read its secrets through ${{keyvault:...}}.");
  const keyvaultSecret = new Command('secret').description("Secrets of oep's local vaults, every version kept.");
  for (const make of [keyvaultSecretSetCommand, keyvaultSecretShowCommand, keyvaultSecretListCommand, keyvaultSecretListVersionsCommand, keyvaultSecretDeleteCommand]) {
    keyvaultSecret.addCommand(make(ctx));
  }
  keyvault.addCommand(keyvaultSecret);

  const ca = new Command('ca').description("oep's local certificate authority, which signs the certificates of HTTPS endpoints (--tls on).");
  ca.addCommand(caPathCommand(ctx));

  // Every command uses OEP_HOME (settings, registry, daemon): one that another user could change
  // is refused before anything is read or written there (src/state/home-check.ts).
  program.hook('preAction', () => checkHome(ctx.home));

  program.addCommand(endpoint).addCommand(deployment).addCommand(traffic).addCommand(model).addCommand(environment).addCommand(connection).addCommand(keyvault).addCommand(daemon).addCommand(config).addCommand(ca).addCommand(dashboardCommand(ctx)).addCommand(validateCommand(ctx));

  // Every command reports usage errors the same way: commander throws, main() maps to exit 2, and
  // the message carries its code like every other error. Required options say so in --help.
  const configure = (command: Command): void => {
    command.exitOverride().configureOutput({
      writeOut: (text) => void ctx.stdout.write(text),
      writeErr: (text) => void ctx.stderr.write(text),
      outputError: (text, write) => write(`${text.trimEnd()}\n(OEP_ERR_USAGE)\n`),
    });
    for (const option of command.options) {
      if (option.mandatory && !option.description.endsWith('(required)')) option.description = `${option.description} (required)`;
    }
    if (command.commands.length === 0 && command.parent) acceptAzureScoping(command, ctx);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/**
 * Scripts written for `az ml` pass workspace flags (-g, -w, --subscription) and `--local`: every
 * command accepts them. `--local` is what oep always does; the workspace flags get one notice.
 */
function acceptAzureScoping(command: Command, ctx: CliContext): void {
  const has = (long: string): boolean => command.options.some((option) => option.long === long);
  if (!has('--local')) command.addOption(new Option('--local', 'accepted for az compatibility: oep always runs locally').hideHelp());
  if (!has('--resource-group')) command.addOption(new Option('-g, --resource-group <name>', 'az workspace scoping: ignored').hideHelp());
  if (!has('--workspace-name')) command.addOption(new Option('-w, --workspace-name <name>', 'az workspace scoping: ignored').hideHelp());
  if (!has('--subscription')) command.addOption(new Option('--subscription <id>', 'az workspace scoping: ignored').hideHelp());
  command.hook('preAction', (_, action) => {
    const flags = action.opts<{ resourceGroup?: string; workspaceName?: string; subscription?: string }>();
    if (flags.resourceGroup !== undefined || flags.workspaceName !== undefined || flags.subscription !== undefined) {
      ctx.stderr.write('notice: -g/--resource-group, -w/--workspace-name and --subscription name an Azure workspace; oep runs on this machine and ignores them.\n');
    }
  });
}

/** Runs the CLI and returns the exit code; never exits the process itself. */
export async function main(argv: string[], ctx: CliContext = createDefaultContext()): Promise<ExitCode | 0> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(expandLongOptions(program, argv), { from: 'user' });
    return ctx.interrupt.aborted ? 130 : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      // commander has already printed the message.
      return 2;
    }
    ctx.stderr.write(renderError(error, ctx));
    if (isOepError(error)) return error.exitCode;
    return 1;
  }
}

export { interruptCli } from './default-context.js';
