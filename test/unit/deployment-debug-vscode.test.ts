import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DaemonClient } from '../../src/daemon/client.js';
import { deploymentCreateCommand } from '../../src/cli/commands/deployment/create.js';
import type { CliContext } from '../../src/cli/context.js';
import { OepError } from '../../src/errors.js';
import type { DebugView } from '../../src/model/debug.js';
import type { ProgressEvent } from '../../src/model/progress.js';
import { oepPaths } from '../../src/state/paths.js';

const DEBUG_VIEW: DebugView = {
  host: '127.0.0.1',
  port: 5678,
  wait: false,
  access: 'user',
  attach: { name: 'oep: blue (quickstart)', type: 'debugpy', request: 'attach', connect: { host: '127.0.0.1', port: 5678 }, pathMappings: [], justMyCode: true },
};

/** A daemon that says where debugpy will listen, then makes the deployment or fails to. */
function fakeDaemon(home: string, outcome: 'ready' | 'no debugpy'): DaemonClient {
  return {
    paths: oepPaths(home),
    call: async (method: string, _params: unknown, options?: { onEvent?: (event: ProgressEvent) => void }) => {
      if (method === 'deployment.show') return { name: 'blue', debug: DEBUG_VIEW };
      options?.onEvent?.({ phase: 'debug', message: 'debugpy will listen on 127.0.0.1:5678' });
      // The replica's start takes a moment: the attach configuration is shown meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (outcome === 'no debugpy') {
        throw new OepError('OEP_ERR_DEBUGPY_MISSING', 'Deployment blue cannot run under the debugger: --debug needs debugpy, and /usr/bin/python3 cannot import debugpy.');
      }
      return { name: 'blue', provisioning_state: 'Succeeded', debug: DEBUG_VIEW };
    },
  } as unknown as DaemonClient;
}

describe('oep deployment create --debug --vscode (a fake daemon through the context)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oep-vscode-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function project(name: string): string {
    const folder = join(dir, name);
    mkdirSync(join(folder, 'code'), { recursive: true });
    writeFileSync(join(folder, 'code', 'score.py'), 'def init():\n    pass\n\ndef run(data):\n    return data\n');
    writeFileSync(
      join(folder, 'blue.yml'),
      'name: blue\nendpoint_name: quickstart\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: python:3.11\ninstance_type: Standard_DS3_v2\n',
    );
    return folder;
  }

  /** `oep deployment create -f blue.yml --debug --vscode -o none` in `cwd`, against the fake daemon; stderr as a user sees it. */
  async function create(cwd: string, outcome: 'ready' | 'no debugpy'): Promise<{ stderr: string; error?: unknown }> {
    let stderr = '';
    const ctx: CliContext = {
      env: { NO_COLOR: '1' },
      cwd,
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      stdin: process.stdin,
      home: join(cwd, 'home'),
      client: fakeDaemon(join(cwd, 'home'), outcome),
      confirm: async () => false,
      interrupt: new AbortController().signal,
      claimInterrupt: () => undefined,
    };
    try {
      await deploymentCreateCommand(ctx).parseAsync(['-f', 'blue.yml', '--debug', '--vscode', '-o', 'none'], { from: 'user' });
      return { stderr };
    } catch (error) {
      return { stderr, error };
    }
  }

  const attachNotice = [
    'notice: debugpy listens on 127.0.0.1:5678 once the replica starts; only you can attach (oep checks who connects). Attach with this configuration (VS Code: .vscode/launch.json, written there if the command succeeds):',
    JSON.stringify(DEBUG_VIEW.attach, null, 2),
  ].join('\n');

  it('a deployment that fails to start (no debugpy) leaves .vscode/launch.json unwritten; the attach configuration was still shown', async () => {
    const cwd = project('failing');
    const result = await create(cwd, 'no debugpy');
    assert.ok(result.error instanceof OepError && result.error.code === 'OEP_ERR_DEBUGPY_MISSING', String(result.error));
    assert.equal(result.stderr, `${attachNotice}\n`);
    assert.equal(existsSync(join(cwd, '.vscode')), false);
  });

  it('a deployment that is made gets its configuration in .vscode/launch.json, and says so', async () => {
    const cwd = project('ready');
    const result = await create(cwd, 'ready');
    assert.equal(result.error, undefined);
    const file = join(cwd, '.vscode', 'launch.json');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { version: '0.2.0', configurations: [DEBUG_VIEW.attach] });
    assert.equal(result.stderr, `${attachNotice}\nnotice: wrote the configuration "oep: blue (quickstart)" into ${file} (Run and Debug: attach with it)\n`);
  });
});
