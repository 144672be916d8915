import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from '../../src/cli/commander.js';
import { buildProgram } from '../../src/cli/main.js';
import { caPathCommand } from '../../src/cli/commands/ca/path.js';
import { configGetCommand } from '../../src/cli/commands/config/get.js';
import { configListCommand } from '../../src/cli/commands/config/list.js';
import { configSetCommand } from '../../src/cli/commands/config/set.js';
import { configUnsetCommand } from '../../src/cli/commands/config/unset.js';
import { connectionCreateCommand } from '../../src/cli/commands/connection/create.js';
import { connectionDeleteCommand } from '../../src/cli/commands/connection/delete.js';
import { connectionListCommand } from '../../src/cli/commands/connection/list.js';
import { connectionShowCommand } from '../../src/cli/commands/connection/show.js';
import { connectionUpdateCommand } from '../../src/cli/commands/connection/update.js';
import { computeCreateCommand } from '../../src/cli/commands/compute/create.js';
import { computeDeleteCommand } from '../../src/cli/commands/compute/delete.js';
import { computeListCommand } from '../../src/cli/commands/compute/list.js';
import { computeShowCommand } from '../../src/cli/commands/compute/show.js';
import { computeUpdateCommand } from '../../src/cli/commands/compute/update.js';
import { daemonRestartCommand } from '../../src/cli/commands/daemon/restart.js';
import { daemonStartCommand } from '../../src/cli/commands/daemon/start.js';
import { daemonStatusCommand } from '../../src/cli/commands/daemon/status.js';
import { daemonStopCommand } from '../../src/cli/commands/daemon/stop.js';
import { dashboardCommand } from '../../src/cli/commands/dashboard/open.js';
import { deploymentBuildCommand } from '../../src/cli/commands/deployment/build.js';
import { deploymentCreateCommand } from '../../src/cli/commands/deployment/create.js';
import { deploymentDeleteCommand } from '../../src/cli/commands/deployment/delete.js';
import { deploymentGetLogsCommand } from '../../src/cli/commands/deployment/get-logs.js';
import { deploymentInvokeCommand } from '../../src/cli/commands/deployment/invoke.js';
import { deploymentListCommand } from '../../src/cli/commands/deployment/list.js';
import { deploymentShowCommand } from '../../src/cli/commands/deployment/show.js';
import { deploymentUpdateCommand } from '../../src/cli/commands/deployment/update.js';
import { deploymentWatchCommand } from '../../src/cli/commands/deployment/watch.js';
import { endpointCreateCommand } from '../../src/cli/commands/endpoint/create.js';
import { endpointDeleteCommand } from '../../src/cli/commands/endpoint/delete.js';
import { endpointExportCommand } from '../../src/cli/commands/endpoint/export.js';
import { endpointGetCredentialsCommand } from '../../src/cli/commands/endpoint/get-credentials.js';
import { endpointInvokeCommand } from '../../src/cli/commands/endpoint/invoke.js';
import { endpointListCommand } from '../../src/cli/commands/endpoint/list.js';
import { endpointRegenerateKeysCommand } from '../../src/cli/commands/endpoint/regenerate-keys.js';
import { endpointBenchmarkListCommand, endpointBenchmarkRunCommand, endpointBenchmarkShowCommand } from '../../src/cli/commands/endpoint/benchmark.js';
import { endpointShowCommand } from '../../src/cli/commands/endpoint/show.js';
import { endpointUpdateCommand } from '../../src/cli/commands/endpoint/update.js';
import { environmentArchiveCommand } from '../../src/cli/commands/environment/archive.js';
import { environmentCreateCommand } from '../../src/cli/commands/environment/create.js';
import { environmentListCommand } from '../../src/cli/commands/environment/list.js';
import { environmentRestoreCommand } from '../../src/cli/commands/environment/restore.js';
import { environmentShowCommand } from '../../src/cli/commands/environment/show.js';
import { keyvaultSecretDeleteCommand } from '../../src/cli/commands/keyvault-secret/delete.js';
import { keyvaultSecretListVersionsCommand } from '../../src/cli/commands/keyvault-secret/list-versions.js';
import { keyvaultSecretListCommand } from '../../src/cli/commands/keyvault-secret/list.js';
import { keyvaultSecretSetCommand } from '../../src/cli/commands/keyvault-secret/set.js';
import { keyvaultSecretShowCommand } from '../../src/cli/commands/keyvault-secret/show.js';
import { batchDeploymentCreateCommand } from '../../src/cli/commands/batch-deployment/create.js';
import { batchDeploymentDeleteCommand } from '../../src/cli/commands/batch-deployment/delete.js';
import { batchDeploymentListCommand } from '../../src/cli/commands/batch-deployment/list.js';
import { batchDeploymentShowCommand } from '../../src/cli/commands/batch-deployment/show.js';
import { batchDeploymentUpdateCommand } from '../../src/cli/commands/batch-deployment/update.js';
import { batchEndpointCreateCommand } from '../../src/cli/commands/batch-endpoint/create.js';
import { batchEndpointDeleteCommand } from '../../src/cli/commands/batch-endpoint/delete.js';
import { batchEndpointListCommand } from '../../src/cli/commands/batch-endpoint/list.js';
import { batchEndpointShowCommand } from '../../src/cli/commands/batch-endpoint/show.js';
import { batchEndpointUpdateCommand } from '../../src/cli/commands/batch-endpoint/update.js';
import { batchEndpointInvokeCommand } from '../../src/cli/commands/batch-endpoint/invoke.js';
import { batchEndpointListJobsCommand } from '../../src/cli/commands/batch-endpoint/list-jobs.js';
import { batchDeploymentListJobsCommand } from '../../src/cli/commands/batch-deployment/list-jobs.js';
import { jobShowCommand } from '../../src/cli/commands/job/show.js';
import { jobListCommand } from '../../src/cli/commands/job/list.js';
import { jobStreamCommand } from '../../src/cli/commands/job/stream.js';
import { jobDownloadCommand } from '../../src/cli/commands/job/download.js';
import { jobCancelCommand } from '../../src/cli/commands/job/cancel.js';
import { dataCreateCommand } from '../../src/cli/commands/data/create.js';
import { dataListCommand } from '../../src/cli/commands/data/list.js';
import { dataShowCommand } from '../../src/cli/commands/data/show.js';
import { modelArchiveCommand } from '../../src/cli/commands/model/archive.js';
import { modelCreateCommand } from '../../src/cli/commands/model/create.js';
import { modelListCommand } from '../../src/cli/commands/model/list.js';
import { modelRestoreCommand } from '../../src/cli/commands/model/restore.js';
import { modelShowCommand } from '../../src/cli/commands/model/show.js';
import { trafficCompareCommand } from '../../src/cli/commands/traffic/compare.js';
import { trafficMirrorCommand, trafficSetCommand } from '../../src/cli/commands/traffic/set.js';
import { trafficShowCommand } from '../../src/cli/commands/traffic/show.js';
import { validateCommand } from '../../src/cli/commands/validate.js';
import type { CliContext } from '../../src/cli/context.js';
import { runProgram } from '../../src/cli/main.js';
import { assembleProgram } from '../../src/cli/program.js';
import type { RunCommand } from '../../src/cli/run-command.js';
import { FakeDaemonClient, fakeCliContext } from './fake-daemon-client.js';

/**
 * The CLI's flag parsing, tested through each verb's run seam (src/cli/run-command.ts): a row is a
 * command line and the options the verb's run function receives, or the usage error (exit 2) a
 * check gives before run. Nothing runs: the run function only records, and the daemon client is
 * a fake that answers nothing. What the real run functions do with the options (daemon calls,
 * output) is cli-table.test.ts's part.
 */

/**
 * A verb's factory, as every verb file exports it: the run function is the seam. The options'
 * type differs by verb; a run function that takes unknown options fits every one.
 */
type VerbFactory = (ctx: CliContext, run: RunCommand<unknown>) => Command;

/**
 * Every command that runs something, by its path, with its factory and a valid command line
 * (after the path). A test checks that these are exactly the commands of `oep --help`, so a new
 * verb needs a line here, and its factory must take a run function to be written here at all.
 */
const VERBS: Record<string, { make: VerbFactory; valid: string[] }> = {
  'endpoint create': { make: endpointCreateCommand, valid: ['-n', 'ep1'] },
  'endpoint show': { make: endpointShowCommand, valid: ['-n', 'ep1'] },
  'endpoint list': { make: endpointListCommand, valid: [] },
  'endpoint update': { make: endpointUpdateCommand, valid: ['-n', 'ep1'] },
  'endpoint delete': { make: endpointDeleteCommand, valid: ['-n', 'ep1'] },
  'endpoint invoke': { make: endpointInvokeCommand, valid: ['-n', 'ep1'] },
  'endpoint get-credentials': { make: endpointGetCredentialsCommand, valid: ['-n', 'ep1'] },
  'endpoint regenerate-keys': { make: endpointRegenerateKeysCommand, valid: ['-n', 'ep1'] },
  'endpoint export': { make: endpointExportCommand, valid: ['-n', 'ep1'] },
  'endpoint benchmark run': { make: endpointBenchmarkRunCommand, valid: ['-n', 'ep1', '-r', 'request.json', '--rate', '5:10:5'] },
  'endpoint benchmark list': { make: endpointBenchmarkListCommand, valid: [] },
  'endpoint benchmark show': { make: endpointBenchmarkShowCommand, valid: ['ep1-20261207T120000Z'] },
  'deployment create': { make: deploymentCreateCommand, valid: ['-f', 'blue.yml'] },
  'deployment show': { make: deploymentShowCommand, valid: ['-n', 'blue', '-e', 'ep1'] },
  'deployment list': { make: deploymentListCommand, valid: ['-e', 'ep1'] },
  'deployment update': { make: deploymentUpdateCommand, valid: ['-f', 'blue.yml'] },
  'deployment delete': { make: deploymentDeleteCommand, valid: ['-n', 'blue', '-e', 'ep1'] },
  'deployment get-logs': { make: deploymentGetLogsCommand, valid: ['-n', 'blue', '-e', 'ep1'] },
  'deployment invoke': { make: deploymentInvokeCommand, valid: ['-n', 'blue', '-e', 'ep1'] },
  'deployment build': { make: deploymentBuildCommand, valid: ['-n', 'blue', '-e', 'ep1', '-t', 'oep-test/blue:1'] },
  'deployment watch': { make: deploymentWatchCommand, valid: ['-n', 'blue', '-e', 'ep1'] },
  'traffic show': { make: trafficShowCommand, valid: ['-n', 'ep1'] },
  'traffic set': { make: trafficSetCommand, valid: ['-n', 'ep1', 'blue=100'] },
  'traffic mirror': { make: trafficMirrorCommand, valid: ['-n', 'ep1', 'green=10'] },
  'traffic compare': { make: trafficCompareCommand, valid: ['-n', 'ep1'] },
  'batch-endpoint create': { make: batchEndpointCreateCommand, valid: ['-n', 'bep1'] },
  'batch-endpoint show': { make: batchEndpointShowCommand, valid: ['-n', 'bep1'] },
  'batch-endpoint list': { make: batchEndpointListCommand, valid: [] },
  'batch-endpoint update': { make: batchEndpointUpdateCommand, valid: ['-n', 'bep1', '--defaults', 'deployment_name=blue'] },
  'batch-endpoint delete': { make: batchEndpointDeleteCommand, valid: ['-n', 'bep1'] },
  'batch-endpoint invoke': { make: batchEndpointInvokeCommand, valid: ['-n', 'bep1', '--input', 'data'] },
  'batch-endpoint list-jobs': { make: batchEndpointListJobsCommand, valid: ['-n', 'bep1'] },
  'batch-deployment list-jobs': { make: batchDeploymentListJobsCommand, valid: ['-n', 'blue', '-e', 'bep1'] },
  'job show': { make: jobShowCommand, valid: ['-n', 'batchjob-1'] },
  'job list': { make: jobListCommand, valid: [] },
  'job stream': { make: jobStreamCommand, valid: ['-n', 'batchjob-1'] },
  'job download': { make: jobDownloadCommand, valid: ['-n', 'batchjob-1'] },
  'job cancel': { make: jobCancelCommand, valid: ['-n', 'batchjob-1'] },
  'batch-deployment create': { make: batchDeploymentCreateCommand, valid: ['-f', 'batch.yml'] },
  'batch-deployment show': { make: batchDeploymentShowCommand, valid: ['-n', 'blue', '-e', 'bep1'] },
  'batch-deployment list': { make: batchDeploymentListCommand, valid: ['-e', 'bep1'] },
  'batch-deployment update': { make: batchDeploymentUpdateCommand, valid: ['-n', 'blue', '-e', 'bep1', '--set', 'mini_batch_size=5'] },
  'batch-deployment delete': { make: batchDeploymentDeleteCommand, valid: ['-n', 'blue', '-e', 'bep1'] },
  'data create': { make: dataCreateCommand, valid: ['-f', 'data.yml'] },
  'data show': { make: dataShowCommand, valid: ['-n', 'd1', '-v', '1'] },
  'data list': { make: dataListCommand, valid: [] },
  'compute create': { make: computeCreateCommand, valid: ['-n', 'batch-cluster'] },
  'compute show': { make: computeShowCommand, valid: ['-n', 'batch-cluster'] },
  'compute list': { make: computeListCommand, valid: [] },
  'compute update': { make: computeUpdateCommand, valid: ['-n', 'batch-cluster'] },
  'compute delete': { make: computeDeleteCommand, valid: ['-n', 'batch-cluster'] },
  'model create': { make: modelCreateCommand, valid: ['-f', 'model.yml'] },
  'model show': { make: modelShowCommand, valid: ['-n', 'm1', '-v', '1'] },
  'model list': { make: modelListCommand, valid: [] },
  'model archive': { make: modelArchiveCommand, valid: ['-n', 'm1', '-v', '1'] },
  'model restore': { make: modelRestoreCommand, valid: ['-n', 'm1', '-v', '1'] },
  'environment create': { make: environmentCreateCommand, valid: ['-f', 'env.yml'] },
  'environment show': { make: environmentShowCommand, valid: ['-n', 'e1', '-v', '1'] },
  'environment list': { make: environmentListCommand, valid: [] },
  'environment archive': { make: environmentArchiveCommand, valid: ['-n', 'e1', '-v', '1'] },
  'environment restore': { make: environmentRestoreCommand, valid: ['-n', 'e1', '-v', '1'] },
  'connection create': { make: connectionCreateCommand, valid: ['-f', 'connection.yml'] },
  'connection show': { make: connectionShowCommand, valid: ['-n', 'c1'] },
  'connection list': { make: connectionListCommand, valid: [] },
  'connection update': { make: connectionUpdateCommand, valid: ['-n', 'c1'] },
  'connection delete': { make: connectionDeleteCommand, valid: ['-n', 'c1'] },
  'keyvault secret set': { make: keyvaultSecretSetCommand, valid: ['--vault-name', 'kv1', '-n', 's1', '--value', 'v'] },
  'keyvault secret show': { make: keyvaultSecretShowCommand, valid: ['--vault-name', 'kv1', '-n', 's1'] },
  'keyvault secret list': { make: keyvaultSecretListCommand, valid: ['--vault-name', 'kv1'] },
  'keyvault secret list-versions': { make: keyvaultSecretListVersionsCommand, valid: ['--vault-name', 'kv1', '-n', 's1'] },
  'keyvault secret delete': { make: keyvaultSecretDeleteCommand, valid: ['--vault-name', 'kv1', '-n', 's1'] },
  'daemon start': { make: daemonStartCommand, valid: [] },
  'daemon stop': { make: daemonStopCommand, valid: [] },
  'daemon restart': { make: daemonRestartCommand, valid: [] },
  'daemon status': { make: daemonStatusCommand, valid: [] },
  'config get': { make: configGetCommand, valid: ['runtime'] },
  'config set': { make: configSetCommand, valid: ['runtime', 'process'] },
  'config unset': { make: configUnsetCommand, valid: ['runtime'] },
  'config list': { make: configListCommand, valid: [] },
  'ca path': { make: caPathCommand, valid: [] },
  dashboard: { make: dashboardCommand, valid: [] },
  validate: { make: validateCommand, valid: ['-f', 'blue.yml'] },
};

const scratch = mkdtempSync(join(tmpdir(), 'oep-cli-run-seam-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface SeamResult {
  exit: number;
  stdout: string;
  stderr: string;
  /** The options of each call of the run function, as JSON has them (undefined keys left out). */
  received: unknown[];
  client: FakeDaemonClient;
}

let runs = 0;

function contextFor(client: FakeDaemonClient, home: string, output: { stdout: string; stderr: string }): CliContext {
  return fakeCliContext(client, { home, cwd: join(scratch, 'cwd') }, output);
}

/** The verb a command line names: the longest command path of VERBS it starts with. */
function verbOf(argv: readonly string[]): { path: string[]; make: VerbFactory } {
  for (let length = Math.min(3, argv.length); length > 0; length--) {
    const path = argv.slice(0, length);
    const verb = VERBS[path.join(' ')];
    if (verb) return { path, make: verb.make };
  }
  throw new Error(`no verb in VERBS for: ${argv.join(' ')}`);
}

/**
 * The program a row runs: made by assembleProgram, as main() makes it (so the home check, az's
 * scoping flags and usage errors are the CLI's own), with one top-level command whose verb is
 * made with the recording run function. Nouns are plain commands: only the verb is under test.
 */
function programFor(ctx: CliContext, path: readonly string[], make: VerbFactory, run: RunCommand<unknown>): Command {
  const nouns = path.slice(0, -1);
  return assembleProgram(ctx, [
    (c) => {
      let command = make(c, run);
      for (const noun of [...nouns].reverse()) command = new Command(noun).addCommand(command);
      return command;
    },
  ]);
}

/** Runs a command line through its verb with a recording run function, as main() would run it. */
async function runSeam(argv: readonly string[]): Promise<SeamResult> {
  const home = join(scratch, `home-${++runs}`);
  const client = new FakeDaemonClient(home);
  const output = { stdout: '', stderr: '' };
  const ctx = contextFor(client, home, output);
  const received: unknown[] = [];
  const record: RunCommand<unknown> = async (_ctx, options) => {
    received.push(JSON.parse(JSON.stringify(options)) as unknown);
  };
  const { path, make } = verbOf(argv);
  const exit = await runProgram(programFor(ctx, path, make, record), argv, ctx);
  return { exit, ...output, received, client };
}

interface Row {
  name: string;
  argv: string[];
  /** The options run receives (compared as JSON: an undefined key and an absent one are alike). */
  options?: Record<string, unknown>;
  /** A check before run refuses the line: exit 2 (or another code), this on stderr, run not called. */
  refused?: { exit?: number; stderr: RegExp | RegExp[] };
}

/** What `--output`/`--query` give a command that prints data, by default. */
const JSON_OUTPUT = { output: 'json' };

/** The options of `deployment create -f blue.yml` and nothing else: the defaults of create and update. */
const APPLY_DEFAULTS = { file: 'blue.yml', set: [], allTraffic: false, pull: false, localEnableGpu: false, wait: true, watch: false, ...JSON_OUTPUT };

const ROWS: Row[] = [
  // --set: one flag takes several pairs, and may be given again; every pair lands in one list.
  {
    name: 'multi-value --set: --set a=1 b=2 --set c=3 gives the three pairs in order',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--set', 'a=1', 'b=2', '--set', 'c=3'],
    options: { ...APPLY_DEFAULTS, set: ['a=1', 'b=2', 'c=3'] },
  },
  {
    name: 'multi-value --set ends at the next option',
    argv: ['endpoint', 'create', '-n', 'ep1', '--set', 'a=1', 'b=2', '--tls', 'on', '--set', 'c=3'],
    options: { name: 'ep1', set: ['a=1', 'b=2', 'c=3'], tls: 'on', local: false, ...JSON_OUTPUT },
  },
  {
    name: 'multi-value --set on connection update',
    argv: ['connection', 'update', '-n', 'c1', '--set', 'credentials.key=new', 'target=https://x', '--set', 'metadata.a=b'],
    options: { name: 'c1', set: ['credentials.key=new', 'target=https://x', 'metadata.a=b'], ...JSON_OUTPUT },
  },
  {
    name: 'repeatable -f on validate collects every file',
    argv: ['validate', '-f', 'endpoint.yml', '-f', 'blue.yml', '-e', 'ep1'],
    options: { file: ['endpoint.yml', 'blue.yml'], endpointName: 'ep1', set: [] },
  },
  {
    name: 'repeatable --tags on keyvault secret set',
    argv: ['keyvault', 'secret', 'set', '--vault-name', 'kv1', '-n', 's1', '--value', 'v', '--tags', 'a=1', '--tags', 'b'],
    options: { vaultName: 'kv1', name: 's1', value: 'v', tags: ['a=1', 'b'], ...JSON_OUTPUT },
  },
  // Long options by any unambiguous prefix, as az's parser takes them.
  {
    name: '--endpoint is --endpoint-name',
    argv: ['deployment', 'show', '--name', 'blue', '--endpoint', 'ep1'],
    options: { name: 'blue', endpointName: 'ep1', ...JSON_OUTPUT },
  },
  {
    name: '--deployment is --deployment-name and --request is --request-file',
    argv: ['endpoint', 'invoke', '--name', 'ep1', '--deployment', 'blue', '--request', 'sample.json'],
    options: { name: 'ep1', deploymentName: 'blue', requestFile: 'sample.json' },
  },
  {
    name: 'a prefix with its value after = (--endpoint=ep1)',
    argv: ['deployment', 'list', '--endpoint=ep1'],
    options: { endpointName: 'ep1', ...JSON_OUTPUT },
  },
  {
    name: '--all is --all-traffic, --runt is --runtime',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--all', '--runt', 'process'],
    options: { ...APPLY_DEFAULTS, allTraffic: true, runtime: 'process' },
  },
  // Defaults.
  {
    name: 'deployment create -f alone: its defaults',
    argv: ['deployment', 'create', '-f', 'blue.yml'],
    options: APPLY_DEFAULTS,
  },
  {
    name: 'deployment get-logs: 5000 lines of replica 0 of the inference server, as numbers',
    argv: ['deployment', 'get-logs', '-n', 'blue', '-e', 'ep1'],
    options: { name: 'blue', endpointName: 'ep1', lines: 5000, follow: false, container: 'inference-server', replica: 0 },
  },
  {
    name: 'deployment get-logs -l 20 --replica 1 --follow --container storage-initializer',
    argv: ['deployment', 'get-logs', '-n', 'blue', '-e', 'ep1', '-l', '20', '--replica', '1', '--follow', '--container', 'storage-initializer'],
    options: { name: 'blue', endpointName: 'ep1', lines: 20, follow: true, container: 'storage-initializer', replica: 1 },
  },
  {
    name: 'endpoint export: kubernetes, envoy-gateway, no folder and no -o',
    argv: ['endpoint', 'export', '-n', 'ep1'],
    options: { name: 'ep1', format: 'kubernetes', gatewayClass: 'envoy-gateway', authPolicy: 'envoy-gateway' },
  },
  {
    name: 'endpoint regenerate-keys: the primary key unless --key-type',
    argv: ['endpoint', 'regenerate-keys', '-n', 'ep1'],
    options: { name: 'ep1', keyType: 'primary' },
  },
  {
    name: 'endpoint delete: asks, waits, keeps the images',
    argv: ['endpoint', 'delete', '-n', 'ep1'],
    options: { name: 'ep1', yes: false, purge: false, wait: true },
  },
  {
    name: 'model list: the newest of each, archived left out',
    argv: ['model', 'list'],
    options: { kind: 'models', includeArchived: false, archivedOnly: false, ...JSON_OUTPUT },
  },
  {
    name: 'environment restore: the noun and the verb become kind and restore',
    argv: ['environment', 'restore', '-n', 'e1', '-l', 'latest'],
    options: { kind: 'environments', name: 'e1', label: 'latest', restore: true, ...JSON_OUTPUT },
  },
  {
    name: 'model archive',
    argv: ['model', 'archive', '-n', 'm1', '-v', '2'],
    options: { kind: 'models', name: 'm1', version: '2', restore: false, ...JSON_OUTPUT },
  },
  {
    name: 'connection show: credentials masked unless asked',
    argv: ['connection', 'show', '-n', 'c1'],
    options: { name: 'c1', showSecrets: false, listSecrets: false, ...JSON_OUTPUT },
  },
  {
    name: 'dashboard: no endpoint, not opened',
    argv: ['dashboard'],
    options: { open: false },
  },
  {
    name: 'dashboard -n ep1 --open',
    argv: ['dashboard', '-n', 'ep1', '--open'],
    options: { name: 'ep1', open: true },
  },
  // Traffic.
  {
    name: 'endpoint update --traffic "blue=90 green=10" passes the rule as written',
    argv: ['endpoint', 'update', '-n', 'ep1', '--traffic', 'blue=90 green=10'],
    options: { name: 'ep1', traffic: 'blue=90 green=10', set: [], ...JSON_OUTPUT },
  },
  {
    name: 'endpoint update --mirror-traffic',
    argv: ['endpoint', 'update', '-n', 'ep1', '--mirror-traffic', 'green=10'],
    options: { name: 'ep1', mirrorTraffic: 'green=10', set: [], ...JSON_OUTPUT },
  },
  {
    name: 'traffic set blue=90 green=10: the pairs become one rule; a chart by default',
    argv: ['traffic', 'set', '-n', 'ep1', 'blue=90', 'green=10'],
    options: { name: 'ep1', rules: 'blue=90 green=10', output: 'chart' },
  },
  {
    name: 'traffic mirror green=0',
    argv: ['traffic', 'mirror', '-n', 'ep1', 'green=0', '-o', 'json'],
    options: { name: 'ep1', rules: 'green=0', output: 'json' },
  },
  {
    name: 'traffic compare passes --since, --tolerance and --fail-under as written',
    argv: ['traffic', 'compare', '-n', 'ep1', '--since', '10m', '--tolerance', '0.01,1e-6', '--fail-under', '99%'],
    options: { name: 'ep1', since: '10m', tolerance: '0.01,1e-6', failUnder: '99%', ...JSON_OUTPUT },
  },
  // --all-traffic.
  {
    name: 'deployment create --all-traffic',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--all-traffic'],
    options: { ...APPLY_DEFAULTS, allTraffic: true },
  },
  {
    name: 'deployment update -n -e --set (no file)',
    argv: ['deployment', 'update', '-n', 'blue', '-e', 'ep1', '--set', 'instance_count=2'],
    options: { ...APPLY_DEFAULTS, file: undefined, name: 'blue', endpointName: 'ep1', set: ['instance_count=2'] },
  },
  // -o and --query.
  {
    name: '-o tsv --query scoring_uri',
    argv: ['endpoint', 'show', '-n', 'ep1', '-o', 'tsv', '--query', 'scoring_uri'],
    options: { name: 'ep1', output: 'tsv', query: 'scoring_uri' },
  },
  {
    name: '--output yaml as a long option',
    argv: ['endpoint', 'list', '--output', 'yaml'],
    options: { output: 'yaml' },
  },
  {
    name: 'endpoint invoke without -o: no output format (the body as it came)',
    argv: ['endpoint', 'invoke', '-n', 'ep1', '-r', 'sample.json'],
    options: { name: 'ep1', requestFile: 'sample.json' },
  },
  {
    name: 'deployment invoke -o tsv',
    argv: ['deployment', 'invoke', '-n', 'blue', '-e', 'ep1', '-o', 'tsv'],
    options: { name: 'blue', endpointName: 'ep1', output: 'tsv' },
  },
  {
    name: 'traffic show --query with -o json',
    argv: ['traffic', 'show', '-n', 'ep1', '-o', 'json', '--query', 'traffic'],
    options: { name: 'ep1', output: 'json', query: 'traffic' },
  },
  // --no-wait.
  {
    name: 'deployment create --no-wait',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--no-wait'],
    options: { ...APPLY_DEFAULTS, wait: false },
  },
  {
    name: 'deployment delete --no-wait --yes --purge',
    argv: ['deployment', 'delete', '-n', 'blue', '-e', 'ep1', '--no-wait', '--yes', '--purge'],
    options: { name: 'blue', endpointName: 'ep1', yes: true, purge: true, wait: false },
  },
  {
    name: 'endpoint create --no-wait is accepted for az scripts (the change is immediate)',
    argv: ['endpoint', 'create', '-n', 'ep1', '--no-wait'],
    options: { name: 'ep1', set: [], local: false, ...JSON_OUTPUT },
  },
  // --local.
  {
    name: 'endpoint create --local',
    argv: ['endpoint', 'create', '-n', 'ep1', '--local'],
    options: { name: 'ep1', set: [], local: true, ...JSON_OUTPUT },
  },
  {
    name: 'deployment create --local (a missing endpoint is made, local)',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--local'],
    options: { ...APPLY_DEFAULTS, local: true },
  },
  {
    name: "--local where it means nothing is accepted and changes nothing in the options",
    argv: ['endpoint', 'list', '--local'],
    options: JSON_OUTPUT,
  },
  {
    name: 'deployment create --debug --debug-port 5679 --debug-wait --vscode',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--debug', '--debug-port', '5679', '--debug-wait', '--vscode'],
    options: { ...APPLY_DEFAULTS, debug: true, debugPort: '5679', debugWait: true, vscode: true },
  },
  {
    name: 'deployment create --watch',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--watch'],
    options: { ...APPLY_DEFAULTS, watch: true },
  },
  {
    name: 'deployment build --push --bake-env',
    argv: ['deployment', 'build', '-n', 'blue', '-e', 'ep1', '-t', 'myacr.azurecr.io/blue:1', '--push', '--bake-env'],
    options: { name: 'blue', endpointName: 'ep1', tag: 'myacr.azurecr.io/blue:1', push: true, bakeEnv: true, ...JSON_OUTPUT },
  },
  {
    name: 'model create from flags: the flags become the fields that override the file',
    argv: ['model', 'create', '-n', 'm1', '-p', 'model', '-t', 'mlflow_model', '-s', 'Production'],
    options: { fields: { name: 'm1', path: 'model', type: 'mlflow_model', stage: 'Production' }, set: [], ...JSON_OUTPUT },
  },
  {
    name: 'batch-deployment create --set-default, with -n and -e overriding the file',
    argv: ['batch-deployment', 'create', '-f', 'batch.yml', '-n', 'blue', '-e', 'bep1', '--set-default'],
    options: { file: 'batch.yml', name: 'blue', endpointName: 'bep1', set: [], setDefault: true, ...JSON_OUTPUT },
  },
  {
    name: 'batch-deployment create: not the default unless asked, --no-wait accepted',
    argv: ['batch-deployment', 'create', '-f', 'batch.yml', '--no-wait'],
    options: { file: 'batch.yml', set: [], setDefault: false, ...JSON_OUTPUT },
  },
  {
    name: 'batch-endpoint update --defaults and --set together',
    argv: ['batch-endpoint', 'update', '-n', 'bep1', '--defaults', 'deployment_name=green', '--set', 'description=nightly'],
    options: { name: 'bep1', defaults: 'deployment_name=green', set: ['description=nightly'], ...JSON_OUTPUT },
  },
  {
    name: 'batch-endpoint invoke: az\'s flags, numbers checked and turned into numbers',
    argv: ['batch-endpoint', 'invoke', '-n', 'bep1', '-d', 'blue', '--input', 'azureml:heart@latest', '--input-type', 'uri_folder', '--job-name', 'j1', '--experiment-name', 'x', '--mini-batch-size', '5', '--instance-count', '2', '--runtime', 'process', '--query', 'name', '-o', 'tsv'],
    options: { name: 'bep1', deploymentName: 'blue', input: 'azureml:heart@latest', inputType: 'uri_folder', jobName: 'j1', experimentName: 'x', miniBatchSize: 5, instanceCount: 2, runtime: 'process', set: [], output: 'tsv', query: 'name' },
  },
  {
    name: "batch-endpoint invoke: --set as many times as given and --output-path, as Microsoft's mnist sample writes them",
    argv: ['batch-endpoint', 'invoke', '-n', 'bep1', '--input', 'data', '--output-path', 'azureml://datastores/workspaceblobstore/paths/bep1', '--set', 'output_file_name=p_1.csv', '--set', 'error_threshold=5'],
    options: { name: 'bep1', input: 'data', set: ['output_file_name=p_1.csv', 'error_threshold=5'], outputPath: 'azureml://datastores/workspaceblobstore/paths/bep1', ...JSON_OUTPUT },
  },
  {
    name: 'job show --web (az opens the studio)',
    argv: ['job', 'show', '-n', 'j1', '--web', '--query', 'status', '-o', 'tsv'],
    options: { name: 'j1', web: true, output: 'tsv', query: 'status' },
  },
  {
    name: 'batch-endpoint invoke --mini-batch-size 0 is refused before run',
    argv: ['batch-endpoint', 'invoke', '-n', 'bep1', '--input', 'data', '--mini-batch-size', '0'],
    refused: { stderr: [/--mini-batch-size must be a whole number >= 1, not "0"/, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: 'job download: az\'s defaults (the score output, the working folder)',
    argv: ['job', 'download', '-n', 'j1'],
    options: { name: 'j1', outputName: 'score', downloadPath: '.' },
  },
  {
    name: 'batch-endpoint delete --yes',
    argv: ['batch-endpoint', 'delete', '-n', 'bep1', '--yes'],
    options: { name: 'bep1', yes: true },
  },
  {
    name: 'data create from flags: the flags become the fields that override the file',
    argv: ['data', 'create', '-n', 'd1', '-p', 'images', '-t', 'uri_folder', '-v', '2'],
    options: { fields: { name: 'd1', path: 'images', type: 'uri_folder', version: '2' }, set: [], ...JSON_OUTPUT },
  },
  {
    name: 'data list --name lists the versions of one',
    argv: ['data', 'list', '-n', 'd1', '--include-archived'],
    options: { kind: 'data', name: 'd1', includeArchived: true, archivedOnly: false, ...JSON_OUTPUT },
  },
  {
    name: 'environment create from flags: the flags become the YAML keys they set',
    argv: ['environment', 'create', '-n', 'e1', '-b', 'ctx', '--dockerfile-path', 'Dockerfile.gpu', '--os-type', 'linux'],
    options: { fields: { name: 'e1', 'build.path': 'ctx', 'build.dockerfile_path': 'Dockerfile.gpu', os_type: 'linux' }, set: [], ...JSON_OUTPUT },
  },
  {
    name: "keyvault secret set --description is the secret's content type",
    argv: ['keyvault', 'secret', 'set', '--vault-name', 'kv1', '-n', 's1', '-f', 'secret.bin', '-e', 'base64', '--description', 'application/x-pem-file'],
    options: { vaultName: 'kv1', name: 's1', file: 'secret.bin', encoding: 'base64', contentType: 'application/x-pem-file', tags: [], ...JSON_OUTPUT },
  },
  {
    name: 'keyvault secret show --id',
    argv: ['keyvault', 'secret', 'show', '--id', 'https://kv1.vault.azure.net/secrets/s1'],
    options: { id: 'https://kv1.vault.azure.net/secrets/s1', ...JSON_OUTPUT },
  },
  {
    name: 'config set: the checked key and the value',
    argv: ['config', 'set', 'python', '/usr/bin/python3'],
    options: { key: 'python', value: '/usr/bin/python3' },
  },
  {
    name: 'workspace flags of az scripts are accepted (with a notice) and are not options',
    argv: ['endpoint', 'show', '-n', 'ep1', '-g', 'rg', '-w', 'ws', '--subscription', 'sub'],
    options: { name: 'ep1', ...JSON_OUTPUT },
  },
  // endpoint benchmark: the sweep and the sizing flags become typed options before any load.
  {
    name: 'benchmark --rate 5:40:5 gives eight rate steps and the defaults (10 s, 2 s warm-up, 0.7, knee factor 2, table)',
    argv: ['endpoint', 'benchmark', 'run', '-n', 'ep1', '-r', 'request.json', '--rate', '5:40:5', '--target-rps', '30'],
    options: {
      format: 'table',
      benchmark: { endpoint: 'ep1', requestFile: 'request.json', mode: 'rate', levels: [5, 10, 15, 20, 25, 30, 35, 40], durationMs: 10_000, warmupMs: 2000, kneeFactor: 2, targetRps: 30, targetUtilization: 0.7 },
    },
  },
  {
    name: 'benchmark --concurrency 1:16 doubles; --slo is parsed; -o csv; --deployment prefix',
    argv: ['endpoint', 'benchmark', 'run', '-n', 'ep1', '-r', 'request.json', '--concurrency', '1:16', '--duration', '500ms', '--warmup', '0', '--slo', 'p99<200ms', '--deployment', 'blue', '-o', 'csv'],
    options: {
      format: 'csv',
      benchmark: {
        endpoint: 'ep1', deployment: 'blue', requestFile: 'request.json', mode: 'concurrency', levels: [1, 2, 4, 8, 16], durationMs: 500, warmupMs: 0, kneeFactor: 2, targetUtilization: 0.7,
        slo: { text: 'p99<200ms', checks: [{ metric: 'p99', comparison: '<', threshold: 200, text: 'p99<200ms' }] },
      },
    },
  },
  {
    name: 'benchmark with both --rate and --concurrency is refused before run',
    argv: ['endpoint', 'benchmark', 'run', '-n', 'ep1', '-r', 'request.json', '--rate', '5:10', '--concurrency', '1:2'],
    refused: { stderr: [/Give one sweep: --rate FROM:TO\[:STEP\]/, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: 'benchmark with neither sweep is refused before run',
    argv: ['endpoint', 'benchmark', 'run', '-n', 'ep1', '-r', 'request.json'],
    refused: { stderr: /Give one sweep/ },
  },
  {
    name: 'benchmark --target-utilization 1.5 is refused before run',
    argv: ['endpoint', 'benchmark', 'run', '-n', 'ep1', '-r', 'request.json', '--rate', '5', '--target-utilization', '1.5'],
    refused: { stderr: /--target-utilization 1.5: give a fraction above 0 and at most 1/ },
  },
  {
    name: 'benchmark --duration soon is refused before run',
    argv: ['endpoint', 'benchmark', 'run', '-n', 'ep1', '-r', 'request.json', '--rate', '5', '--duration', 'soon'],
    refused: { stderr: /--duration soon: give a time such as 10s/ },
  },
  {
    name: 'benchmark show -o xml is refused before run',
    argv: ['endpoint', 'benchmark', 'show', 'ep1-20261207T120000Z', '-o', 'xml'],
    refused: { stderr: /invalid choice: 'xml'/ },
  },
  // Checks before run: exit 2, run never called.
  {
    name: '--watch with --no-wait is refused before run',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--watch', '--no-wait'],
    refused: { stderr: [/--watch and --no-wait do not go together/, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: 'get-logs --lines 0 is refused before run',
    argv: ['deployment', 'get-logs', '-n', 'blue', '-e', 'ep1', '--lines', '0'],
    refused: { stderr: [/--lines must be a positive integer, not "0"\./, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: 'get-logs --lines with a word is refused before run',
    argv: ['deployment', 'get-logs', '-n', 'blue', '-e', 'ep1', '-l', 'all'],
    refused: { stderr: /--lines must be a positive integer, not "all"\./ },
  },
  {
    name: 'an unknown -o format is refused before run',
    argv: ['endpoint', 'create', '-n', 'ep1', '-o', 'xml'],
    refused: { stderr: /xml/ },
  },
  {
    name: 'invoke with an unknown -o format is refused before run',
    argv: ['endpoint', 'invoke', '-n', 'ep1', '-o', 'xml'],
    refused: { stderr: /xml/ },
  },
  {
    name: 'a bad --query is refused before run',
    argv: ['model', 'list', '--query', '[unclosed'],
    refused: { stderr: /\(OEP_ERR_[A-Z_]+\)/ },
  },
  {
    name: 'config set with a value the setting does not take is refused before run',
    argv: ['config', 'set', 'runtime', 'podman'],
    refused: { stderr: /^error: "podman" is not a valid value for runtime; use one of: auto, docker, process\.\n\(OEP_ERR_USAGE\)\n$/ },
  },
  {
    name: 'config get of an unknown setting is refused before run',
    argv: ['config', 'get', 'colour'],
    refused: { stderr: /^error: Unknown setting "colour"\./ },
  },
  {
    name: 'config unset of an unknown setting is refused before run',
    argv: ['config', 'unset', 'colour'],
    refused: { stderr: /^error: Unknown setting "colour"\./ },
  },
  {
    name: '--runtime outside its choices is refused by the parser',
    argv: ['deployment', 'update', '-f', 'blue.yml', '--runtime', 'kubernetes'],
    refused: { stderr: [/--runtime/, /auto, docker, process/, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: '--container outside its choices is refused by the parser',
    argv: ['deployment', 'get-logs', '-n', 'blue', '-e', 'ep1', '--container', 'sidecar'],
    refused: { stderr: /argument 'sidecar' is invalid/ },
  },
  {
    name: 'model create -t outside its choices is refused by the parser',
    argv: ['model', 'create', '-f', 'model.yml', '-t', 'onnx_model'],
    refused: { stderr: /argument 'onnx_model' is invalid/ },
  },
  {
    name: 'data create -t mltable is refused by the parser (oep has uri_file and uri_folder)',
    argv: ['data', 'create', '-n', 'd1', '-p', 'x', '-t', 'mltable'],
    refused: { stderr: /argument 'mltable' is invalid/ },
  },
  {
    name: "compute create: the batch samples' command line, numbers turned into numbers, --no-wait accepted",
    argv: ['compute', 'create', '-n', 'batch-cluster', '--type', 'amlcompute', '--min-instances', '0', '--max-instances', '5', '--no-wait'],
    options: { name: 'batch-cluster', type: 'amlcompute', minInstances: 0, maxInstances: 5, set: [], ...JSON_OUTPUT },
  },
  {
    name: "compute create: az's other flags and -f",
    argv: ['compute', 'create', '-f', 'compute.yml', '-t', 'AmlCompute', '--size', 'Standard_DS3_v2', '--idle-time-before-scale-down', '300', '--tier', 'low_priority', '--location', 'westus', '--set', 'tags.team=ml'],
    options: { file: 'compute.yml', type: 'AmlCompute', size: 'Standard_DS3_v2', idleTimeBeforeScaleDown: 300, tier: 'low_priority', location: 'westus', set: ['tags.team=ml'], ...JSON_OUTPUT },
  },
  {
    name: 'compute create --max-instances that is not a whole number is refused before run',
    argv: ['compute', 'create', '-n', 'batch-cluster', '--max-instances', 'five'],
    refused: { stderr: [/--max-instances must be a whole number >= 0, not "five"/, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: 'compute delete --yes',
    argv: ['compute', 'delete', '-n', 'batch-cluster', '--yes'],
    options: { name: 'batch-cluster', yes: true },
  },
  {
    name: 'compute update: the cluster flags',
    argv: ['compute', 'update', '-n', 'batch-cluster', '--max-instances', '8', '--idle-time-before-scale-down', '60'],
    options: { name: 'batch-cluster', maxInstances: 8, idleTimeBeforeScaleDown: 60, set: [], ...JSON_OUTPUT },
  },
  {
    name: 'batch-deployment create needs -f',
    argv: ['batch-deployment', 'create', '-n', 'blue', '-e', 'bep1'],
    refused: { stderr: /required option '-f, --file <file>' not specified/ },
  },
  {
    name: 'an ambiguous prefix lists the candidates',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--loc'],
    refused: { stderr: /--loc is ambiguous in "oep deployment create": it could be --local, --local-enable-gpu\./ },
  },
  {
    name: 'an unknown option',
    argv: ['endpoint', 'show', '-n', 'ep1', '--bogus'],
    refused: { stderr: /^error: unknown option '--bogus'\n\(OEP_ERR_USAGE\)\n/ },
  },
  {
    name: 'traffic set without rules',
    argv: ['traffic', 'set', '-n', 'ep1'],
    refused: { stderr: /missing required argument 'rules'/ },
  },
  {
    name: 'config set without a value',
    argv: ['config', 'set', 'runtime'],
    refused: { stderr: /missing required argument 'value'/ },
  },
];

describe('the run seam: argv to the options each verb runs with', () => {
  for (const row of ROWS) {
    it(row.name, async () => {
      const result = await runSeam(row.argv);
      const context = `argv: ${row.argv.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
      assert.deepEqual(result.client.calls, [], `no daemon call\n${context}`);
      if (row.options) {
        assert.equal(result.exit, 0, `exit code\n${context}`);
        assert.deepEqual(result.received, [JSON.parse(JSON.stringify(row.options))], `options\n${context}`);
        assert.equal(result.stdout, '', `stdout\n${context}`);
      }
      if (row.refused) {
        assert.equal(result.exit, row.refused.exit ?? 2, `exit code\n${context}`);
        assert.deepEqual(result.received, [], `run not called\n${context}`);
        assert.equal(result.stdout, '', `stdout\n${context}`);
        for (const pattern of Array.isArray(row.refused.stderr) ? row.refused.stderr : [row.refused.stderr]) assert.match(result.stderr, pattern, `stderr\n${context}`);
        assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace\n${context}`);
      }
    });
  }
});

/** Every leaf of the whole program (what --help lists), by its path. */
function leavesOf(command: Command, path: string[] = []): Map<string, Command> {
  const leaves = new Map<string, Command>();
  for (const sub of command.commands) {
    const subPath = [...path, sub.name()];
    if (sub.commands.length === 0) leaves.set(subPath.join(' '), sub);
    else for (const [key, leaf] of leavesOf(sub, subPath)) leaves.set(key, leaf);
  }
  return leaves;
}

describe('every verb takes a run function', async () => {
  const home = join(scratch, 'home-program');
  const whole = leavesOf(await buildProgram(contextFor(new FakeDaemonClient(home), home, { stdout: '', stderr: '' })));

  it('VERBS names exactly the commands of the program', () => {
    assert.deepEqual([...Object.keys(VERBS)].sort(), [...whole.keys()].sort());
  });

  for (const [path, { valid }] of Object.entries(VERBS)) {
    it(`${path}: a valid command line calls the run function passed in, once, and nothing else`, async () => {
      const argv = [...path.split(' '), ...valid];
      const result = await runSeam(argv);
      const context = `argv: ${argv.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
      assert.equal(result.exit, 0, `exit code\n${context}`);
      assert.equal(result.received.length, 1, `run called once\n${context}`);
      assert.deepEqual(result.client.calls, [], `no daemon call\n${context}`);
      assert.equal(result.stdout, '', `nothing printed\n${context}`);
      assert.equal(result.stderr, '', `nothing said\n${context}`);
    });

    it(`${path}: the factory is the one the program uses (same name, options and arguments)`, () => {
      const real = whole.get(path);
      assert.ok(real, `${path} is in the program`);
      const ctx = contextFor(new FakeDaemonClient(home), home, { stdout: '', stderr: '' });
      const made = programFor(ctx, path.split(' '), VERBS[path]!.make, async () => undefined);
      const seamLeaf = leavesOf(made).get(path)!;
      assert.equal(seamLeaf.description(), real.description());
      assert.deepEqual(seamLeaf.options.map((option) => option.flags), real.options.map((option) => option.flags));
      assert.deepEqual(seamLeaf.registeredArguments.map((argument) => argument.name()), real.registeredArguments.map((argument) => argument.name()));
    });

    it(`${path}: each required option, left out, is a usage error before run`, async () => {
      const leaf = whole.get(path)!;
      for (const option of leaf.options.filter((candidate) => candidate.mandatory)) {
        const without: string[] = [];
        for (let i = 0; i < valid.length; i++) {
          if (valid[i] === option.short || valid[i] === option.long) i++;
          else without.push(valid[i]!);
        }
        assert.notDeepEqual(without, valid, `the valid line of ${path} gives ${option.flags}`);
        const argv = [...path.split(' '), ...without];
        const result = await runSeam(argv);
        const context = `argv: ${argv.join(' ')}\nstderr: ${result.stderr}`;
        assert.equal(result.exit, 2, `exit code\n${context}`);
        assert.deepEqual(result.received, [], `run not called\n${context}`);
        assert.equal(result.stderr, `error: required option '${option.flags}' not specified\n(OEP_ERR_USAGE)\n`, context);
      }
    });
  }
});
