import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { IMAGE_SERVER_DIR, imageDockerfile, imageEnvFile, imagePlan } from '../../src/export/image.js';
import { checkRegistry, parseImageReference } from '../../src/export/image-reference.js';
import { deploymentObjectNames, kubernetesName } from '../../src/export/names.js';
import { planContainer } from '../../src/runtimes/docker/container-spec.js';
import { SERVER_MOUNT } from '../../src/runtimes/docker/container-spec.js';
import { containerInput, deploymentSpec } from './docker-fixtures.js';

const spec = deploymentSpec({
  model: { path: '/src/model-1/model/' },
  code_configuration: { code: '/src/model-1/onlinescoring/', scoring_script: 'score.py' },
  environment: { image: 'python:3.11' },
  environment_variables: { WORKER_COUNT: '2', GREETING: 'say "hi" for $5 \\o/' },
});

describe('imagePlan: what a built image holds', () => {
  it('copies server, code and model to the paths the docker runtime mounts them at, with the same environment and command', () => {
    const plan = imagePlan(spec, 'python3');
    const container = planContainer(containerInput(spec));
    assert.equal(IMAGE_SERVER_DIR, SERVER_MOUNT);
    assert.deepEqual(plan.copies, [
      { what: 'server', target: '/var/azureml-server' },
      { what: 'model', source: '/src/model-1/model', target: '/var/azureml-app/azureml-models/blue-model/1' },
      { what: 'code', source: '/src/model-1/onlinescoring', target: '/var/azureml-app/onlinescoring' },
    ]);
    // What the runtime mounts: the model's last segment under the model dir, the code dir, the server.
    assert.deepEqual(container.options.HostConfig?.Binds?.map((bind) => bind.split(':')[1]), ['/var/azureml-app/azureml-models/blue-model/1/model', '/var/azureml-app/onlinescoring', '/var/azureml-server']);
    // The same environment, the deployment's environment_variables last: given at run, not baked.
    assert.deepEqual({ ...plan.environment, ...plan.runEnvironment }, container.environment);
    assert.deepEqual(plan.runEnvironment, { WORKER_COUNT: '2', GREETING: 'say "hi" for $5 \\o/' });
    assert.equal(plan.environment.WORKER_COUNT, undefined);
    assert.deepEqual(plan.entrypoint, container.options.Entrypoint);
    assert.deepEqual(plan.cmd, container.options.Cmd);
    assert.equal(plan.workdir, container.options.WorkingDir);
    assert.deepEqual(plan.routes, { port: 5001, scoring: '/score', readiness: '/', liveness: '/' });
  });

  it('writes a Dockerfile on the environment image by id, with every value quoted for Docker, and no environment_variables', () => {
    const dockerfile = imageDockerfile(imagePlan(spec, '/opt/oep-env/bin/python'), 'sha256:abc', { 'org.opencontainers.image.title': 'ep/blue' });
    assert.equal(
      dockerfile,
      [
        'FROM sha256:abc',
        'COPY server/ /var/azureml-server/',
        'COPY model/ /var/azureml-app/azureml-models/blue-model/1/',
        'COPY code/ /var/azureml-app/onlinescoring/',
        'ENV PYTHONUNBUFFERED="1" \\',
        '    PYTHONDONTWRITEBYTECODE="1" \\',
        '    AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/blue-model/1" \\',
        '    AML_APP_ROOT="/var/azureml-app/onlinescoring" \\',
        '    AZUREML_ENTRY_SCRIPT="score.py"',
        'LABEL "org.opencontainers.image.title"="ep/blue"',
        'WORKDIR /var/azureml-app/onlinescoring',
        'EXPOSE 5001',
        'ENTRYPOINT ["/opt/oep-env/bin/python","/var/azureml-server/oep_server.py"]',
        'CMD ["--host","0.0.0.0","--port","5001"]',
        '',
      ].join('\n'),
    );
  });

  it('puts environment_variables in the env file given at docker run; --bake-env puts them in ENV, quoted for Docker', () => {
    const plan = imagePlan(spec, 'python3');
    assert.equal(imageEnvFile(plan), 'WORKER_COUNT=2\nGREETING=say "hi" for $5 \\o/\n');
    assert.equal(imageEnvFile(imagePlan(deploymentSpec({}), 'python3')), undefined);
    const baked = imageDockerfile(plan, 'sha256:abc', {}, { bakeRunEnvironment: true });
    assert.match(baked, /^ {4}AZUREML_ENTRY_SCRIPT="score\.py" \\\n {4}WORKER_COUNT="2" \\\n {4}GREETING="say \\"hi\\" for \\\$5 \\\\o\/"$/m);
    // A variable that overrides the layout's: the image keeps the layout's value, the env file overrides it at run.
    const overriding = imagePlan(deploymentSpec({ ...spec, environment_variables: { AZUREML_ENTRY_SCRIPT: 'other.py' } }), 'python3');
    assert.match(imageDockerfile(overriding, 'sha256:1', {}), /AZUREML_ENTRY_SCRIPT="score\.py"/);
    assert.equal(imageEnvFile(overriding), 'AZUREML_ENTRY_SCRIPT=other.py\n');
  });

  it("MLflow without a scoring script: oep's MLflow script from the server folder, MLFLOW_MODEL_FOLDER set", () => {
    const plan = imagePlan(deploymentSpec({ model: { path: '/m/sk-model', type: 'mlflow_model' }, environment: { image: 'py' } }), 'python3');
    assert.equal(plan.environment.AZUREML_ENTRY_SCRIPT, '/var/azureml-server/oep_mlflow_score.py');
    assert.equal(plan.environment.MLFLOW_MODEL_FOLDER, 'sk-model');
    assert.deepEqual(plan.copies.map((copy) => copy.what), ['server', 'model']);
  });

  it("a custom container keeps the image's own command, port and routes; no server is copied", () => {
    const plan = imagePlan(
      deploymentSpec({
        model: { path: '/m/model' },
        model_mount_path: '/var/custom-model',
        environment: {
          image: 'my/server:1',
          inference_config: {
            liveness_route: { port: 8080, path: '/live' },
            readiness_route: { port: 8080, path: '/ready' },
            scoring_route: { port: 8080, path: '/predict' },
          },
        },
      }),
      'python3',
    );
    assert.deepEqual(plan.copies, [{ what: 'model', source: '/m/model', target: '/var/custom-model' }]);
    assert.equal(plan.entrypoint, undefined);
    assert.equal(plan.cmd, undefined);
    assert.deepEqual(plan.routes, { port: 8080, scoring: '/predict', readiness: '/ready', liveness: '/live' });
    assert.match(imageDockerfile(plan, 'sha256:1', {}), /^EXPOSE 8080$/m);
    assert.doesNotMatch(imageDockerfile(plan, 'sha256:1', {}), /ENTRYPOINT|CMD/);
  });

  it('refuses what an image cannot hold: Triton no-code, remote paths, line breaks in a variable', () => {
    const refused = (make: () => unknown, pattern: RegExp): void =>
      assert.throws(make, (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_SPEC_INVALID' && pattern.test(error.message));
    refused(() => imagePlan(deploymentSpec({ model: { path: '/m', type: 'triton_model' } }), 'python3'), /Triton/);
    refused(() => imagePlan(deploymentSpec({ model: { path: 'azureml://datastores/x/paths/m' } }), 'python3'), /not a local path/);
    refused(() => imageDockerfile(imagePlan(deploymentSpec({ environment_variables: { A: 'one\ntwo' } }), 'python3'), 'sha256:1', {}, { bakeRunEnvironment: true }), /A has a line break/);
    refused(() => imageEnvFile(imagePlan(deploymentSpec({ environment_variables: { A: 'one\ntwo' } }), 'python3')), /A has a line break, which an env file/);
    refused(() => imageEnvFile(imagePlan(deploymentSpec({ environment_variables: { 'A=B': 'x' } }), 'python3')), /name "A=B" cannot be passed in an env file/);
  });
});

describe('image references and registries', () => {
  it('parses as Docker does', () => {
    assert.deepEqual(parseImageReference('myacr.azurecr.io/team/sklearn-blue:1'), { registry: 'myacr.azurecr.io', repository: 'myacr.azurecr.io/team/sklearn-blue', tag: '1' });
    assert.deepEqual(parseImageReference('localhost:5000/x'), { registry: 'localhost:5000', repository: 'localhost:5000/x', tag: 'latest' });
    assert.deepEqual(parseImageReference('user/model'), { repository: 'user/model', tag: 'latest' });
    assert.match(parseImageReference('Upper/Case:1') as string, /not a valid image name/);
    assert.match(parseImageReference('x@sha256:abc') as string, /digest/);
    assert.match(parseImageReference('x:-bad') as string, /tag "-bad"/);
  });

  it('takes a registry host with an optional path', () => {
    assert.equal(checkRegistry('myacr.azurecr.io'), undefined);
    assert.equal(checkRegistry('localhost:5000/team/'), undefined);
    assert.match(checkRegistry('team')!, /names no registry host/);
    assert.match(checkRegistry('my acr')!, /is not a registry/);
  });
});

describe('Kubernetes names', () => {
  it('are DNS-1123 labels of at most 63 characters, long ones ending in a hash', () => {
    assert.equal(kubernetesName('Sklearn', 'Blue'), 'sklearn-blue');
    const long = kubernetesName('a'.repeat(32), 'b'.repeat(32));
    assert.equal(long.length, 63);
    assert.match(long, /^a{32}-b{21}-[0-9a-f]{8}$/);
    assert.notEqual(long, kubernetesName('a'.repeat(32), `${'b'.repeat(31)}c`));
  });

  it('keep deployments whose names differ only in case apart', () => {
    const names = deploymentObjectNames('ep', ['Blue', 'blue', 'green']);
    assert.equal(names.green, 'ep-green');
    assert.match(names.Blue!, /^ep-blue-[0-9a-f]{8}$/);
    assert.match(names.blue!, /^ep-blue-[0-9a-f]{8}$/);
    assert.notEqual(names.Blue, names.blue);
  });
});
