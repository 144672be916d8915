import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { constantTimeEqual } from '../model/credentials.js';

/** aml_token tokens live this long (Azure does not document its lifetime; oep picks one hour). */
export const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** Clients are told to refresh half-way through a token's life. */
export const TOKEN_REFRESH_AFTER_MS = 30 * 60 * 1000;

export function generateKey(random: (size: number) => Buffer = randomBytes): string {
  // 32 random bytes, base64url: the same strength as Azure's keys.
  return random(32).toString('base64url');
}

export function generateSecret(random: (size: number) => Buffer = randomBytes): string {
  return random(32).toString('hex');
}

export interface IssuedToken {
  accessToken: string;
  expiryTimeUtc: number;
  refreshAfterTimeUtc: number;
  tokenType: 'Bearer';
}

/** A token is `<payload>.<signature>`: the endpoint name and expiry, signed with the endpoint's secret. */
export function issueToken(endpoint: string, secret: string, now: number): IssuedToken {
  const expiry = now + TOKEN_LIFETIME_MS;
  const payload = Buffer.from(JSON.stringify({ ep: endpoint, exp: expiry })).toString('base64url');
  return {
    accessToken: `${payload}.${sign(payload, secret)}`,
    expiryTimeUtc: Math.floor(expiry / 1000),
    refreshAfterTimeUtc: Math.floor((now + TOKEN_REFRESH_AFTER_MS) / 1000),
    tokenType: 'Bearer',
  };
}

export function verifyToken(token: string, endpoint: string, secret: string, now: number): boolean {
  const dot = token.indexOf('.');
  if (dot <= 0) return false;
  const payload = token.slice(0, dot);
  if (!constantTimeEqual(token.slice(dot + 1), sign(payload, secret))) return false;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { ep?: string; exp?: number };
    return claims.ep === endpoint && typeof claims.exp === 'number' && claims.exp > now;
  } catch {
    return false;
  }
}

/**
 * Checks a credential against a fixed set of keys (an endpoint's primary and secondary), every
 * key every time, in time independent of which matched or where they differ. The keys' bytes are
 * made once, not on every request.
 */
export class KeyMatcher {
  private readonly keys: Buffer[];

  constructor(keys: readonly string[]) {
    this.keys = keys.map((key) => Buffer.from(key));
  }

  matches(credential: string): boolean {
    const given = Buffer.from(credential);
    let matched = false;
    for (const key of this.keys) {
      if (given.length === key.length) matched = timingSafeEqual(given, key) || matched;
      else timingSafeEqual(key, key);
    }
    return matched;
  }
}

function sign(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/**
 * Why an aad_token endpoint refused a bearer token (the 401's message names it). The last three
 * concern the Entra ID tenant of the aad_tenant setting: a token of another tenant (`tid`), one
 * whose signature matches none of the tenant's keys, and the tenant's keys not fetched.
 */
export type AadRejection = 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience' | 'issuer' | 'tenant' | 'tenant-signature' | 'tenant-keys-unavailable';

/** A verifier's answer: accepted until `expiresAt` (the token's `exp`, epoch seconds), or why not. */
export type AadVerdict = { ok: true; expiresAt: number } | { ok: false; reason: AadRejection };

/**
 * Checks a bearer token of an aad_token endpoint: a JWT for https://ml.azure.com, within its
 * lifetime, signed by a key the daemon trusts (oep's local issuer, or the aad_tenant's Entra ID
 * keys). Given to the router by the daemon, so the router reads no key file and fetches nothing.
 */
export type AadVerifier = (token: string) => Promise<AadVerdict>;

/** How many verified tokens the router remembers (tokens of about 1 KB each). */
export const VERIFIED_TOKENS_MAX = 1024;

const ACCEPTED: AadVerdict = { ok: true, expiresAt: Number.POSITIVE_INFINITY };

/**
 * aad_token verification with a memory: a token verified once is accepted again, without its
 * RSA signature check, until its `exp`. Looked up by the exact token string, so a token changed
 * in any byte is verified afresh; only accepted tokens are kept (a client sending bad tokens
 * cannot fill it), at most `maxEntries`, the oldest dropped first. A token being verified is
 * verified once however many requests bring it at the same time. Aad tokens are not tied to an
 * endpoint (in Azure, any token for https://ml.azure.com whose principal may score passes), so
 * one memory serves every aad_token endpoint.
 */
export class VerifiedTokens {
  /**
   * The tokens accepted, under the last characters of their signature (hashing those costs a
   * fraction of hashing a whole ~900-character token, which every request brings as a new string);
   * the whole token is then compared, so only the exact token is accepted.
   */
  private readonly accepted = new Map<string, { token: string; until: number }>();
  private readonly verifying = new Map<string, Promise<AadVerdict>>();

  constructor(
    private readonly verify: AadVerifier,
    private readonly now: () => number = Date.now,
    private readonly maxEntries: number = VERIFIED_TOKENS_MAX,
  ) {}

  /** The verdict on `token`: at once (no promise) when it was verified before and has not expired. */
  check(token: string): AadVerdict | Promise<AadVerdict> {
    const tail = tailOf(token);
    const known = this.accepted.get(tail);
    if (known !== undefined && known.token === token) {
      if (this.now() < known.until) return ACCEPTED;
      this.accepted.delete(tail);
    }
    const pending = this.verifying.get(token);
    if (pending) return pending;
    const verdict = this.verify(token).then(
      (result) => {
        this.verifying.delete(token);
        if (result.ok && this.now() < result.expiresAt * 1000) this.remember(token, result.expiresAt * 1000);
        return result;
      },
      () => {
        this.verifying.delete(token);
        return { ok: false, reason: 'malformed' } as AadVerdict;
      },
    );
    this.verifying.set(token, verdict);
    return verdict;
  }

  /** Tokens remembered now (for tests and the bench). */
  get size(): number {
    return this.accepted.size;
  }

  private remember(token: string, until: number): void {
    const tail = tailOf(token);
    if (!this.accepted.has(tail) && this.accepted.size >= this.maxEntries) {
      // Expired ones first; then the oldest remembered.
      const now = this.now();
      for (const [key, known] of this.accepted) if (known.until <= now) this.accepted.delete(key);
      if (this.accepted.size >= this.maxEntries) this.accepted.delete(this.accepted.keys().next().value!);
    }
    this.accepted.set(tail, { token, until });
  }
}

/** A JWT's last 32 characters: part of its signature (342 characters for RS256), as good as unique. */
function tailOf(token: string): string {
  return token.length <= 32 ? token : token.slice(-32);
}
