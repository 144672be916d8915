import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OEP_BIN, OepSandbox } from './harness.js';

/**
 * `oep compute` as Microsoft's batch samples use it (cli/endpoints/batch/deploy-models/*
 * /deploy-and-run.sh, `az ml` replaced by `oep`): the built CLI, a real OEP_HOME, no daemon.
 */

const LOCAL_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/computes';

/** Runs a bash script under `set -e` with `oep` as the built CLI, as a sample script runs. */
function runScript(oep: OepSandbox, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const text = `set -e\noep() { "${process.execPath}" "${OEP_BIN}" "$@"; }\n${script}`;
  return new Promise((resolve) => {
    execFile('bash', ['-c', text], { env: { ...process.env, NO_COLOR: '1', OEP_HOME: oep.home } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('oep compute: create, show, list, update, delete (no daemon)', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  it("runs the batch samples' lines under set -e, az-shaped, with one notice", async () => {
    const result = await runScript(
      oep,
      [
        // The samples' idiom: create only when show says it is not there.
        'oep compute show -n batch-cluster > /dev/null 2>&1 || oep compute create -n batch-cluster --type amlcompute --min-instances 0 --max-instances 5',
        'echo "id=$(oep compute show -n batch-cluster --query id -o tsv)"',
      ].join('\n'),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "notice: compute batch-cluster is recorded in oep's local workspace; jobs that name it run on this machine\n");
    const created = JSON.parse(result.stdout.slice(0, result.stdout.indexOf('\nid=') + 1)) as Record<string, unknown>;
    assert.deepEqual({ ...created, created_on: typeof created.created_on }, {
      id: `${LOCAL_ID}/batch-cluster`,
      name: 'batch-cluster',
      type: 'amlcompute',
      location: 'local',
      resourceGroup: 'oep-local',
      size: 'Standard_DS3_v2',
      provisioning_state: 'Succeeded',
      created_on: 'string',
      tags: {},
      min_instances: 0,
      max_instances: 5,
      idle_time_before_scale_down: 120,
      tier: 'dedicated',
    });
    assert.match(result.stdout, new RegExp(`\\nid=${LOCAL_ID}/batch-cluster\\n$`));
    // Records only: no daemon was started for them.
    assert.equal(existsSync(join(oep.home, 'daemon.sock')), false);
  });

  it('creates from YAML, lists, updates and deletes with --yes', async () => {
    const file = join(oep.home, 'cpu-cluster.yml');
    writeFileSync(file, '$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json\nname: cpu-cluster\ntype: amlcompute\nsize: STANDARD_DS3_V2\nmin_instances: 0\nmax_instances: 2\nidle_time_before_scale_down: 120\n');
    await oep.ok(['compute', 'create', '-f', file]);
    assert.equal(await oep.ok(['compute', 'list', '--query', '[].name', '-o', 'tsv']), 'batch-cluster\ncpu-cluster\n');
    assert.equal(await oep.ok(['compute', 'update', '-n', 'cpu-cluster', '--max-instances', '8', '--query', 'max_instances']), '8\n');
    assert.equal(await oep.ok(['compute', 'show', '-n', 'cpu-cluster', '--query', '[size, max_instances]', '-o', 'tsv']), 'STANDARD_DS3_V2\n8\n');

    const refused = await oep.run(['compute', 'delete', '-n', 'cpu-cluster']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /Refusing to delete without confirmation/);
    await oep.ok(['compute', 'delete', '-n', 'cpu-cluster', '--yes']);
    assert.equal(await oep.ok(['compute', 'list', '--query', '[].name', '-o', 'tsv']), 'batch-cluster\n');
  });

  it('bad input: a clear error, exit 2, nothing written', async () => {
    const before = readdirSync(join(oep.home, 'registry', 'computes')).sort();

    const inverted = await oep.run(['compute', 'create', '-n', 'gpu-cluster', '--min-instances', '6', '--max-instances', '5']);
    assert.equal(inverted.code, 2);
    assert.equal(inverted.stdout, '');
    assert.equal(
      inverted.stderr,
      'error: the command line: 1 problem found\n' +
        '  the command line min_instances: min_instances (6) is above max_instances (5).\n' +
        '    hint: the value comes from --min-instances 6; the cluster scales between them: give min_instances <= max_instances\n' +
        '(OEP_ERR_SPEC_INVALID)\n',
    );

    const badName = await oep.run(['compute', 'create', '-n', 'gpu_cluster']);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /the command line name: "gpu_cluster" cannot name a compute of type amlcompute\./);

    const missing = await oep.run(['compute', 'show', '-n', 'gpu-cluster']);
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      "error: Compute gpu-cluster does not exist in oep's local workspace (its computes: batch-cluster).\n" +
        'hint: Create it with: oep compute create -n gpu-cluster --type amlcompute (jobs run on this machine whatever it says)\n' +
        '(OEP_ERR_COMPUTE_NOT_FOUND)\n',
    );
    const deleteMissing = await oep.run(['compute', 'delete', '-n', 'gpu-cluster', '--yes']);
    assert.equal(deleteMissing.code, 2);
    assert.match(deleteMissing.stderr, /\(OEP_ERR_COMPUTE_NOT_FOUND\)\n$/);

    assert.deepEqual(readdirSync(join(oep.home, 'registry', 'computes')).sort(), before);
    assert.doesNotMatch(inverted.stderr + badName.stderr + missing.stderr, /^\s+at /m);
  });
});
