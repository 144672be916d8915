import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { example, OepSandbox } from './harness.js';

/** The process runtime's notice of a create, as a pattern (its exact text: test/e2e/process-runtime.test.ts). */
const INTERPRETER_NOTICE = (deployment: string): string => `notice: deployment ${deployment} runs on the process runtime with [^ ]+ \\((?:[^ ]+, )?Python [\\d.]+\\): .* (is|are) not used .*Another interpreter: [^\\n]+`;

// No engine is needed here: DOCKER_HOST points at a socket that does not exist.
describe('runtime choice when no Docker engine answers', () => {
  const oep = new OepSandbox({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
  });
  after(() => oep.close());

  it('auto (the default) falls back to the process runtime with a one-line notice on stderr (then the process runtime names its interpreter)', async () => {
    assert.equal(await oep.ok(['config', 'get', 'runtime']), 'auto\n');
    const result = await oep.run(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--all-traffic', '--query', 'runtime', '-o', 'tsv']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'process\n');
    // (Besides the notice of where the managed identity's tokens come from.)
    const [fallback, interpreter, ...rest] = result.stderr.replace(/^notice: deployment \S+: managed identity tokens .*\n/m, '').split('\n');
    assert.equal(fallback, 'notice: no Docker engine answered (unix:///nonexistent/docker.sock (DOCKER_HOST)): using the process runtime');
    assert.match(interpreter!, new RegExp(`^${INTERPRETER_NOTICE('blue')}$`));
    assert.deepEqual(rest, ['']);
  });

  it('--runtime docker fails in plain words before anything is recorded, exit 1', async () => {
    const result = await oep.run(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '-n', 'green', '--runtime', 'docker']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: No Docker engine answered at unix:\/\/\/nonexistent\/docker\.sock \(DOCKER_HOST\): /);
    assert.match(result.stderr, /hint: Start Docker .*or use --runtime process\./);
    assert.match(result.stderr, /\(OEP_ERR_DOCKER_UNAVAILABLE\)\n$/);
    const missing = await oep.run(['deployment', 'show', '-n', 'green', '-e', 'quickstart']);
    assert.equal(missing.code, 2);
  });

  // Bad keys and values (config set runtime podman, config get colour) need no daemon: rows of
  // test/unit/cli-table.test.ts.
  it('oep config set runtime docker makes docker the default', async () => {
    const set = await oep.run(['config', 'set', 'runtime', 'docker']);
    assert.equal(set.code, 0);
    assert.equal(set.stderr, `runtime = docker (${join(oep.home, 'settings.json')})\n`);
    assert.equal(await oep.ok(['config', 'get', 'runtime']), 'docker\n');
    assert.deepEqual(JSON.parse(await oep.ok(['config', 'list'])), { python: 'python3', runtime: 'docker', log_max_mb: '10', pair_ring_size: '1000', image_map: '', identity_source: 'auto', keyvault_source: 'local', tls: 'off', aad_tenant: '' });
    const result = await oep.run(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '-n', 'green']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\(OEP_ERR_DOCKER_UNAVAILABLE\)/);

    await oep.ok(['config', 'set', 'runtime', 'process']);
    const processed = await oep.run(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '-n', 'green', '--query', 'runtime', '-o', 'tsv']);
    assert.equal(processed.code, 0, processed.stderr);
    assert.equal(processed.stdout, 'process\n');
    // (Besides the notice of where the managed identity's tokens come from.)
    assert.match(processed.stderr.replace(/^notice: deployment \S+: managed identity tokens .*\n/m, ''), new RegExp(`^${INTERPRETER_NOTICE('green')}\n$`), 'no fallback notice when the user chose process');
    await oep.ok(['config', 'unset', 'runtime']);
    assert.equal(await oep.ok(['config', 'get', 'runtime']), 'auto\n');
  });

  it('follows the current Docker context when DOCKER_HOST is not set', async () => {
    const config = join(oep.home, 'docker-config');
    const digest = createHash('sha256').update('remote-box').digest('hex');
    mkdirSync(join(config, 'contexts', 'meta', digest), { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'remote-box' }));
    writeFileSync(
      join(config, 'contexts', 'meta', digest, 'meta.json'),
      JSON.stringify({ Name: 'remote-box', Endpoints: { docker: { Host: 'unix:///nonexistent/remote.sock', SkipTLSVerify: false } } }),
    );
    const other = new OepSandbox({ DOCKER_HOST: '', DOCKER_CONFIG: config });
    try {
      await other.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
      const result = await other.run(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--runtime', 'docker']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error: No Docker engine answered at unix:\/\/\/nonexistent\/remote\.sock \(context "remote-box"\): /);
    } finally {
      await other.close();
    }
  });
});
