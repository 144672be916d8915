import type Dockerode from 'dockerode';
import { OepError } from '../../errors.js';
import { resolveDockerConnection, type DockerConnection } from './connection.js';

const PING_TIMEOUT_MS = 3000;

/**
 * The Docker engine, connected lazily: nothing talks to Docker until a deployment needs it, so a
 * machine without Docker pays nothing for the docker runtime being registered.
 */
export class DockerEngine {
  private connection?: DockerConnection;
  private client?: Dockerode;

  constructor(private readonly resolve: () => DockerConnection = resolveDockerConnection) {}

  /** Where the engine is expected, for messages ("unix:///var/run/docker.sock (default context)"). */
  describe(): string {
    try {
      return this.resolveConnection().description;
    } catch (error) {
      return (error as Error).message;
    }
  }

  async docker(): Promise<Dockerode> {
    if (!this.client) {
      const { default: Docker } = await import('dockerode');
      this.client = new Docker(this.resolveConnection().options);
    }
    return this.client;
  }

  /** True when the engine answers a ping within `timeoutMs`. Never throws. */
  async answers(timeoutMs = 1500): Promise<boolean> {
    try {
      await this.ping(timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /** Throws OEP_ERR_DOCKER_UNAVAILABLE, in plain words, when the engine does not answer. */
  async ensureAvailable(timeoutMs = PING_TIMEOUT_MS): Promise<void> {
    try {
      await this.ping(timeoutMs);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Turns a connection failure into the error users see; other errors pass through. */
  unavailable(error: unknown): OepError {
    if (error instanceof OepError) return error;
    const reason = (error as Error)?.message ?? String(error);
    return new OepError('OEP_ERR_DOCKER_UNAVAILABLE', `No Docker engine answered at ${this.describe()}: ${reason}.`, {
      hint: 'Start Docker (e.g. "sudo systemctl start docker" or Docker Desktop), check DOCKER_HOST or "docker context use", or use --runtime process.',
    });
  }

  /** Whether an error means "the engine is not there" rather than "the engine said no". */
  static isConnectionError(error: unknown): boolean {
    const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
    if (typeof code !== 'string') return false;
    // ENOENT and EACCES also come from files; they mean "no engine" only when connecting.
    if (code === 'ENOENT' || code === 'EACCES') return syscall === 'connect';
    return ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE'].includes(code);
  }

  private resolveConnection(): DockerConnection {
    this.connection ??= this.resolve();
    return this.connection;
  }

  private async ping(timeoutMs: number): Promise<void> {
    const docker = await this.docker();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([docker.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
