import { join } from 'node:path';
import { defaultClientId } from '../model/identity.js';
import type { ReplicaIdentityAccess } from '../model/msi.js';
import type { EmitProgress } from '../model/progress.js';
import { scoringPlan } from '../model/scoring-plan.js';
import { msiSocketPathFor, type OepPaths } from '../state/paths.js';
import { msiSecret } from '../state/secrets.js';
import type { OepState } from '../state/types.js';
import type { LocalIssuer } from './issuer.js';
import { MsiServer, type MsiCaller } from './msi-server.js';
import { identityNotice, TokenSources, type AzureCliTokens, type IdentitySourceSetting } from './token-sources.js';

export interface ManagedIdentityOptions {
  paths: OepPaths;
  state: () => OepState;
  /** The identity_source setting, read at each use. */
  setting: () => Promise<IdentitySourceSetting>;
  log: (line: string) => void;
  /** Tests: a stand-in Azure CLI. */
  az?: AzureCliTokens;
}

/**
 * The daemon's managed identity for deployments: the MSI listener (src/identity/msi-server.ts),
 * the token sources behind it, what the runtimes put in a replica's environment, and the notice
 * `deployment create|update` prints. Made before the runtimes; `listen` before any replica starts
 * (restore included), so process replicas get MSI_ENDPOINT's port of this start.
 */
export class ManagedIdentity {
  private server?: MsiServer;
  private sources?: TokenSources;
  /** Secrets by endpoint and deployment (HMACs of the home's key: cheap, but asked for every request's callers). */
  private readonly secrets = new Map<string, string>();

  constructor(private readonly options: ManagedIdentityOptions) {}

  /** For the runtimes: MSI_ENDPOINT, the socket folder, MSI_SECRET, DEFAULT_IDENTITY_CLIENT_ID. */
  readonly access: ReplicaIdentityAccess = {
    processEndpoint: () => this.server?.url,
    socketDir: () => this.server?.socketDir,
    defaultClientId: (endpoint) => {
      const identity = this.options.state().endpoints[endpoint]?.identity;
      return identity ? defaultClientId(identity) : undefined;
    },
    secret: (endpoint, deployment) => this.secret(endpoint, deployment),
  };

  async listen(issuer: Pick<LocalIssuer, 'issue'>): Promise<void> {
    const { paths, log } = this.options;
    const sources = new TokenSources({ issuer, setting: this.options.setting, ...(this.options.az && { az: this.options.az }) });
    this.sources = sources;
    this.server = await MsiServer.start({
      portFile: join(paths.home, 'msi', 'port'),
      socketPath: msiSocketPathFor(paths.home),
      callers: () => this.callers(),
      token: (resource, subject) => sources.token(resource, subject),
      log,
    });
    log(`managed identity endpoint on ${this.server.url} and ${this.server.socketPath}`);
  }

  /** The one notice line of a deployment create or update: where its tokens come from. Never fails the command. */
  async notice(endpoint: string, deployment: string, emit: EmitProgress): Promise<void> {
    try {
      const record = this.options.state().endpoints[endpoint];
      const spec = record?.deployments[deployment]?.spec;
      if (!record?.identity || !spec || !this.sources) return;
      if (scoringPlan(spec).kind === 'container') {
        emit({
          phase: 'notice',
          message: `deployment ${deployment} is a custom container (environment.inference_config): it gets no managed identity (no MSI_ENDPOINT or MSI_SECRET), because oep reaches containers' MSI endpoint through its own scoring server, which does not run in it`,
        });
        return;
      }
      emit({ phase: 'notice', message: identityNotice(deployment, endpoint, await this.sources.choose(), defaultClientId(record.identity)) });
    } catch (error) {
      this.options.log(`msi: no notice for ${endpoint}/${deployment}: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private secret(endpoint: string, deployment: string): string {
    const key = `${endpoint}\u0000${deployment}`;
    let secret = this.secrets.get(key);
    if (secret === undefined) {
      secret = msiSecret(this.options.paths.home, endpoint, deployment);
      this.secrets.set(key, secret);
    }
    return secret;
  }

  private *callers(): Iterable<MsiCaller> {
    for (const [endpoint, record] of Object.entries(this.options.state().endpoints)) {
      if (!record.identity) continue;
      for (const deployment of Object.keys(record.deployments)) {
        yield { endpoint, deployment, secret: this.secret(endpoint, deployment), identity: record.identity };
      }
    }
  }
}
