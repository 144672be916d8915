import { ML_RESOURCE, type LocalIssuer } from './issuer.js';
import type { AadVerdict, AadVerifier } from '../router/auth.js';

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
