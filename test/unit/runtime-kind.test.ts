import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CliContext } from '../../src/cli/context.js';
import { deploymentCreateCommand } from '../../src/cli/commands/deployment/create.js';
import { deploymentUpdateCommand } from '../../src/cli/commands/deployment/update.js';
import type { DaemonClient } from '../../src/daemon/client.js';
import { applyDeployment } from '../../src/engine/deployment-apply.js';
import { isOepError } from '../../src/errors.js';
import { parseRuntimeChoice, RUNTIME_CHOICES } from '../../src/model/runtime-kind.js';
import { SETTING_RULES } from '../../src/state/settings.js';

/** `--runtime`'s choices are one list: the flag, the setting and both checks read it. */
describe('runtime choices', () => {
  it('are auto, docker and process', () => {
    assert.deepEqual([...RUNTIME_CHOICES], ['auto', 'docker', 'process']);
  });

  it('parse each choice as itself and no choice as auto', () => {
    for (const choice of RUNTIME_CHOICES) assert.equal(parseRuntimeChoice(choice), choice);
    assert.equal(parseRuntimeChoice(undefined), 'auto');
    assert.equal(parseRuntimeChoice(null), 'auto');
  });

  it('refuse anything else with a usage error that names the choices', () => {
    for (const wrong of ['podman', 'Docker', '', 3]) {
      assert.throws(
        () => parseRuntimeChoice(wrong),
        (error: unknown) =>
          isOepError(error) && error.code === 'OEP_ERR_USAGE' && error.message === `--runtime must be one of auto, docker, process, not "${String(wrong)}".`,
      );
    }
  });

  it('are what deployment create and update offer as --runtime', () => {
    const ctx = {} as CliContext;
    for (const command of [deploymentCreateCommand(ctx), deploymentUpdateCommand(ctx)]) {
      const flag = command.options.find((option) => option.long === '--runtime');
      assert.deepEqual(flag?.argChoices, [...RUNTIME_CHOICES], `oep deployment ${command.name()} --runtime`);
    }
  });

  it('are the values of the runtime setting', () => {
    assert.deepEqual(SETTING_RULES.runtime.values, RUNTIME_CHOICES);
  });

  it('are checked by the engine before the YAML is read or the daemon is called', async () => {
    const client = new Proxy({}, { get: () => assert.fail('the daemon was called') }) as DaemonClient;
    await assert.rejects(
      applyDeployment('create', { file: '/nonexistent/deployment.yml', runtime: 'podman', set: [], allTraffic: false }, { client, cwd: '/', env: {} }),
      (error: unknown) => isOepError(error) && error.code === 'OEP_ERR_USAGE' && error.message.startsWith('--runtime must be one of auto, docker, process'),
    );
  });
});
