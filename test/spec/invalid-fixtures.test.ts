import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDeploymentSpec, loadEndpointSpec } from '../../src/spec/index.js';
import { FIXTURES, ROOT, formatted } from './support.js';

const F = `${FIXTURES}/invalid`;
const ABS = `${ROOT}/${FIXTURES}`;

interface Case {
  rule: string;
  fixture: string;
  kind: 'endpoint' | 'deployment';
  errors: string[];
}

// One fixture per rule; each expectation is exactly what `oep validate` prints for it.
const cases: Case[] = [
  {
    rule: 'YAML syntax errors point at their line and column',
    fixture: 'endpoint-syntax-error.yml',
    kind: 'endpoint',
    errors: [`${F}/endpoint-syntax-error.yml:4:1: YAML syntax: All mapping items must start at the same column.`],
  },
  {
    rule: 'an unknown key points at the key and suggests the nearest known one',
    fixture: 'endpoint-unknown-key.yml',
    kind: 'endpoint',
    errors: [`${F}/endpoint-unknown-key.yml:3:1 trafic: Unknown field.\n  hint: did you mean "traffic"?`],
  },
  {
    rule: 'a missing required key points at the parent map',
    fixture: 'endpoint-missing-name.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-missing-name.yml:1:1 name: Missing required field.\n  hint: add \`name: <endpoint-name>\` or pass -n/--name; 3-32 characters: letters, digits and hyphens, starting with a letter`,
    ],
  },
  {
    rule: 'endpoint names start with a letter',
    fixture: 'endpoint-bad-name.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-bad-name.yml:1:7 name: Invalid name "1-endpoint": start with a letter, use only letters, digits and hyphens, and end with a letter or digit.`,
    ],
  },
  {
    rule: 'traffic adds up to 0 or 100',
    fixture: 'endpoint-traffic-sum.yml',
    kind: 'endpoint',
    errors: [`${F}/endpoint-traffic-sum.yml:2:1 traffic: Traffic adds up to 110; make it add up to 100, or to 0 for no live traffic.`],
  },
  {
    rule: 'mirror_traffic names at most one deployment',
    fixture: 'endpoint-mirror-two.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-mirror-two.yml:4:1 mirror_traffic: Must have at most 1 entry.\n  hint: name one deployment to receive a copy of live requests`,
    ],
  },
  {
    rule: 'mirror_traffic is at most 50 percent',
    fixture: 'endpoint-mirror-over-50.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-mirror-over-50.yml:5:10 mirror_traffic.green: Must be at most 50.\n  hint: mirror at most 50 percent of live requests`,
    ],
  },
  {
    rule: 'a deployment gets live or mirrored traffic, not both',
    fixture: 'endpoint-mirror-live.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-mirror-live.yml:6:3 mirror_traffic.green: Deployment "green" already gets live traffic (traffic.green: 10); a deployment gets live or mirrored traffic, not both.\n  hint: mirror a deployment without live traffic, or set traffic.green to 0`,
    ],
  },
  {
    rule: 'kubernetes endpoints cannot mirror traffic',
    fixture: 'endpoint-kubernetes-mirror.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-kubernetes-mirror.yml:5:1 mirror_traffic: Only available on managed endpoints.\n  hint: remove compute to make this a managed endpoint, or remove mirror_traffic`,
    ],
  },
  {
    rule: 'aad_token is for managed endpoints only',
    fixture: 'endpoint-kubernetes-aad-token.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-kubernetes-aad-token.yml:3:12 auth_mode: "aad_token" is only available on managed endpoints.\n  hint: remove compute to make this a managed endpoint, or use key or aml_token`,
    ],
  },
  {
    rule: 'every problem in a file is reported together, in file order',
    fixture: 'endpoint-multiple.yml',
    kind: 'endpoint',
    errors: [
      `${F}/endpoint-multiple.yml:1:7 name: Invalid name "ab": use 3-32 characters, not 2.`,
      `${F}/endpoint-multiple.yml:2:12 auth_mode: Must be one of: key, aml_token, aad_token.\n  hint: did you mean "aml_token"?`,
      `${F}/endpoint-multiple.yml:3:14 description: Must be a string.\n  hint: quote it: "42"`,
      `${F}/endpoint-multiple.yml:4:1 traffic: Traffic adds up to 110; make it add up to 100, or to 0 for no live traffic.`,
      `${F}/endpoint-multiple.yml:7:1 public_network_acess: Unknown field.\n  hint: did you mean "public_network_access"?`,
    ],
  },
  {
    rule: 'deployment names end with a letter or digit',
    fixture: 'deployment-bad-name.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-bad-name.yml:1:7 name: Invalid name "blue-": start with a letter, use only letters, digits and hyphens, and end with a letter or digit.`,
    ],
  },
  {
    rule: 'missing required deployment keys, and a misspelt nested key',
    fixture: 'deployment-missing-required.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-missing-required.yml:1:1 endpoint_name: Missing required field.\n  hint: the endpoint this deployment belongs to; -e/--endpoint-name overrides it`,
      `${F}/deployment-missing-required.yml:1:1 instance_type: Missing required field.\n  hint: the VM size, e.g. Standard_DS3_v2; managed deployments require it`,
      `${F}/deployment-missing-required.yml:5:3 request_settings.request_timout_ms: Unknown field.\n  hint: did you mean "request_timeout_ms"?`,
    ],
  },
  {
    rule: 'an inline environment sets image or build, not both',
    fixture: 'deployment-env-image-and-build.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-env-image-and-build.yml:3:1 environment: Set either image or build, not both.\n  hint: image runs a ready-made Docker image; build builds one from a Dockerfile`,
    ],
  },
  {
    rule: 'an inline environment sets one of image and build',
    fixture: 'deployment-env-neither.yml',
    kind: 'deployment',
    errors: [`${F}/deployment-env-neither.yml:3:1 environment: Set image (a Docker image) or build (a directory with a Dockerfile).`],
  },
  {
    rule: 'conda_file needs image',
    fixture: 'deployment-conda-needs-image.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-conda-needs-image.yml:6:3 environment.conda_file: Only works with image; this environment uses build.\n  hint: install the conda environment in the Dockerfile instead, or use image`,
    ],
  },
  {
    rule: 'inference_config declares all three routes',
    fixture: 'deployment-inference-config.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-inference-config.yml:5:3 environment.inference_config.scoring_route: Missing required field.\n  hint: custom containers declare all three routes: liveness_route, readiness_route and scoring_route, each {port, path}`,
    ],
  },
  {
    rule: 'a managed deployment runs at most 50 instances',
    fixture: 'deployment-instance-count.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-instance-count.yml:6:17 instance_count: Must be at most 50.\n  hint: a managed deployment runs 1 to 50 instances`,
    ],
  },
  {
    rule: 'a managed request times out after at most 180000 ms',
    fixture: 'deployment-request-timeout.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-request-timeout.yml:7:23 request_settings.request_timeout_ms: Must be at most 180000.\n  hint: managed deployments allow at most 180000 ms (3 minutes) per request`,
    ],
  },
  {
    rule: 'resources is for kubernetes deployments only',
    fixture: 'deployment-resources-on-managed.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-resources-on-managed.yml:6:1 resources: Only available on kubernetes deployments.\n  hint: set type: kubernetes, or remove resources`,
    ],
  },
  {
    rule: 'code_configuration needs an environment',
    fixture: 'deployment-code-without-environment.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-code-without-environment.yml:5:1 code_configuration: Needs an environment to run in.\n  hint: add environment: an inline image or build, or azureml:<name>:<version>`,
    ],
  },
  {
    rule: 'target_utilization settings need scale_settings.type target_utilization',
    fixture: 'deployment-kubernetes-scale-settings.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-kubernetes-scale-settings.yml:8:3 scale_settings.max_instances: Only used when scale_settings.type is target_utilization.\n  hint: set scale_settings.type: target_utilization, or remove max_instances`,
    ],
  },
  {
    rule: 'values of the wrong type say what to write instead',
    fixture: 'deployment-wrong-types.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-wrong-types.yml:3:8 model: Must start with "azureml:".\n  hint: a registered model (azureml:<name>:<version>) or an inline map with a local path`,
      `${F}/deployment-wrong-types.yml:6:17 instance_count: Must be a whole number.\n  hint: a managed deployment runs 1 to 50 instances`,
      `${F}/deployment-wrong-types.yml:7:23 app_insights_enabled: Must be true or false.\n  hint: write true or false; "yes" is a string in YAML 1.2`,
      `${F}/deployment-wrong-types.yml:9:12 environment_variables.WORKERS: Must be a string.\n  hint: quote it: "2"`,
    ],
  },
  {
    rule: 'every missing local path is reported where it is named, with what it resolved to',
    fixture: 'deployment-missing-paths.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-missing-paths.yml:4:9 model.path: "../model-2/model/" does not exist.\n  hint: resolved to ${ABS}/model-2/model (relative paths start from the directory of ${F}/deployment-missing-paths.yml)`,
      `${F}/deployment-missing-paths.yml:6:9 code_configuration.code: "../model-2/onlinescoring/" does not exist.\n  hint: resolved to ${ABS}/model-2/onlinescoring (relative paths start from the directory of ${F}/deployment-missing-paths.yml)`,
      `${F}/deployment-missing-paths.yml:9:15 environment.conda_file: "../model-2/environment/conda.yaml" does not exist.\n  hint: resolved to ${ABS}/model-2/environment/conda.yaml (relative paths start from the directory of ${F}/deployment-missing-paths.yml)`,
    ],
  },
  {
    rule: 'the scoring script exists inside code',
    fixture: 'deployment-missing-scoring-script.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-missing-scoring-script.yml:7:19 code_configuration.scoring_script: "scoring.py" does not exist.\n  hint: resolved to ${ABS}/model-1/onlinescoring/scoring.py (scoring_script is relative to code)`,
    ],
  },
  {
    rule: 'a build context has its Dockerfile',
    fixture: 'deployment-missing-dockerfile.yml',
    kind: 'deployment',
    errors: [
      `${F}/deployment-missing-dockerfile.yml:4:3 environment.build.dockerfile_path: "Dockerfile" does not exist.\n  hint: resolved to ${ABS}/model-1/Dockerfile (dockerfile_path is relative to build.path)`,
    ],
  },
];

for (const c of cases) {
  test(`${c.rule} (${c.fixture})`, async () => {
    const load = c.kind === 'endpoint' ? loadEndpointSpec : loadDeploymentSpec;
    const result = await load({ file: `${F}/${c.fixture}`, cwd: ROOT });
    assert.deepEqual(formatted(result).errors, c.errors);
    assert.equal(result.value, undefined);
  });
}
