import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { resolveDockerConnection, type ConnectionSources } from '../../src/runtimes/docker/connection.js';

/** Sources built from object literals: an environment and a map of files. */
function sources(env: NodeJS.ProcessEnv, files: Record<string, string> = {}): ConnectionSources {
  return { env, home: '/home/ada', readFile: (path) => files[path] };
}

const digest = (name: string): string => createHash('sha256').update(name).digest('hex');

describe('resolveDockerConnection', () => {
  it('uses the default socket when nothing says otherwise', () => {
    const connection = resolveDockerConnection(sources({}));
    assert.deepEqual(connection.options, { socketPath: '/var/run/docker.sock' });
    assert.equal(connection.description, 'unix:///var/run/docker.sock (default context)');
  });

  it('follows DOCKER_HOST first: unix sockets, tcp, and tls with DOCKER_CERT_PATH', () => {
    assert.deepEqual(resolveDockerConnection(sources({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).options, {
      socketPath: '/run/user/1000/docker.sock',
    });
    const tcp = resolveDockerConnection(sources({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }));
    assert.deepEqual(tcp.options, { protocol: 'http', host: '10.0.0.5', port: '2375' });
    assert.equal(tcp.description, 'tcp://10.0.0.5:2375 (DOCKER_HOST)');
    const tls = resolveDockerConnection(
      sources({ DOCKER_HOST: 'tcp://build.example:2376', DOCKER_CERT_PATH: '/certs', DOCKER_TLS_VERIFY: '1' }, {
        '/certs/ca.pem': 'CA',
        '/certs/cert.pem': 'CERT',
        '/certs/key.pem': 'KEY',
      }),
    );
    assert.deepEqual(tls.options, { protocol: 'https', host: 'build.example', port: '2376', ca: 'CA', cert: 'CERT', key: 'KEY' });
  });

  it('DOCKER_HOST wins over the current context', () => {
    const connection = resolveDockerConnection(
      sources({ DOCKER_HOST: 'unix:///tmp/d.sock' }, { '/home/ada/.docker/config.json': JSON.stringify({ currentContext: 'colima' }) }),
    );
    assert.deepEqual(connection.options, { socketPath: '/tmp/d.sock' });
  });

  it('reads the current context from config.json and its endpoint from the context store', () => {
    const files = {
      '/home/ada/.docker/config.json': JSON.stringify({ currentContext: 'colima' }),
      [`/home/ada/.docker/contexts/meta/${digest('colima')}/meta.json`]: JSON.stringify({
        Name: 'colima',
        Endpoints: { docker: { Host: 'unix:///home/ada/.colima/default/docker.sock', SkipTLSVerify: false } },
      }),
    };
    const connection = resolveDockerConnection(sources({}, files));
    assert.deepEqual(connection.options, { socketPath: '/home/ada/.colima/default/docker.sock' });
    assert.equal(connection.description, 'unix:///home/ada/.colima/default/docker.sock (context "colima")');
  });

  it('DOCKER_CONTEXT and DOCKER_CONFIG override config.json; a context with TLS files uses https', () => {
    const files = {
      '/etc/dk/config.json': JSON.stringify({ currentContext: 'ignored' }),
      [`/etc/dk/contexts/meta/${digest('prod')}/meta.json`]: JSON.stringify({ Endpoints: { docker: { Host: 'tcp://prod.example:2376' } } }),
      [`/etc/dk/contexts/tls/${digest('prod')}/docker/ca.pem`]: 'CA',
    };
    const connection = resolveDockerConnection(sources({ DOCKER_CONFIG: '/etc/dk', DOCKER_CONTEXT: 'prod' }, files));
    assert.deepEqual(connection.options, { protocol: 'https', host: 'prod.example', port: '2376', ca: 'CA' });
  });

  it('the "default" context is the default socket', () => {
    const files = { '/home/ada/.docker/config.json': JSON.stringify({ currentContext: 'default' }) };
    assert.deepEqual(resolveDockerConnection(sources({}, files)).options, { socketPath: '/var/run/docker.sock' });
  });

  it('a current context that does not exist is an error that says how to fix it', () => {
    const files = { '/home/ada/.docker/config.json': JSON.stringify({ currentContext: 'gone' }) };
    assert.throws(
      () => resolveDockerConnection(sources({}, files)),
      (error: unknown) =>
        error instanceof OepError &&
        error.code === 'OEP_ERR_DOCKER_UNAVAILABLE' &&
        error.message.startsWith('The Docker context "gone" (currentContext in /home/ada/.docker/config.json) does not exist') &&
        /docker context use/.test(error.hint ?? ''),
    );
  });

  it('ssh hosts keep the user and port', () => {
    const connection = resolveDockerConnection(sources({ DOCKER_HOST: 'ssh://ada@gpu-box:2222' }));
    assert.equal(connection.options.protocol, 'ssh');
    assert.equal(connection.options.host, 'gpu-box');
    assert.equal(connection.options.port, '2222');
    assert.equal(connection.options.username, 'ada');
  });
});
