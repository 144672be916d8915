import type { TokenSubject } from '../model/identity.js';
import { homeUuid } from '../state/secrets.js';

/**
 * The Azure CLI's application id: the `appid` of the tokens `az account get-access-token` and
 * `az ml online-endpoint get-credentials` hand a developer.
 */
export const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

/**
 * The home's developer: the principal whose tokens `oep endpoint get-credentials` gives for an
 * aad_token endpoint (in Azure, the signed-in user's own Entra ID token). Its object id is
 * stable per OEP_HOME (derived from the home's key), so a token's `oid` names the same person
 * across daemon restarts. A developer is no managed identity: no ARM id (`resource_id` empty).
 */
export function developerSubject(home: string, tenantId: string): TokenSubject {
  return { principal_id: homeUuid(home, 'developer'), client_id: AZURE_CLI_CLIENT_ID, tenant_id: tenantId, resource_id: '' };
}
