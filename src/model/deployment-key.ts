/**
 * The one spelling of "this deployment of this endpoint" as a map key: `endpoint/deployment`.
 * Endpoint and deployment names cannot hold a slash (spec/names), so two pairs never share a key.
 */
export function deploymentKey(endpoint: string, deployment: string): string {
  return `${endpoint}/${deployment}`;
}
