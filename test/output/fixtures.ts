/**
 * Command results shaped like `az ml online-endpoint show/list` output, shared by the output
 * tests. The expected strings in the tests come from the real Azure CLI formatters, run on these
 * values with test/output/oracle/knack_oracle.py.
 */

export const ENDPOINT = {
  name: 'my-endpoint',
  auth_mode: 'key',
  provisioning_state: 'Succeeded',
  scoring_uri: 'http://localhost:8080/score',
  openapi_uri: null,
  traffic: { green: 10, blue: 90 },
  mirror_traffic: {},
  tags: { team: 'ml', 'cost-center': '42' },
  description: 'Local endpoint: demo',
  id: '/subscriptions/0000/resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/my-endpoint',
  kind: 'Managed',
  public_network_access: 'enabled',
  identity: { type: 'system_assigned', principal_id: null },
};

export const OTHER_ENDPOINT = {
  name: 'other',
  auth_mode: 'aml_token',
  provisioning_state: 'Creating',
  scoring_uri: 'http://localhost:8081/score',
  openapi_uri: null,
  traffic: {},
  mirror_traffic: {},
  tags: {},
  description: null,
  id: '/subscriptions/0000/resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/other',
  kind: 'Managed',
  public_network_access: 'disabled',
  identity: { type: 'none', principal_id: null },
};

export const ENDPOINTS = [ENDPOINT, OTHER_ENDPOINT];

/** `az ml online-endpoint get-credentials`. */
export const KEYS = { primaryKey: 'pK3y+/abc==', secondaryKey: 'sK3y+/xyz==' };
