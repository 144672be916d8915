import { batchDeploymentResourceId, batchEndpointResourceId } from '../model/arm-id.js';
import type { BatchDeploymentRecord, BatchEndpointRecord } from '../state/types.js';

/**
 * What `batch-endpoint show` and `batch-deployment show` print: Azure's fields, pure (as views.ts
 * for online endpoints). A batch endpoint has no local URL: nothing listens for it; a job runs when
 * `oep batch-endpoint invoke` asks for one.
 */
export function batchEndpointView(record: BatchEndpointRecord): Record<string, unknown> {
  const { spec } = record;
  const view: Record<string, unknown> = {
    auth_mode: spec.auth_mode,
    defaults: { deployment_name: spec.defaults.deployment_name ?? null },
    id: batchEndpointResourceId(spec.name),
    location: 'local',
    name: spec.name,
    properties: { ...spec.properties },
    provisioning_state: record.provisioning_state,
    scoring_uri: null,
    tags: spec.tags,
  };
  if (spec.description !== undefined) view.description = spec.description;
  return view;
}

/**
 * The deployment as stored (the top-level form of its YAML, with Azure's defaults), with its id and
 * state. Every key is one the batch deployment YAML takes, so a shown deployment can be written to
 * a file and given back to `update -f`.
 */
export function batchDeploymentView(record: BatchDeploymentRecord): Record<string, unknown> {
  const { spec } = record;
  return {
    ...spec,
    id: batchDeploymentResourceId(spec.endpoint_name, spec.name),
    properties: { ...spec.properties },
    provisioning_state: record.provisioning_state,
  };
}
