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
