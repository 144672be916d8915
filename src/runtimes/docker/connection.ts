import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DockerOptions } from 'dockerode';
import { OepError } from '../../errors.js';

/** How to reach the Docker engine, and where that choice came from (for messages). */
export interface DockerConnection {
  options: DockerOptions;
  /** e.g. "unix:///var/run/docker.sock (default context)" */
  description: string;
}

export interface ConnectionSources {
  env: NodeJS.ProcessEnv;
  home: string;
  readFile: (path: string) => string | undefined;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Resolves the engine the way the docker CLI does: DOCKER_HOST, else DOCKER_CONTEXT, else the
 * `currentContext` of ~/.docker/config.json (DOCKER_CONFIG moves that folder), else the default
 * socket. Contexts live in <config>/contexts/meta/<sha256 of the name>/meta.json, their TLS
 * files in <config>/contexts/tls/<sha256>/docker/.
 */
export function resolveDockerConnection(sources: ConnectionSources = systemSources()): DockerConnection {
  const { env } = sources;
  if (env.DOCKER_HOST) {
    const certs = env.DOCKER_CERT_PATH ? readTls(sources, env.DOCKER_CERT_PATH) : undefined;
    const options = hostOptions(env.DOCKER_HOST, certs, env.DOCKER_TLS_VERIFY === '1');
    return { options, description: `${env.DOCKER_HOST} (DOCKER_HOST)` };
  }
  const configDir = env.DOCKER_CONFIG || join(sources.home, '.docker');
  let name = env.DOCKER_CONTEXT;
  let from = 'DOCKER_CONTEXT';
  if (!name) {
    const config = parseJson(sources.readFile(join(configDir, 'config.json')));
    name = typeof config?.currentContext === 'string' ? config.currentContext : undefined;
    from = `currentContext in ${join(configDir, 'config.json')}`;
  }
  if (!name || name === 'default') {
    return { options: { socketPath: DEFAULT_SOCKET }, description: `unix://${DEFAULT_SOCKET} (default context)` };
  }
  const digest = createHash('sha256').update(name).digest('hex');
  const metaFile = join(configDir, 'contexts', 'meta', digest, 'meta.json');
  const meta = parseJson(sources.readFile(metaFile)) as { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } } | undefined;
  const host = meta?.Endpoints?.docker?.Host;
  if (!host) {
    throw new OepError('OEP_ERR_DOCKER_UNAVAILABLE', `The Docker context "${name}" (${from}) does not exist or has no Docker endpoint (${metaFile}).`, {
      hint: 'List contexts with "docker context ls" and pick one with "docker context use NAME", or set DOCKER_HOST.',
    });
  }
  const certs = readTls(sources, join(configDir, 'contexts', 'tls', digest, 'docker'));
  const options = hostOptions(host, certs, false);
  return { options, description: `${host} (context "${name}")` };
}

interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

function readTls(sources: ConnectionSources, dir: string): TlsFiles | undefined {
  const files: TlsFiles = {
    ca: sources.readFile(join(dir, 'ca.pem')),
    cert: sources.readFile(join(dir, 'cert.pem')),
    key: sources.readFile(join(dir, 'key.pem')),
  };
  return files.ca || files.cert || files.key ? files : undefined;
}

function hostOptions(host: string, tls: TlsFiles | undefined, verify: boolean): DockerOptions {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || DEFAULT_SOCKET };
  if (host.startsWith('npipe://')) return { socketPath: host.slice('npipe://'.length) };
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw new OepError('OEP_ERR_DOCKER_UNAVAILABLE', `The Docker host "${host}" is not a valid address.`, {
      hint: 'Use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST.',
    });
  }
  if (url.protocol === 'ssh:') {
    return { protocol: 'ssh', host: url.hostname, port: url.port || 22, username: url.username || undefined, sshOptions: { agent: process.env.SSH_AUTH_SOCK } };
  }
  const https = verify || url.port === '2376' || tls !== undefined;
  return {
    protocol: https ? 'https' : 'http',
    host: url.hostname,
    port: url.port || (https ? 2376 : 2375),
    ...(tls?.ca ? { ca: tls.ca } : {}),
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
  };
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function systemSources(): ConnectionSources {
  return {
    env: process.env,
    home: homedir(),
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
