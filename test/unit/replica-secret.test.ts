import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scoringEnvironment } from '../../src/model/layout.js';
import { REPLICA_SECRET_ENV } from '../../src/model/server-contract.js';
import { maskEnvironment, maskValue } from '../../src/runtimes/prepared-log.js';
import { HOME_KEY_FILE, homeKey, metricsToken, replicaSecret } from '../../src/state/secrets.js';
import type { DeploymentSpec } from '../../src/spec/types.js';

describe('the home key and what derives from it', () => {
  const home = join(mkdtempSync(join(tmpdir(), 'oep-secrets-')), 'home');
  after(() => rmSync(join(home, '..'), { recursive: true, force: true }));

  it('is made once, 0600 in a 0700 home, and gives each deployment its own stable secret', () => {
    const key = homeKey(home);
    assert.equal(key.length, 32);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, HOME_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(home, HOME_KEY_FILE), 'utf8').trim(), key.toString('hex'));
    const blue = replicaSecret(home, 'ep', 'blue');
    assert.match(blue, /^[0-9a-f]{64}$/);
    assert.equal(replicaSecret(home, 'ep', 'blue'), blue);
    assert.notEqual(replicaSecret(home, 'ep', 'green'), blue);
    assert.notEqual(replicaSecret(home, 'ep2', 'blue'), blue);
    assert.match(metricsToken(home), /^[0-9a-f]{32}$/);
  });
});

describe('scoringEnvironment and the replica secret', () => {
  const spec = { environment_variables: { A: '1', [REPLICA_SECRET_ENV]: 'mine' } } as unknown as DeploymentSpec;

  it('sets OEP_REPLICA_SECRET from the runtime, never from environment_variables, which stay last', () => {
    const env = scoringEnvironment(spec, { appRoot: '/app', replicaSecret: 's' });
    assert.deepEqual(Object.entries(env), [[REPLICA_SECRET_ENV, 's'], ['AML_APP_ROOT', '/app'], ['A', '1']]);
    assert.deepEqual(scoringEnvironment(spec, {}), { A: '1' });
  });
});

describe('what the storage-initializer log masks', () => {
  it('masks secret-looking names whole and credentials inside other values', () => {
    assert.deepEqual(
      maskEnvironment({
        DB_URL: 'postgres://admin:hunter2@db/x',
        OEP_REPLICA_SECRET: 'abc',
        API_KEY: 'k',
        GIT: 'https://ghp_token@github.com/o/r.git',
        BLOB: 'https://a.blob.core.windows.net/c?sv=2020&sig=abc%2F&se=1',
        STORAGE: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=xyz==;EndpointSuffix=core.windows.net',
        PLAIN: 'http://host:8080/path?x=1',
      }),
      {
        DB_URL: 'postgres://admin:***@db/x',
        OEP_REPLICA_SECRET: '***',
        API_KEY: '***',
        GIT: 'https://***@github.com/o/r.git',
        BLOB: 'https://a.blob.core.windows.net/c?sv=2020&sig=***&se=1',
        STORAGE: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net',
        PLAIN: 'http://host:8080/path?x=1',
      },
    );
    assert.equal(maskValue('python -m x --url redis://:pw@r:6379/0'), 'python -m x --url redis://:***@r:6379/0');
  });
});
