/**
 * The shapes of endpoint and deployment YAML. The schemas in schemas/ are the source of truth:
 * the key lists below are checked against them by test/spec/schema-keys.test.ts, and the
 * interfaces are checked against the key lists at compile time, so none of the three can drift.
 */

/** Shown on output, accepted and dropped on input. */
export const ENDPOINT_READ_ONLY_KEYS = [
  'id',
  'provisioning_state',
  'scoring_uri',
  'openapi_uri',
  'location',
  'kind',
] as const;

/** Every top-level key an endpoint YAML may have (managed and kubernetes together), the read-only ones last. */
export const ENDPOINT_KEYS = [
  '$schema',
  'name',
  'description',
  'tags',
  'properties',
  'auth_mode',
  'compute',
  'identity',
  'traffic',
  'mirror_traffic',
  'public_network_access',
  ...ENDPOINT_READ_ONLY_KEYS,
] as const;

/** Keys only one kind of endpoint accepts; the other kind's schema leaves them out. */
export const KUBERNETES_ONLY_ENDPOINT_KEYS = ['compute'] as const;
export const MANAGED_ONLY_ENDPOINT_KEYS = ['mirror_traffic'] as const;

export const DEPLOYMENT_READ_ONLY_KEYS = ['id', 'provisioning_state'] as const;

/** Every top-level key a deployment YAML may have (managed and kubernetes together), the read-only ones last. */
export const DEPLOYMENT_KEYS = [
  '$schema',
  'name',
  'endpoint_name',
  'description',
  'tags',
  'properties',
  'type',
  'model',
  'model_mount_path',
  'code_configuration',
  'environment',
  'environment_variables',
  'instance_type',
  'instance_count',
  'app_insights_enabled',
  'scale_settings',
  'request_settings',
  'liveness_probe',
  'readiness_probe',
  'egress_public_network_access',
  'data_collector',
  'resources',
  ...DEPLOYMENT_READ_ONLY_KEYS,
] as const;

export const KUBERNETES_ONLY_DEPLOYMENT_KEYS = ['resources'] as const;
export const MANAGED_ONLY_DEPLOYMENT_KEYS = [] as const;

export type EndpointKey = (typeof ENDPOINT_KEYS)[number];
export type DeploymentKey = (typeof DEPLOYMENT_KEYS)[number];
type EndpointReadOnlyKey = (typeof ENDPOINT_READ_ONLY_KEYS)[number];
type DeploymentReadOnlyKey = (typeof DEPLOYMENT_READ_ONLY_KEYS)[number];

export type AuthMode = 'key' | 'aml_token' | 'aad_token';
/** Casing variants Azure also loads; normalised to AuthMode. */
export type AuthModeAlias = 'Key' | 'AMLToken' | 'AADToken';
export type NetworkAccess = 'enabled' | 'disabled';
export type EndpointKind = 'managed' | 'kubernetes';
export type DeploymentType = 'managed' | 'kubernetes';

export interface Identity {
  type: 'system_assigned' | 'user_assigned';
  user_assigned_identities?: { resource_id: string }[];
}

/** An endpoint YAML as written, before overrides and defaults. */
export interface EndpointYaml {
  $schema?: string;
  name: string;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
  auth_mode?: AuthMode | AuthModeAlias;
  compute?: string;
  identity?: Identity;
  traffic?: Record<string, number>;
  mirror_traffic?: Record<string, number>;
  public_network_access?: NetworkAccess;
  id?: unknown;
  provisioning_state?: unknown;
  scoring_uri?: unknown;
  openapi_uri?: unknown;
  location?: unknown;
  kind?: unknown;
}

/** A validated endpoint with defaults applied. */
export interface EndpointSpec {
  name: string;
  description?: string;
  tags: Record<string, string>;
  properties?: Record<string, string>;
  auth_mode: AuthMode;
  /** `azureml:<compute-name>`; present exactly when kind is kubernetes. */
  compute?: string;
  identity?: Identity;
  /** Entries equal to 0 are dropped. */
  traffic: Record<string, number>;
  /** At most one entry, never 0, never a deployment that also has live traffic. */
  mirror_traffic: Record<string, number>;
  public_network_access: NetworkAccess;
  kind: EndpointKind;
}

export type ModelType = 'custom_model' | 'mlflow_model' | 'triton_model';

export interface InlineModel {
  name?: string;
  version?: string;
  /** Absolute for local paths; remote URIs (azureml://, https://) are kept as written. */
  path: string;
  type?: ModelType;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
}

export interface CodeConfiguration {
  /** Absolute directory. */
  code: string;
  /** Relative to `code`, as written. */
  scoring_script: string;
}

export interface DockerBuild {
  /** Absolute directory for local paths. */
  path: string;
  /** Relative to `path`; default `Dockerfile`. */
  dockerfile_path: string;
}

export interface Route {
  port: number;
  path: string;
}

export interface InferenceConfig {
  liveness_route: Route;
  readiness_route: Route;
  scoring_route: Route;
}

export interface InlineEnvironment {
  name?: string;
  version?: string;
  description?: string;
  tags?: Record<string, string>;
  /** Exactly one of image and build is set. */
  image?: string;
  build?: DockerBuild;
  /** Absolute; only with image. */
  conda_file?: string;
  inference_config?: InferenceConfig;
  os_type?: 'linux' | 'windows';
}

export type ScaleSettings =
  | { type: 'default' }
  | {
      type: 'target_utilization';
      min_instances: number;
      max_instances: number;
      target_utilization_percentage: number;
      polling_interval: number;
    };

export interface RequestSettings {
  request_timeout_ms: number;
  max_concurrent_requests_per_instance: number;
  /** Deprecated in Azure; kept for round-tripping. */
  max_queue_wait_ms: number;
}

export interface Probe {
  initial_delay: number;
  period: number;
  timeout: number;
  success_threshold: number;
  failure_threshold: number;
}

export interface DataCollection {
  enabled?: boolean;
  data?: { name?: string; path?: string; version?: string };
}

export interface DataCollector {
  sampling_rate: number;
  rolling_rate?: 'year' | 'month' | 'day' | 'hour' | 'minute';
  collections?: Record<string, DataCollection>;
  request_logging?: { capture_headers?: string[] };
}

export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
  'nvidia.com/gpu'?: string;
}

export interface Resources {
  requests?: ResourceQuantities;
  limits?: ResourceQuantities;
}

/**
 * A deployment YAML as written. Nested members are typed loosely where the YAML accepts more
 * than the normalised spec keeps (versions as numbers, `enabled: 'True'`, cpu as a number).
 */
export interface DeploymentYaml {
  $schema?: string;
  name: string;
  endpoint_name: string;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
  type?: DeploymentType;
  model?: string | (Omit<InlineModel, 'version'> & { version?: string | number });
  model_mount_path?: string;
  code_configuration?: CodeConfiguration;
  environment?:
    | string
    | (Omit<InlineEnvironment, 'version' | 'build'> & {
        version?: string | number;
        build?: { path: string; dockerfile_path?: string };
      });
  environment_variables?: Record<string, string>;
  instance_type?: string;
  instance_count?: number;
  app_insights_enabled?: boolean;
  scale_settings?: { type?: ScaleSettings['type'] } & Record<string, unknown>;
  request_settings?: Partial<RequestSettings>;
  liveness_probe?: Partial<Probe>;
  readiness_probe?: Partial<Probe>;
  egress_public_network_access?: NetworkAccess;
  data_collector?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  id?: unknown;
  provisioning_state?: unknown;
}

/** A validated deployment with defaults applied and local paths made absolute. */
export interface DeploymentSpec {
  name: string;
  endpoint_name: string;
  description?: string;
  tags: Record<string, string>;
  properties?: Record<string, string>;
  type: DeploymentType;
  model?: string | InlineModel;
  model_mount_path?: string;
  code_configuration?: CodeConfiguration;
  environment?: string | InlineEnvironment;
  environment_variables: Record<string, string>;
  instance_type?: string;
  instance_count: number;
  app_insights_enabled: boolean;
  scale_settings: ScaleSettings;
  request_settings: RequestSettings;
  liveness_probe: Probe;
  readiness_probe: Probe;
  egress_public_network_access?: NetworkAccess;
  data_collector?: DataCollector;
  resources?: Resources;
}

// Compile-time checks: a key added to a list but not to an interface (or the reverse) fails the build.
type SameKeys<A extends PropertyKey, B extends PropertyKey> = [Exclude<A, B>, Exclude<B, A>] extends [never, never]
  ? true
  : false;
type Assert<T extends true> = T;
export type EndpointYamlMatchesKeys = Assert<SameKeys<keyof EndpointYaml, EndpointKey>>;
export type EndpointSpecMatchesKeys = Assert<
  SameKeys<keyof EndpointSpec, Exclude<EndpointKey, '$schema' | EndpointReadOnlyKey> | 'kind'>
>;
export type DeploymentYamlMatchesKeys = Assert<SameKeys<keyof DeploymentYaml, DeploymentKey>>;
export type DeploymentSpecMatchesKeys = Assert<
  SameKeys<keyof DeploymentSpec, Exclude<DeploymentKey, '$schema' | DeploymentReadOnlyKey>>
>;

/** A model asset as `oep model create` takes it (schemas/model.schema.json); path is absolute. */
export interface ModelAssetSpec {
  name: string;
  version?: string;
  path: string;
  type: ModelType;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
  stage?: string;
  flavors?: Record<string, unknown>;
}

/** An environment asset as `oep environment create` takes it (schemas/environment.schema.json). */
export interface EnvironmentAssetSpec extends Omit<InlineEnvironment, 'name' | 'version'> {
  name: string;
  version?: string;
  properties?: Record<string, string>;
}
