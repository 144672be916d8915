import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { CREATE_NEW } from '../model/file-flags.js';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { TokenSubject } from '../model/identity.js';

/** Azure's data-plane resource for online endpoints: aad_token clients get tokens for it. */
export const ML_RESOURCE = 'https://ml.azure.com';
/** Local tokens live an hour, as Entra ID's usually do (60-90 minutes). */
export const LOCAL_TOKEN_LIFETIME_S = 3600;
const ISSUER_KEY_FILE = 'issuer-key.pem';

export interface IssuedJwt {
  token: string;
  /** Epoch seconds. */
  expires_on: number;
  /** Seconds from now. */
  expires_in: number;
}

/** Why a bearer token was refused (the router answers 401 for each, with its own message). */
export type JwtRejection = 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience' | 'issuer';

/**
 * oep's local token issuer: RS256 JWTs with the claims of an Entra ID v1 access token (aud, iss
 * `https://sts.windows.net/<tenant>/`, oid, sub, appid, tid, iat/nbf/exp, ver 1.0), signed with a
 * key made once per OEP_HOME (`identity/issuer-key.pem`, 0600). Only oep accepts them: Azure
 * services check Entra ID's keys and refuse these.
 */
export class LocalIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly kid: string,
    readonly publicJwk: JWK,
  ) {}

  /** Opens the home's issuer key, making it on first use. */
  static async open(home: string): Promise<LocalIssuer> {
    const dir = join(home, 'identity');
    const file = join(dir, ISSUER_KEY_FILE);
    let pem = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (pem === undefined) {
      const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
      pem = await exportPKCS8(privateKey);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temp = `${file}.${process.pid}.tmp`;
      await rm(temp, { force: true });
      await writeFile(temp, pem, { mode: 0o600, flag: CREATE_NEW });
      await rename(temp, file);
    }
    const privateKey = await importPKCS8(pem, 'RS256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const publicJwk: JWK = { kty: jwk.kty, n: jwk.n, e: jwk.e };
    const kid = await calculateJwkThumbprint(publicJwk);
    const { importJWK } = await import('jose');
    const publicKey = (await importJWK({ ...publicJwk, alg: 'RS256' }, 'RS256')) as CryptoKey;
    return new LocalIssuer(privateKey as CryptoKey, publicKey, kid, { ...publicJwk, kid, alg: 'RS256', use: 'sig' });
  }

  static issuerOf(tenantId: string): string {
    return `https://sts.windows.net/${tenantId}/`;
  }

  /** A token for `resource` as `subject`, shaped as Entra ID's v1 tokens for a managed identity. */
  async issue(resource: string, subject: TokenSubject, nowMs: number = Date.now(), lifetimeS: number = LOCAL_TOKEN_LIFETIME_S): Promise<IssuedJwt> {
    const now = Math.floor(nowMs / 1000);
    const exp = now + lifetimeS;
    const issuer = LocalIssuer.issuerOf(subject.tenant_id);
    const token = await new SignJWT({
      aio: 'oep-local',
      appid: subject.client_id,
      idp: issuer,
      oid: subject.principal_id,
      rh: 'oep-local',
      tid: subject.tenant_id,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
      // A managed identity (an ARM id) gets an app token; a subject without one is a signed-in
      // user of a public client (the developer of src/identity/developer.ts, through the Azure CLI).
      ...(subject.resource_id ? { appidacr: '2', idtyp: 'app', xms_mirid: subject.resource_id } : { appidacr: '0', idtyp: 'user', scp: 'user_impersonation' }),
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setAudience(resource)
      .setIssuer(issuer)
      .setSubject(subject.principal_id)
      .setIssuedAt(now)
      .setNotBefore(now - 300)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { token, expires_on: exp, expires_in: lifetimeS };
  }

  /**
   * Checks a bearer token as Azure's front door checks an aad_token endpoint's: a JWT signed by
   * this issuer, for `audience` (with or without a trailing slash), within its lifetime.
   */
  async verify(token: string, audience: string, nowMs: number = Date.now()): Promise<{ ok: true; claims: JWTPayload } | { ok: false; reason: JwtRejection }> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['RS256'],
        audience: [audience, `${audience}/`],
        currentDate: new Date(nowMs),
        clockTolerance: 0,
      });
      if (typeof payload.iss !== 'string' || !payload.iss.startsWith('https://sts.windows.net/')) return { ok: false, reason: 'issuer' };
      return { ok: true, claims: payload };
    } catch (error) {
      return { ok: false, reason: rejectionOf(error as { code?: string; claim?: string }) };
    }
  }
}

function rejectionOf(error: { code?: string; claim?: string }): JwtRejection {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return error.claim === 'aud' ? 'audience' : error.claim === 'nbf' ? 'not-yet-valid' : error.claim === 'iss' ? 'issuer' : 'malformed';
    default:
      return 'malformed';
  }
}
