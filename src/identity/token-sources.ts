import { execFile } from 'node:child_process';
import type { TokenSubject } from '../model/identity.js';
import type { LocalIssuer } from './issuer.js';

/**
 * Where the tokens a deployment asks its MSI endpoint for come from (docs/behaviour.md, "Identity
 * and tokens"): the developer's Azure CLI login (`az account get-access-token`: real Entra ID
 * tokens, the deployment acts as the developer) or oep's local issuer (tokens for the endpoint's
 * own identity that only oep accepts). The `identity_source` setting chooses: auto (az when it is
 * on PATH and logged in, else local), az or local.
 */
export type IdentitySourceSetting = 'auto' | 'az' | 'local';
export type IdentitySource = 'az' | 'local';

export const IDENTITY_SOURCE_SETTINGS: readonly IdentitySourceSetting[] = ['auto', 'az', 'local'];

export interface SourcedToken {
  token: string;
  /** Epoch seconds. */
  expires_on: number;
  source: IdentitySource;
}

/** Why the Azure CLI gave no token (the MSI endpoint answers with the message). */
export class TokenSourceError extends Error {
  constructor(
    message: string,
    readonly reason: 'missing' | 'logged-out' | 'failed',
  ) {
    super(message);
  }
}

export interface AzResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** No `az` on PATH. */
  missing?: boolean;
}

/** Runs the Azure CLI; tests pass a stand-in. */
export type AzRunner = (args: string[]) => Promise<AzResult>;

/** How long one `az` call may take (it may refresh its token from Entra ID). */
const AZ_TIMEOUT_MS = 60_000;
/** A cached Azure CLI token is used until this close to its expiry (azure-identity refreshes at 300 s too). */
export const AZ_REFRESH_MARGIN_S = 300;
/** In `auto`, an Azure CLI found missing or logged out is not asked again for this long. */
const AZ_RECHECK_MS = 60_000;

/** `az` from the daemon's PATH (the one of the command that started it). */
export const runAz: AzRunner = (args) =>
  new Promise((resolve) => {
    execFile('az', args, { timeout: AZ_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, AZURE_CORE_ONLY_SHOW_ERRORS: 'true' } }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return resolve({ code: null, stdout: '', stderr: '', missing: true });
      resolve({ code: error ? (typeof code === 'number' ? code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });

/** Who `az account show` says is logged in. */
export interface AzAccount {
  user: string;
  tenant: string;
}

/**
 * The Azure CLI as a token source: `az account get-access-token --resource R -o json`, cached per
 * resource until AZ_REFRESH_MARGIN_S before it expires; concurrent asks for one resource share one call.
 */
export class AzureCliTokens {
  private readonly cache = new Map<string, { token: string; expires_on: number }>();
  private readonly pending = new Map<string, Promise<{ token: string; expires_on: number }>>();

  constructor(
    private readonly run: AzRunner = runAz,
    private readonly now: () => number = Date.now,
  ) {}

  /** The logged-in account, or why there is none. */
  async account(): Promise<AzAccount> {
    const result = await this.run(['account', 'show', '-o', 'json']);
    failIfUnusable(result, 'az account show');
    try {
      const parsed = JSON.parse(result.stdout) as { user?: { name?: unknown }; tenantId?: unknown };
      return { user: typeof parsed.user?.name === 'string' ? parsed.user.name : 'unknown user', tenant: typeof parsed.tenantId === 'string' ? parsed.tenantId : '' };
    } catch {
      throw new TokenSourceError(`az account show printed no JSON: ${firstLine(result.stdout)}`, 'failed');
    }
  }

  async token(resource: string): Promise<{ token: string; expires_on: number }> {
    const cached = this.cache.get(resource);
    if (cached && cached.expires_on - this.now() / 1000 > AZ_REFRESH_MARGIN_S) return cached;
    const running = this.pending.get(resource);
    if (running) return running;
    const asking = this.ask(resource).finally(() => this.pending.delete(resource));
    this.pending.set(resource, asking);
    return asking;
  }

  private async ask(resource: string): Promise<{ token: string; expires_on: number }> {
    const result = await this.run(['account', 'get-access-token', '--resource', resource, '-o', 'json']);
    failIfUnusable(result, 'az account get-access-token');
    const token = parseAccessToken(result.stdout);
    if (!token) throw new TokenSourceError(`az account get-access-token printed no token: ${firstLine(result.stdout)}`, 'failed');
    this.cache.set(resource, token);
    return token;
  }
}

function failIfUnusable(result: AzResult, command: string): void {
  if (result.missing) throw new TokenSourceError('the Azure CLI (az) is not on the PATH of the oep daemon', 'missing');
  if (result.code === 0) return;
  const message = result.stderr.trim() || result.stdout.trim() || `exit code ${result.code}`;
  // "Please run 'az login' to setup account.", an expired refresh token ("... run `az login`"), ...
  if (/\baz login\b/.test(message)) throw new TokenSourceError(`the Azure CLI is not logged in (${command}: ${firstLine(message)})`, 'logged-out');
  throw new TokenSourceError(`${command} failed: ${firstLine(message)}`, 'failed');
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/**
 * The token in `az account get-access-token -o json`: accessToken, and expires_on (epoch seconds,
 * az >= 2.54) or else expiresOn ("2024-05-01 12:34:56.000000", local time).
 */
export function parseAccessToken(stdout: string): { token: string; expires_on: number } | undefined {
  let parsed: { accessToken?: unknown; expires_on?: unknown; expiresOn?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    return undefined;
  }
  if (typeof parsed.accessToken !== 'string' || parsed.accessToken === '') return undefined;
  let expires = typeof parsed.expires_on === 'number' || typeof parsed.expires_on === 'string' ? Number(parsed.expires_on) : NaN;
  if (!Number.isFinite(expires) && typeof parsed.expiresOn === 'string') {
    const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(parsed.expiresOn);
    if (match) {
      const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
      expires = new Date(year, month - 1, day, hour, minute, second).getTime() / 1000;
    }
  }
  if (!Number.isFinite(expires)) return undefined;
  return { token: parsed.accessToken, expires_on: Math.floor(expires) };
}

/** Which source answers, as the deployment create/update notice tells it. */
export interface SourceChoice {
  source: IdentitySource;
  setting: IdentitySourceSetting;
  /** The Azure CLI's account, when it is the source. */
  account?: AzAccount;
  /** Why the Azure CLI is not used (auto), or cannot be (az). */
  problem?: string;
}

export interface TokenSourcesOptions {
  issuer: Pick<LocalIssuer, 'issue'>;
  az?: AzureCliTokens;
  /** The identity_source setting, read at each use so `oep config set` applies at once. */
  setting: () => Promise<IdentitySourceSetting>;
  now?: () => number;
}

/** The token sources behind one call, chosen by the identity_source setting. */
export class TokenSources {
  private readonly az: AzureCliTokens;
  private readonly now: () => number;
  /** auto: the Azure CLI was found missing or logged out; not asked again before this time. */
  private azUnusableUntil = 0;

  constructor(private readonly options: TokenSourcesOptions) {
    this.now = options.now ?? Date.now;
    this.az = options.az ?? new AzureCliTokens(runAz, this.now);
  }

  /** A token for `resource`: the Azure CLI's (as the developer) or the local issuer's (as `subject`). */
  async token(resource: string, subject: TokenSubject): Promise<SourcedToken> {
    const setting = await this.options.setting();
    if (setting === 'az' || (setting === 'auto' && this.now() >= this.azUnusableUntil)) {
      try {
        return { ...(await this.az.token(resource)), source: 'az' };
      } catch (error) {
        if (setting === 'az' || !(error instanceof TokenSourceError) || error.reason === 'failed') throw error;
        this.azUnusableUntil = this.now() + AZ_RECHECK_MS;
      }
    }
    const issued = await this.options.issuer.issue(resource, subject, this.now());
    return { token: issued.token, expires_on: issued.expires_on, source: 'local' };
  }

  /** Which source answers now (asks the Azure CLI who is logged in, unless the setting is local). */
  async choose(): Promise<SourceChoice> {
    const setting = await this.options.setting();
    if (setting === 'local') return { source: 'local', setting };
    try {
      const account = await this.az.account();
      this.azUnusableUntil = 0;
      return { source: 'az', setting, account };
    } catch (error) {
      const problem = (error as Error).message;
      if (setting === 'auto') this.azUnusableUntil = this.now() + AZ_RECHECK_MS;
      return { source: setting === 'az' ? 'az' : 'local', setting, problem };
    }
  }
}

/**
 * The one line `deployment create|update` prints about the managed identity: where its tokens
 * come from and what that means. `clientId` is the endpoint's default identity's.
 */
export function identityNotice(deployment: string, endpoint: string, choice: SourceChoice, clientId: string): string {
  const head = `deployment ${deployment}: managed identity tokens (MSI_ENDPOINT)`;
  if (choice.source === 'az' && !choice.problem) {
    return `${head} come from your Azure CLI login (${choice.account?.user ?? 'unknown user'}, az account get-access-token): the deployment acts as you, not as endpoint ${endpoint}'s identity; "oep config set identity_source local" gives oep's local tokens instead`;
  }
  if (choice.source === 'az') {
    return `${head} should come from the Azure CLI (identity_source az), but ${choice.problem}: token requests fail until it is fixed (az login), or use "oep config set identity_source auto"`;
  }
  if (choice.setting === 'local') {
    return `${head} are oep's local tokens for endpoint ${endpoint}'s identity (client id ${clientId}; identity_source is local): Azure services refuse them; "oep config set identity_source auto" passes your Azure CLI login through`;
  }
  return `${head} are oep's local tokens for endpoint ${endpoint}'s identity (client id ${clientId}; ${choice.problem ?? 'no Azure CLI login'}): Azure services refuse them; after "az login", identity_source auto passes your Azure CLI login through`;
}
