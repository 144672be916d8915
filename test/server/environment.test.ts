import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { FIXTURES, runUntilExit, ScoringServer, stopAllServers } from './harness.js';

describe('oep-server environment', () => {
  afterEach(stopAllServers);

  it('resolves AZUREML_ENTRY_SCRIPT against AML_APP_ROOT and puts both directories on sys.path', async () => {
    const server = await ScoringServer.start({ fixture: 'nested', entryScript: 'onlinescoring/score.py' });
    const res = await server.request({ method: 'POST', path: '/score', body: '{}' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"local": "script directory", "shared": "app root"}');
    await server.waitForStdout(/Entry Script Name: .*nested\/onlinescoring\/score\.py\n/);
  });

  it('accepts an absolute AZUREML_ENTRY_SCRIPT', async () => {
    const server = await ScoringServer.start({ fixture: 'nested', entryScript: join(FIXTURES, 'plain', 'score.py') });
    const res = await server.request({ method: 'POST', path: '/score', body: '{"kind": "str"}' });
    assert.equal(res.text, '"hello"');
  });

  it('writes script output in order with its own, a partial line included', async () => {
    const server = await ScoringServer.start({ fixture: 'nested', entryScript: 'onlinescoring/score.py' });
    await server.waitForStdout('nested: partial line without newline nested: init doneoep-server: ');
  });

  it('listens on OEP_SERVER_PORT when --port is not given', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', portFromEnv: true });
    await server.waitForStdout(`Server Port: ${server.port}\n`);
    assert.equal((await server.request({ path: '/' })).status, 200);
  });

  it('execs azmlinfsrv with the entry script and port when OEP_USE_AZMLINFSRV=1 and it is on PATH', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'oep-fake-azmlinfsrv-'));
    try {
      const fake = join(bin, 'azmlinfsrv');
      await writeFile(fake, '#!/bin/sh\necho "fake azmlinfsrv $*"\necho "AZUREML_MODEL_DIR=$AZUREML_MODEL_DIR"\n');
      await chmod(fake, 0o755);
      const result = await runUntilExit({
        fixture: 'plain',
        portFromEnv: true,
        env: { OEP_USE_AZMLINFSRV: '1', PATH: `${bin}:${process.env.PATH}`, AZUREML_MODEL_DIR: '/models/m/1', WORKER_COUNT: '2' },
      });
      assert.equal(result.code, 0);
      const script = join(FIXTURES, 'plain', 'score.py');
      assert.match(result.stdout, new RegExp(`^oep-server: OEP_USE_AZMLINFSRV=1: exec ${fake} --entry_script ${script} --port \\d+ --worker_count 2 --model_dir /models/m/1\\n`));
      assert.match(result.stdout, new RegExp(`\\nfake azmlinfsrv --entry_script ${script} --port \\d+ --worker_count 2 --model_dir /models/m/1\\nAZUREML_MODEL_DIR=/models/m/1\\n$`));
      assert.equal(result.stderr, 'oep-server: note: azmlinfsrv always listens on 0.0.0.0 (--host 127.0.0.1 is not passed on)\n');
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it('serves with oep-server when OEP_USE_AZMLINFSRV=1 but azmlinfsrv is not on PATH', async () => {
    const server = await ScoringServer.start({ fixture: 'plain', env: { OEP_USE_AZMLINFSRV: '1', PATH: '/usr/bin:/bin' } });
    await server.waitForStderr('\n');
    assert.equal(server.stderr, 'oep-server: OEP_USE_AZMLINFSRV=1 but azmlinfsrv is not on PATH; serving with oep-server instead\n');
    assert.equal((await server.request({ path: '/' })).status, 200);
  });
});
