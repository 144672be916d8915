import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { MethodName } from '../../src/daemon/api.js';
import { OepError } from '../../src/errors.js';
import { FakeDaemonClient, fakeCliContext, type FakeAnswers } from './fake-daemon-client.js';

/**
 * The CLI from argv to what it asks the daemon and what it prints, run in-process by main() with
 * a fake daemon client (fake-daemon-client.ts): a row per command line. The e2e suite runs the
 * real flows; these rows pin the parsing, the checks made before the daemon is asked, and the
 * rendering of the daemon's answers and errors, which need no daemon.
 */
/** Output exactly as given, or matching every pattern. */
type Expected = string | RegExp | RegExp[];

interface Row {
  name: string;
  argv: string[];
  /** The daemon's answers by method; a method called without one fails the row. */
  answers?: FakeAnswers;
  /** Files written in the row's working folder before the command runs. */
  files?: Record<string, string>;
  stdinIsTTY?: boolean;
  /** false: no daemon answers callIfRunning (as when none runs). */
  daemonRunning?: boolean;
  expect: {
    exit: number;
    /** The daemon calls in order, with their parameters (exactly). */
    calls?: Array<{ method: MethodName; params: unknown }>;
    /** Only these methods, in order (when the parameters are not the point). */
    methods?: MethodName[];
    stdout?: Expected;
    /** A function of the row's working folder, for messages that name a path in it. */
    stderr?: Expected | ((cwd: string) => Expected);
    /** Nothing written: the working folder holds only the row's files, and OEP_HOME was not made. */
    untouched?: boolean;
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'oep-cli-table-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let rowCount = 0;

/** Runs one row's command line against a fresh fake daemon and a fresh working folder. */
async function runRow(row: Row): Promise<{ exit: number; stdout: string; stderr: string; client: FakeDaemonClient; cwd: string; home: string }> {
  const dir = join(scratch, `row-${++rowCount}`);
  const cwd = join(dir, 'cwd');
  const home = join(dir, 'home');
  mkdirSync(cwd, { recursive: true });
  for (const [file, text] of Object.entries(row.files ?? {})) writeFileSync(join(cwd, file), text);
  const client = new FakeDaemonClient(home, row.answers, { running: row.daemonRunning ?? true });
  const output = { stdout: '', stderr: '' };
  const exit = await main(row.argv, fakeCliContext(client, { home, cwd }, output, row.stdinIsTTY ?? false));
  return { exit, ...output, client, cwd, home };
}


/** A path as a literal inside a regular expression. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matches(actual: string, expected: Expected, what: string): void {
  if (typeof expected === 'string') return assert.equal(actual, expected, what);
  for (const pattern of Array.isArray(expected) ? expected : [expected]) assert.match(actual, pattern, what);
}

/** The spec `endpoint create -n ep1` sends: az's defaults, key auth. */
const defaultSpec = { name: 'ep1', auth_mode: 'key', kind: 'managed', public_network_access: 'enabled', tags: {}, traffic: {}, mirror_traffic: {} };

/** The endpoint view the daemon answers, trimmed to what the rows print. */
const endpointView = { name: 'ep1', auth_mode: 'key', scoring_uri: 'http://127.0.0.1:5001/score', traffic: {} };

const ROWS: Row[] = [
  {
    name: 'endpoint create -n sends a key-auth spec with the name, and prints the answer as JSON',
    argv: ['endpoint', 'create', '-n', 'ep1'],
    answers: { 'endpoint.create': endpointView },
    expect: {
      exit: 0,
      calls: [{ method: 'endpoint.create', params: { spec: defaultSpec } }],
      stdout: /"scoring_uri": "http:\/\/127\.0\.0\.1:5001\/score"/,
    },
  },
  {
    name: 'endpoint create --tls on asks for HTTPS',
    argv: ['endpoint', 'create', '-n', 'ep1', '--tls', 'on'],
    answers: { 'endpoint.create': endpointView },
    expect: { exit: 0, calls: [{ method: 'endpoint.create', params: { spec: defaultSpec, tls: true } }] },
  },
  {
    name: 'endpoint update --traffic parses "blue=90 green=10" into a map',
    argv: ['endpoint', 'update', '-n', 'ep1', '--traffic', 'blue=90 green=10'],
    answers: { 'endpoint.update': endpointView },
    expect: { exit: 0, calls: [{ method: 'endpoint.update', params: { name: 'ep1', traffic: { blue: 90, green: 10 }, keepTraffic: false, keepMirror: false } }] },
  },
  {
    name: 'endpoint update with a bad --traffic rule asks nothing (exit 2)',
    argv: ['endpoint', 'update', '-n', 'ep1', '--traffic', 'blue=ninety'],
    expect: { exit: 2, calls: [], stderr: [/--traffic/, /\(OEP_ERR_[A-Z_]+\)/] },
  },
  {
    name: 'multi-value --set: pairs of one flag and of a repeated flag all reach the spec, in order',
    argv: ['endpoint', 'create', '-n', 'ep1', '--set', 'description=first', 'tags.team=ml', '--set', 'tags.stage=dev'],
    answers: { 'endpoint.create': endpointView },
    expect: {
      exit: 0,
      calls: [{ method: 'endpoint.create', params: { spec: { ...defaultSpec, description: 'first', tags: { team: 'ml', stage: 'dev' } } } }],
    },
  },
  {
    name: '-o tsv with --query prints the bare value',
    argv: ['endpoint', 'show', '-n', 'ep1', '-o', 'tsv', '--query', 'scoring_uri'],
    answers: { 'endpoint.show': endpointView },
    expect: { exit: 0, calls: [{ method: 'endpoint.show', params: { name: 'ep1' } }], stdout: 'http://127.0.0.1:5001/score\n' },
  },
  {
    name: 'an unknown -o format is refused before anything is created (exit 2)',
    argv: ['endpoint', 'create', '-n', 'ep1', '-o', 'xml'],
    expect: { exit: 2, calls: [], stdout: '', stderr: /xml/ },
  },
  {
    name: 'deployment delete without --yes on a non-terminal refuses and deletes nothing (exit 2)',
    argv: ['deployment', 'delete', '-e', 'ep1', '-n', 'blue'],
    answers: { 'deployment.show': { name: 'blue' } },
    expect: {
      exit: 2,
      calls: [{ method: 'deployment.show', params: { endpoint: 'ep1', name: 'blue' } }],
      stderr: [/Refusing to delete without confirmation/, /--yes/, /\(OEP_ERR_CONFIRMATION_REQUIRED\)/],
    },
  },
  {
    name: 'deployment delete --yes deletes',
    argv: ['deployment', 'delete', '-e', 'ep1', '-n', 'blue', '--yes'],
    answers: { 'deployment.show': { name: 'blue' }, 'deployment.delete': null },
    expect: { exit: 0, methods: ['deployment.show', 'deployment.delete'] },
  },
  {
    name: 'endpoint invoke with a missing --request-file says which file and asks nothing (exit 2)',
    argv: ['endpoint', 'invoke', '-n', 'ep1', '--request-file', 'missing.json'],
    expect: {
      exit: 2,
      calls: [],
      stderr: (cwd) => [new RegExp(`Cannot read --request-file missing\\.json \\(${escape(join(cwd, 'missing.json'))}\\): there is no such file\\.`), /\(OEP_ERR_REQUEST_FILE\)/],
    },
  },
  {
    name: 'endpoint invoke with an unknown -o format asks nothing (exit 2)',
    argv: ['endpoint', 'invoke', '-n', 'ep1', '-o', 'xml'],
    expect: { exit: 2, calls: [], stdout: '', stderr: /xml/ },
  },
  {
    name: 'a --runtime outside the choices is refused by the parser (exit 2)',
    argv: ['deployment', 'create', '-f', 'blue.yml', '--runtime', 'kubernetes'],
    expect: { exit: 2, calls: [], stderr: [/--runtime/, /auto, docker, process/, /\(OEP_ERR_USAGE\)/] },
  },
  {
    name: 'a missing required option is a usage error with its code (exit 2)',
    argv: ['deployment', 'list'],
    expect: { exit: 2, calls: [], stderr: /^error: required option '-e, --endpoint-name <name>' not specified\n\(OEP_ERR_USAGE\)\n/ },
  },
  {
    name: 'an unknown option is a usage error with its code (exit 2)',
    argv: ['endpoint', 'list', '--bogus'],
    expect: { exit: 2, calls: [], stderr: /^error: unknown option '--bogus'\n\(OEP_ERR_USAGE\)\n/ },
  },
  {
    name: 'an ambiguous option prefix lists the candidates (exit 2)',
    argv: ['deployment', 'create', '-f', 'green.yml', '--loc'],
    expect: {
      exit: 2,
      calls: [],
      stderr: 'error: --loc is ambiguous in "oep deployment create": it could be --local, --local-enable-gpu.\nhint: Write more of the option name.\n(OEP_ERR_USAGE)\n',
    },
  },
  {
    name: '--help marks required options',
    argv: ['endpoint', 'show', '--help'],
    expect: { exit: 0, calls: [], stdout: /-n, --name <name>\s+endpoint name \(required\)/ },
  },
  {
    name: '--help marks required options of a list',
    argv: ['deployment', 'list', '--help'],
    expect: { exit: 0, calls: [], stdout: /-e, --endpoint-name <name>\s+endpoint name \(required\)/ },
  },
  {
    name: 'config set --help names every setting',
    argv: ['config', 'set', '--help'],
    expect: { exit: 0, calls: [], stdout: [/setting name: runtime or python/, /^ {2}runtime +default runtime/m, /^ {2}python +the Python interpreter/m] },
  },
  {
    name: 'an OepError of bad input from the daemon is rendered without a stack, exit 2',
    argv: ['endpoint', 'show', '-n', 'nope'],
    answers: { 'endpoint.show': new OepError('OEP_ERR_ENDPOINT_NOT_FOUND', 'Endpoint nope does not exist.', { hint: 'List them with: oep endpoint list' }) },
    expect: { exit: 2, stderr: 'error: Endpoint nope does not exist.\nhint: List them with: oep endpoint list\n(OEP_ERR_ENDPOINT_NOT_FOUND)\n' },
  },
  {
    name: 'an OepError of a failure from the daemon is rendered without a stack, exit 1',
    argv: ['endpoint', 'list'],
    answers: { 'endpoint.list': new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'The daemon did not start.') },
    expect: { exit: 1, stderr: 'error: The daemon did not start.\n(OEP_ERR_DAEMON_UNAVAILABLE)\n' },
  },
  {
    name: 'traffic mirror sends the mirror rule alone, then shows the traffic',
    argv: ['traffic', 'mirror', '-n', 'ep1', 'green=10', '-o', 'json'],
    answers: {
      'endpoint.update': endpointView,
      'endpoint.traffic': { endpoint: 'ep1', scoring_uri: endpointView.scoring_uri, problem: null, traffic: { blue: 100 }, mirror_traffic: { green: 10 }, deployments: [] },
    },
    expect: {
      exit: 0,
      calls: [
        { method: 'endpoint.update', params: { name: 'ep1', mirror: { green: 10 }, keepTraffic: false, keepMirror: false } },
        { method: 'endpoint.traffic', params: { name: 'ep1' } },
      ],
      stdout: /"green": 10/,
    },
  },
  {
    name: 'daemon status when no daemon runs says how to start it, and starts none (exit 1)',
    argv: ['daemon', 'status'],
    daemonRunning: false,
    expect: { exit: 1, calls: [{ method: 'status', params: {} }], stderr: [/The oep daemon is not running/, /hint: Start it with: oep daemon start/, /\(OEP_ERR_DAEMON_UNAVAILABLE\)/] },
  },
  {
    name: 'workspace flags of az scripts are accepted with one notice',
    argv: ['endpoint', 'list', '-g', 'rg', '-w', 'ws', '--subscription', 'sub', '--local'],
    answers: { 'endpoint.list': [] },
    expect: { exit: 0, methods: ['endpoint.list'], stderr: /ignores them/ },
  },
  // Usage errors that were e2e tests (with a real daemon) and need none: the same assertions.
  {
    name: 'endpoint show without -n is a usage error (exit 2)',
    argv: ['endpoint', 'show'],
    expect: { exit: 2, calls: [], stderr: /required option '-n, --name <name>' not specified/ },
  },
  {
    name: '--traffic with commas says to separate pairs with spaces, and asks nothing (exit 2)',
    argv: ['endpoint', 'update', '-n', 'alpha', '--traffic', 'blue=90,green=10'],
    expect: { exit: 2, calls: [], stderr: /separate pairs with spaces, not commas/ },
  },
  {
    // The list is asked for before -o is read: commands that print the daemon's answer check -o only then.
    name: 'endpoint list -o xml is an invalid choice (exit 2)',
    argv: ['endpoint', 'list', '-o', 'xml'],
    answers: { 'endpoint.list': [] },
    expect: { exit: 2, stdout: '', stderr: /invalid choice: 'xml'/ },
  },
  ...(
    [
      [['--format', 'helm'], /argument 'helm' is invalid/],
      [['--gateway-class', 'Not_A_Class'], /--gateway-class "Not_A_Class" is not a valid GatewayClass name/],
      [['--registry', 'team'], /--registry "team" names no registry host/],
      [['-d', 'never', '-o', 'yaml'], /-d\/--directory and -o\/--output are exclusive/],
      [['--auth-policy', 'kong'], /argument 'kong' is invalid/],
    ] as Array<[string[], RegExp]>
  ).map(
    ([flags, message]): Row => ({
      name: `endpoint export ${flags.join(' ')}: exit 2, asks nothing, writes nothing`,
      argv: ['endpoint', 'export', '-n', 'export-e2e', ...flags],
      expect: { exit: 2, calls: [], stdout: '', stderr: [message, /OEP_ERR_USAGE/], untouched: true },
    }),
  ),
  {
    name: 'deployment build with a tag that is no image name: exit 2, asks nothing',
    argv: ['deployment', 'build', '-n', 'blue', '-e', 'build-e2e', '--tag', 'Not/Lower:case'],
    expect: { exit: 2, calls: [], stderr: /--tag: "Not\/Lower:case" is not a valid image name[\s\S]*\(OEP_ERR_USAGE\)/ },
  },
  {
    name: 'deployment build --push with a tag that names no registry: exit 2, asks nothing',
    argv: ['deployment', 'build', '-n', 'blue', '-e', 'build-e2e', '--tag', 'oep-e2e-build/blue:1', '--push'],
    expect: { exit: 2, calls: [], stderr: /--push: the tag "\S+" names no registry, so there is nowhere to push it\.[\s\S]*\(OEP_ERR_USAGE\)/ },
  },
  {
    name: 'traffic compare --tolerance abc: exit 2, asks nothing',
    argv: ['traffic', 'compare', '-n', 'cmp', '--tolerance', 'abc'],
    expect: { exit: 2, calls: [], stderr: /--tolerance "abc" is not REL\[,ABS\]/ },
  },
  {
    name: 'endpoint update --tls with another value than on or off: exit 2, asks nothing',
    argv: ['endpoint', 'update', '-n', 'quickstart', '--tls', 'yes'],
    expect: {
      exit: 2,
      calls: [],
      stderr: 'error: --tls "yes" is not on or off.\nhint: --tls on serves the endpoint over HTTPS (a certificate from oep\'s local CA), --tls off over HTTP.\n(OEP_ERR_USAGE)\n',
    },
  },
  {
    name: 'config set runtime podman: exit 2, nothing written',
    argv: ['config', 'set', 'runtime', 'podman'],
    expect: { exit: 2, calls: [], stderr: 'error: "podman" is not a valid value for runtime; use one of: auto, docker, process.\n(OEP_ERR_USAGE)\n', untouched: true },
  },
  {
    name: 'config get of an unknown setting: exit 2',
    argv: ['config', 'get', 'colour'],
    expect: { exit: 2, calls: [], stderr: /^error: Unknown setting "colour"\./, untouched: true },
  },
  {
    name: 'config set aad_tenant refuses what is not a tenant id or domain (exit 2, nothing written)',
    argv: ['config', 'set', 'aad_tenant', 'common'],
    expect: {
      exit: 2,
      calls: [],
      stderr: 'error: "common" is not a valid value for aad_tenant; use a tenant id (a GUID) or one of the tenant\'s domains (e.g. contoso.onmicrosoft.com).\n(OEP_ERR_USAGE)\n',
      untouched: true,
    },
  },
  {
    name: 'compute create records the compute with no daemon call, one notice on stderr',
    argv: ['compute', 'create', '-n', 'batch-cluster', '--type', 'amlcompute', '--min-instances', '0', '--max-instances', '5', '--query', '[name, max_instances]', '-o', 'tsv'],
    expect: { exit: 0, calls: [], stdout: 'batch-cluster\n5\n', stderr: "notice: compute batch-cluster is recorded in oep's local workspace; jobs that name it run on this machine\n" },
  },
  {
    name: 'compute create with --min-instances above --max-instances: exit 2, nothing written',
    argv: ['compute', 'create', '-n', 'batch-cluster', '--min-instances', '6', '--max-instances', '5'],
    expect: { exit: 2, calls: [], stdout: '', stderr: [/min_instances \(6\) is above max_instances \(5\)/, /the value comes from --min-instances 6/, /\(OEP_ERR_SPEC_INVALID\)\n$/], untouched: true },
  },
  {
    name: 'compute delete of a compute not recorded: OEP_ERR_COMPUTE_NOT_FOUND before any question',
    argv: ['compute', 'delete', '-n', 'gpu-cluster'],
    expect: { exit: 2, calls: [], stdout: '', stderr: /^error: Compute gpu-cluster does not exist in oep's local workspace\.\n.*\n\(OEP_ERR_COMPUTE_NOT_FOUND\)\n$/ },
  },
  {
    name: 'validate without -f is a usage error (exit 2)',
    argv: ['validate'],
    expect: { exit: 2, calls: [], stderr: "error: required option '-f, --file <file>' not specified\n(OEP_ERR_USAGE)\n", untouched: true },
  },
];

describe('the CLI from argv to daemon calls and output (fake daemon)', () => {
  for (const row of ROWS) {
    it(row.name, async () => {
      const { exit, stdout, stderr, client, cwd, home } = await runRow(row);
      const context = `argv: ${row.argv.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`;
      assert.equal(exit, row.expect.exit, `exit code\n${context}`);
      if (row.expect.calls) {
        assert.deepEqual(client.calls.map(({ method, params }) => ({ method, params })), row.expect.calls, `daemon calls\n${context}`);
      }
      if (row.expect.methods) assert.deepEqual(client.calls.map((call) => call.method), row.expect.methods, `daemon methods\n${context}`);
      if (row.expect.stdout !== undefined) matches(stdout, row.expect.stdout, `stdout\n${context}`);
      const expectedStderr = typeof row.expect.stderr === 'function' ? row.expect.stderr(cwd) : row.expect.stderr;
      if (expectedStderr !== undefined) matches(stderr, expectedStderr, `stderr\n${context}`);
      assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace\n${context}`);
      if (row.expect.untouched) {
        assert.deepEqual(readdirSync(cwd).sort(), Object.keys(row.files ?? {}).sort(), `nothing written in the working folder\n${context}`);
        assert.equal(existsSync(home), false, `OEP_HOME not made\n${context}`);
      }
    });
  }
});
