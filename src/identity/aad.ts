import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import { ML_RESOURCE, type LocalIssuer } from './issuer.js';
import type { AadRejection, AadVerdict, AadVerifier } from '../router/auth.js';
import { isTenantId } from '../state/settings.js';

/**
 * The verifier of aad_token endpoints' bearer tokens that the daemon gives its router: a JWT for
 * https://ml.azure.com (with or without the trailing slash), within its lifetime (exp, nbf),
 * signed by the home's local issuer. Any such token passes, whichever endpoint or principal it
 * names: Azure's aad tokens are not tied to an endpoint either (oep has no role assignments).
 */
export function localAadVerifier(issuer: Pick<LocalIssuer, 'verify'>): AadVerifier {
  return async (token: string): Promise<AadVerdict> => {
    const result = await issuer.verify(token, ML_RESOURCE);
    if (!result.ok) return result;
    // Entra ID's tokens always carry exp; one without it is not one of them.
    return typeof result.claims.exp === 'number' ? { ok: true, expiresAt: result.claims.exp } : { ok: false, reason: 'malformed' };
  };
}

/** Where a tenant's signing keys are published (`{tenant}`: the aad_tenant setting, id or domain). */
export const ENTRA_JWKS_URL = 'https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys';
/** The longest a fetch of a tenant's keys may take; the tokens waiting on it are then refused. */
export const JWKS_TIMEOUT_MS = 5_000;
/** After a failed fetch, tokens that need one are refused at once for this long (no fetch each). */
export const JWKS_RETRY_AFTER_MS = 10_000;
/** Keys are fetched again after this long (Microsoft.IdentityModel refreshes its metadata every 12 h). */
export const JWKS_MAX_AGE_MS = 12 * 3600_000;
/** A token whose `kid` is unknown fetches the keys again (a key rollover), at most this often. */
export const JWKS_COOLDOWN_MS = 30_000;

export interface AadVerifierOptions {
  issuer: Pick<LocalIssuer, 'verify' | 'kid'>;
  /** The aad_tenant setting ('' for none), asked for each token the local issuer did not sign. */
  tenant?: () => string | Promise<string>;
  /** The keys' address: OEP_AAD_JWKS_URL (tests, proxies), `{tenant}` in it replaced; default ENTRA_JWKS_URL. */
  jwksUrl?: string;
  timeoutMs?: number;
  retryAfterMs?: number;
  cooldownMs?: number;
  log?: (line: string) => void;
  now?: () => number;
}

/** The tenant of an Entra ID issuer: v1 `https://sts.windows.net/<tid>/`, v2 `https://login.microsoftonline.com/<tid>/v2.0`. */
export function entraIssuerTenant(iss: unknown): string | undefined {
  if (typeof iss !== 'string') return undefined;
  const match = /^https:\/\/sts\.windows\.net\/([^/]+)\/$/.exec(iss) ?? /^https:\/\/login\.microsoftonline\.com\/([^/]+)\/v2\.0$/.exec(iss);
  return match && isTenantId(match[1]!) ? match[1]!.toLowerCase() : undefined;
}

/** The keys' URL for `tenant`, or why there is none (an OEP_AAD_JWKS_URL that is not an http(s) URL). */
export function jwksUrlFor(tenant: string, template: string = ENTRA_JWKS_URL): URL | string {
  let url: URL;
  try {
    url = new URL(template.replaceAll('{tenant}', encodeURIComponent(tenant)));
  } catch {
    return `OEP_AAD_JWKS_URL is not a URL: ${template}`;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url : `OEP_AAD_JWKS_URL is not an http(s) URL: ${template}`;
}

interface TenantKeys {
  tenant: string;
  url: URL | string;
  remote?: RemoteJWKSet;
  /** When the last fetch failed, and why (for the log). */
  failedAt?: number;
  failure?: string;
  loggedAt?: number;
}

/**
 * The aad_token verifier with the aad_tenant setting: tokens of the local issuer (its `kid`) as
 * localAadVerifier checks them; with a tenant set, also Entra ID's tokens of that tenant: `iss`
 * one of Entra's two forms, `tid` the tenant (when the setting is an id; a domain names no id,
 * so then `tid` need only be the one in `iss`), `aud` https://ml.azure.com (or with the slash),
 * exp/nbf with no leeway, an RS256 signature by one of the tenant's keys. Claims are read before
 * anything is fetched: a token that does not claim the tenant never makes a fetch.
 *
 * The keys come from the tenant's JWKS (jose's createRemoteJWKSet: kept JWKS_MAX_AGE_MS, fetched
 * again for an unknown `kid` at most every JWKS_COOLDOWN_MS, one fetch at a time, JWKS_TIMEOUT_MS
 * at most). A failed fetch refuses the tokens that needed it (`tenant-keys-unavailable`), logs
 * why (at most every JWKS_RETRY_AFTER_MS), and for JWKS_RETRY_AFTER_MS tokens that would need a
 * fetch are refused at once. Nothing else waits on a fetch: local tokens, tokens already verified
 * (router/auth.ts VerifiedTokens) and other endpoints go on.
 */
export function aadVerifier(options: AadVerifierOptions): AadVerifier {
  const local = localAadVerifier(options.issuer);
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? JWKS_TIMEOUT_MS;
  const retryAfterMs = options.retryAfterMs ?? JWKS_RETRY_AFTER_MS;
  let keys: TenantKeys | undefined;

  const keysOf = (tenant: string): TenantKeys => {
    if (keys?.tenant === tenant) return keys;
    const url = jwksUrlFor(tenant, options.jwksUrl || ENTRA_JWKS_URL);
    keys = {
      tenant,
      url,
      remote:
        typeof url === 'string'
          ? undefined
          : createRemoteJWKSet(url, { timeoutDuration: timeoutMs, cooldownDuration: options.cooldownMs ?? JWKS_COOLDOWN_MS, cacheMaxAge: JWKS_MAX_AGE_MS }),
    };
    return keys;
  };

  const failed = (set: TenantKeys, why: string): AadVerdict => {
    const at = now();
    set.failedAt = at;
    if (set.failure !== why || set.loggedAt === undefined || at - set.loggedAt >= retryAfterMs) {
      set.loggedAt = at;
      log(`aad_tenant ${set.tenant}: its signing keys could not be fetched${typeof set.url === 'string' ? '' : ` from ${set.url.href}`}: ${why}; its tokens are refused (401) until a fetch succeeds`);
    }
    set.failure = why;
    return { ok: false, reason: 'tenant-keys-unavailable' };
  };

  const verifyTenant = async (token: string, tenant: string): Promise<AadVerdict> => {
    let claims: JWTPayload;
    try {
      decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const issTenant = entraIssuerTenant(claims.iss);
    if (issTenant === undefined) return { ok: false, reason: 'issuer' };
    if (typeof claims.tid !== 'string' || claims.tid.toLowerCase() !== issTenant) return { ok: false, reason: 'tenant' };
    if (isTenantId(tenant) && issTenant !== tenant.toLowerCase()) return { ok: false, reason: 'tenant' };

    const set = keysOf(tenant);
    const remote = set.remote;
    if (!remote) return failed(set, String(set.url));
    if (!remote.fresh && set.failedAt !== undefined && now() - set.failedAt < retryAfterMs) return { ok: false, reason: 'tenant-keys-unavailable' };
    let fetchError: unknown;
    const getKey: JWTVerifyGetKey = async (header, jws) => {
      try {
        return await remote(header, jws);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported)) fetchError = error;
        throw error;
      }
    };
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: ['RS256'],
        audience: [ML_RESOURCE, `${ML_RESOURCE}/`],
        requiredClaims: ['exp'],
        currentDate: new Date(now()),
        clockTolerance: 0,
      });
      if (set.failure !== undefined) {
        log(`aad_tenant ${set.tenant}: its signing keys from ${String(set.url)} are in use again`);
        set.failure = undefined;
        set.failedAt = undefined;
      }
      return { ok: true, expiresAt: payload.exp! };
    } catch (error) {
      if (fetchError !== undefined) return failed(set, describe(fetchError, timeoutMs));
      return { ok: false, reason: tenantRejectionOf(error as { code?: string; claim?: string }) };
    }
  };

  return async (token: string): Promise<AadVerdict> => {
    let tenant = '';
    if (options.tenant) {
      try {
        tenant = (await options.tenant()).trim();
      } catch (error) {
        log(`aad_tenant could not be read (${(error as Error).message}): only oep's local tokens are accepted`);
      }
    }
    if (tenant === '' || headerKid(token) === options.issuer.kid) return local(token);
    return verifyTenant(token, tenant);
  };
}

function headerKid(token: string): unknown {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}

function tenantRejectionOf(error: { code?: string; claim?: string }): AadRejection {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'tenant-signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return error.claim === 'aud' ? 'audience' : error.claim === 'nbf' ? 'not-yet-valid' : 'malformed';
    default:
      return 'malformed';
  }
}

/** A failed fetch in words: jose's message and, for a network error, its cause (never a token). */
function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof errors.JWKSTimeout) return `no answer within ${timeoutMs} ms`;
  const { message, cause } = error as { message?: string; cause?: { message?: string; code?: string } };
  // A connection refused on every address of a name is an AggregateError: no message, a code.
  const detail = cause?.message || cause?.code;
  return detail ? `${message ?? String(error)} (${detail})` : (message ?? String(error));
}
