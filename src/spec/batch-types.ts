/**
 * The shapes of batch endpoint, batch deployment and data asset YAML. As in types.ts, the schemas
 * in schemas/ are the source of truth: test/spec/batch-schema-keys.test.ts checks the key lists
 * against them, and the compile-time checks below check the interfaces against the key lists.
 */
import type { CodeConfiguration, InlineEnvironment, InlineModel } from './types.js';

/** Shown on output, accepted and dropped on input. */
export const BATCH_ENDPOINT_READ_ONLY_KEYS = ['id', 'provisioning_state', 'scoring_uri', 'openapi_uri', 'location'] as const;

/** Every top-level key of a batch endpoint YAML (schemas/batch-endpoint.schema.json), the read-only ones last. */
export const BATCH_ENDPOINT_KEYS = ['$schema', 'name', 'description', 'tags', 'properties', 'auth_mode', 'defaults', ...BATCH_ENDPOINT_READ_ONLY_KEYS] as const;

export const BATCH_DEPLOYMENT_READ_ONLY_KEYS = ['id', 'provisioning_state'] as const;

/** The settings of a model batch deployment: top-level keys without `type`, under `settings` with `type: model`. */
export const BATCH_SETTINGS_KEYS = [
  'max_concurrency_per_instance',
  'mini_batch_size',
  'output_action',
  'output_file_name',
  'retry_settings',
  'error_threshold',
  'logging_level',
] as const;

/**
 * Every top-level key of a batch deployment YAML without `type` (schemas/batch-deployment.schema.json):
 * the form oep stores and shows.
 */
export const BATCH_DEPLOYMENT_KEYS = [
  '$schema',
  'name',
  'endpoint_name',
  'description',
  'tags',
  'properties',
  'model',
  'code_configuration',
  'environment',
  'compute',
  'resources',
  ...BATCH_SETTINGS_KEYS,
  'environment_variables',
  ...BATCH_DEPLOYMENT_READ_ONLY_KEYS,
] as const;

/** Every top-level key of a `type: model` batch deployment (schemas/batch-deployment.model.schema.json). */
export const MODEL_BATCH_DEPLOYMENT_KEYS = [
  '$schema',
  'name',
  'endpoint_name',
  'description',
  'tags',
  'properties',
  'type',
  'model',
  'code_configuration',
  'environment',
  'compute',
  'resources',
  'error_threshold',
  'environment_variables',
  'settings',
  ...BATCH_DEPLOYMENT_READ_ONLY_KEYS,
] as const;

/** The keys of `settings` in a `type: model` batch deployment. */
export const MODEL_BATCH_SETTINGS_KEYS = ['instance_count', ...BATCH_SETTINGS_KEYS, 'environment_variables'] as const;

/** Every key of a data asset YAML (schemas/data.schema.json). */
export const DATA_KEYS = ['$schema', 'name', 'version', 'type', 'path', 'description', 'tags', 'properties', 'stage', 'datastore'] as const;

export type BatchEndpointKey = (typeof BATCH_ENDPOINT_KEYS)[number];
export type BatchDeploymentKey = (typeof BATCH_DEPLOYMENT_KEYS)[number];
type BatchEndpointReadOnlyKey = (typeof BATCH_ENDPOINT_READ_ONLY_KEYS)[number];
type BatchDeploymentReadOnlyKey = (typeof BATCH_DEPLOYMENT_READ_ONLY_KEYS)[number];

export type BatchOutputAction = 'append_row' | 'summary_only';
export type BatchLoggingLevel = 'warning' | 'info' | 'debug';
export type DataType = 'uri_folder' | 'uri_file';

/** A batch endpoint YAML as written, before overrides and defaults. */
export interface BatchEndpointYaml {
  $schema?: string;
  name: string;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
  auth_mode?: 'aad_token' | 'AADToken';
  defaults?: { deployment_name?: string };
  id?: unknown;
  provisioning_state?: unknown;
  scoring_uri?: unknown;
  openapi_uri?: unknown;
  location?: unknown;
}

/** A validated batch endpoint with defaults applied. */
export interface BatchEndpointSpec {
  name: string;
  description?: string;
  tags: Record<string, string>;
  properties?: Record<string, string>;
  /** Batch endpoints take Entra ID tokens only. */
  auth_mode: 'aad_token';
  /** The deployment an invoke without --deployment-name runs; absent until one is set (or the first deployment is created). */
  defaults: { deployment_name?: string };
}

export interface BatchRetrySettings {
  max_retries: number;
  /** Seconds one mini-batch may take. */
  timeout: number;
}

export interface BatchResources {
  instance_count: number;
  instance_type?: string;
  properties?: Record<string, unknown>;
  shm_size?: string;
  docker_args?: string;
}

/** A batch deployment YAML without `type` (settings at the top level), as written. */
export interface BatchDeploymentYaml {
  $schema?: string;
  name: string;
  endpoint_name: string;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
  model: string | (Omit<InlineModel, 'version'> & { version?: string | number });
  code_configuration?: CodeConfiguration;
  environment?: string | Record<string, unknown>;
  compute: string;
  resources?: Partial<BatchResources>;
  max_concurrency_per_instance?: number;
  mini_batch_size?: number;
  output_action?: BatchOutputAction;
  output_file_name?: string;
  retry_settings?: Partial<BatchRetrySettings>;
  error_threshold?: number;
  logging_level?: string;
  environment_variables?: Record<string, string>;
  id?: unknown;
  provisioning_state?: unknown;
}

/**
 * A validated model batch deployment, whichever form the YAML had: the settings at the top level
 * (as `az ml batch-deployment show` prints them), Azure's defaults filled in, local paths absolute.
 */
export interface BatchDeploymentSpec {
  name: string;
  endpoint_name: string;
  description?: string;
  tags: Record<string, string>;
  properties?: Record<string, string>;
  model: string | InlineModel;
  code_configuration?: CodeConfiguration;
  environment?: string | InlineEnvironment;
  /** As written (`azureml:<cluster>`); nothing uses it on this machine. */
  compute: string;
  resources: BatchResources;
  max_concurrency_per_instance: number;
  mini_batch_size: number;
  output_action: BatchOutputAction;
  output_file_name: string;
  retry_settings: BatchRetrySettings;
  /** -1: any number of failed files. */
  error_threshold: number;
  logging_level: BatchLoggingLevel;
  environment_variables: Record<string, string>;
}

/** A data asset as `oep data create` takes it (schemas/data.schema.json); path is absolute. */
export interface DataAssetSpec {
  name: string;
  version?: string;
  type: DataType;
  path: string;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
  stage?: string;
  datastore?: string;
}

// Compile-time checks: a key added to a list but not to an interface (or the reverse) fails the build.
type SameKeys<A extends PropertyKey, B extends PropertyKey> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : false;
type Assert<T extends true> = T;
export type BatchEndpointYamlMatchesKeys = Assert<SameKeys<keyof BatchEndpointYaml, BatchEndpointKey>>;
export type BatchEndpointSpecMatchesKeys = Assert<SameKeys<keyof BatchEndpointSpec, Exclude<BatchEndpointKey, '$schema' | BatchEndpointReadOnlyKey>>>;
export type BatchDeploymentYamlMatchesKeys = Assert<SameKeys<keyof BatchDeploymentYaml, BatchDeploymentKey>>;
export type BatchDeploymentSpecMatchesKeys = Assert<SameKeys<keyof BatchDeploymentSpec, Exclude<BatchDeploymentKey, '$schema' | BatchDeploymentReadOnlyKey>>>;
export type DataAssetSpecMatchesKeys = Assert<SameKeys<keyof DataAssetSpec, Exclude<(typeof DATA_KEYS)[number], '$schema'>>>;
