/**
 * The other no-code model type, triton_model, is refused before anything starts: validate warns,
 * create exits 2 and changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OepSandbox } from './harness.js';

const TRITON_PROBLEM =
  "model.type: triton_model without a scoring script is served by NVIDIA's Triton Inference Server, which needs NVIDIA's Triton image " +
  '(nvcr.io/nvidia/tritonserver) and a GPU; oep does not run Triton no-code deployments. Run the Triton image yourself as a custom ' +
  'container (environment.image with inference_config routes), or deploy the model with a scoring script (code_configuration and an environment).';

describe('Triton no-code deployments', () => {
  const oep = new OepSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'oep-triton-'));
  mkdirSync(join(dir, 'models', 'densenet_onnx', '1'), { recursive: true });
  writeFileSync(join(dir, 'models', 'densenet_onnx', 'config.pbtxt'), 'name: "densenet_onnx"\nplatform: "onnxruntime_onnx"\n');
  const file = join(dir, 'deployment.yml');
  // As in Azure's sample endpoints/online/triton/single-model/create-managed-deployment.yaml.
  writeFileSync(
    file,
    ['name: blue', 'endpoint_name: triton-ep', 'model:', '  name: sample-densenet-onnx-model', '  version: 1', '  path: ./models', '  type: triton_model', 'instance_count: 1', 'instance_type: Standard_NC6s_v3', ''].join('\n'),
  );
  after(async () => {
    await oep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validate accepts the YAML (Azure does) and warns that it cannot run here', async () => {
    const result = await oep.run(['validate', '-f', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${file}: valid deployment "blue"\n`);
    assert.equal(result.stderr, `warning: ${file}: ${TRITON_PROBLEM}\n`);
  });

  it('create exits 2 with the reason, before anything starts', async () => {
    await oep.ok(['endpoint', 'create', '-n', 'triton-ep', '-o', 'none']);
    const result = await oep.run(['deployment', 'create', '-f', file]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: Deployment blue cannot run on this machine\.\n/);
    assert.ok(result.stderr.includes(`  ${file}: ${TRITON_PROBLEM}\n`), result.stderr);
    assert.match(result.stderr, /\(OEP_ERR_SPEC_INVALID\)\n$/);
    assert.deepEqual(JSON.parse(await oep.ok(['deployment', 'list', '-e', 'triton-ep'])), []);
  });
});
