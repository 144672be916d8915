import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { computeView, deleteCompute, findCompute, listComputes, requireCompute, saveCompute } from '../../src/registry/computes.js';
import { loadComputeSpec, validateComputeObject, type ComputeFlag, type ComputeSpec } from '../../src/spec/compute.js';
import { formatProblem } from '../../src/spec/problem.js';

/**
 * `oep compute`'s spec layer (src/spec/compute.ts: flags, YAML, Azure's spellings, the rules) and
 * its local store (src/registry/computes.ts), on temporary folders.
 */

const scratch = mkdtempSync(join(tmpdir(), 'oep-compute-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;

/** A fresh OEP_HOME that does not exist yet (the store makes its folders). */
function folder(): string {
  return join(scratch, `home-${++folders}`);
}

function yamlFile(text: string): string {
  const file = join(scratch, `compute-${++folders}.yml`);
  writeFileSync(file, text);
  return file;
}

function flag(key: ComputeFlag['key'], flagName: string, value: string | number): ComputeFlag {
  return { key, value, label: `${flagName} ${value}` };
}

/** The sample's command line: az ml compute create -n batch-cluster --type amlcompute --min-instances 0 --max-instances 5. */
const SAMPLE_FLAGS: ComputeFlag[] = [flag('name', '--name', 'batch-cluster'), flag('type', '--type', 'amlcompute'), flag('min_instances', '--min-instances', 0), flag('max_instances', '--max-instances', 5)];

describe('compute spec', () => {
  it("takes the batch samples' flags and fills in Azure's defaults", async () => {
    const result = await loadComputeSpec({ cwd: scratch, flags: SAMPLE_FLAGS, set: [] });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.value, {
      name: 'batch-cluster',
      type: 'amlcompute',
      size: 'Standard_DS3_v2',
      tags: {},
      min_instances: 0,
      max_instances: 5,
      idle_time_before_scale_down: 120,
      tier: 'dedicated',
    });
  });

  it("-n alone is a cluster with az's defaults", async () => {
    const result = await loadComputeSpec({ cwd: scratch, flags: [flag('name', '--name', 'cpu-cluster')], set: [] });
    assert.equal(result.value?.type, 'amlcompute');
    assert.equal(result.value?.min_instances, 0);
    assert.equal(result.value?.max_instances, 4);
  });

  it("reads Azure's YAML in Azure's spellings, keys accepted for Azure left out of the record", async () => {
    const file = yamlFile(
      [
        '$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json',
        'name: gpu-cluster',
        'type: AmlCompute',
        'size: Standard_NC6s_v3',
        'min_instances: 1',
        'max_instances: 3',
        'idle_time_before_scale_down: 300',
        'tier: LowPriority',
        'location: westus2',
        'description: GPU nodes',
        'tags: {team: vision}',
        'ssh_settings: {admin_username: azureuser}',
        'identity: {type: system_assigned}',
        '',
      ].join('\n'),
    );
    const result = await loadComputeSpec({ file, cwd: scratch, flags: [], set: [] });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.value, {
      name: 'gpu-cluster',
      type: 'amlcompute',
      size: 'Standard_NC6s_v3',
      description: 'GPU nodes',
      tags: { team: 'vision' },
      min_instances: 1,
      max_instances: 3,
      idle_time_before_scale_down: 300,
      tier: 'low_priority',
    });
  });

  it('flags override the file, and --set overrides the flags', async () => {
    const file = yamlFile('name: cpu-cluster\ntype: amlcompute\nmax_instances: 2\n');
    const result = await loadComputeSpec({ file, cwd: scratch, flags: [flag('max_instances', '--max-instances', 6)], set: ['max_instances=8', 'tags.team=ml'] });
    assert.equal(result.value?.max_instances, 8);
    assert.deepEqual(result.value?.tags, { team: 'ml' });
  });

  it('min_instances above max_instances is a problem at its line in the file', async () => {
    const file = yamlFile('name: cpu-cluster\ntype: amlcompute\nmin_instances: 3\nmax_instances: 2\n');
    const result = await loadComputeSpec({ file, cwd: scratch, flags: [], set: [] });
    assert.equal(result.value, undefined);
    assert.deepEqual(result.errors.map(formatProblem), [
      `${file}:3:16 min_instances: min_instances (3) is above max_instances (2).\n  hint: the cluster scales between them: give min_instances <= max_instances`,
    ]);
  });

  it('a problem from a flag names the flag as the user wrote it', async () => {
    const flags = [flag('name', '--name', 'cpu-cluster'), flag('min_instances', '--min-instances', 6), flag('max_instances', '--max-instances', 5)];
    const result = await loadComputeSpec({ cwd: scratch, flags, set: [] });
    assert.deepEqual(result.errors.map(formatProblem), [
      'the command line min_instances: min_instances (6) is above max_instances (5).\n  hint: the value comes from --min-instances 6; the cluster scales between them: give min_instances <= max_instances',
    ]);
  });

  it("names are Azure's: a letter first, letters, digits and '-', 2-16 characters for a cluster", async () => {
    for (const name of ['1cluster', 'cpu_cluster', 'cluster-', 'c', 'a-much-too-long-cluster']) {
      const result = await loadComputeSpec({ cwd: scratch, flags: [flag('name', '--name', name)], set: [] });
      assert.deepEqual(
        result.errors.map(formatProblem),
        [
          `the command line name: "${name}" cannot name a compute of type amlcompute.\n  hint: the value comes from --name ${name}; letters, digits and '-', starting with a letter and ending with a letter or digit, 2 to 16 characters`,
        ],
        name,
      );
    }
    const instance = await loadComputeSpec({ cwd: scratch, flags: [flag('name', '--name', 'a-longer-instance-name'), flag('type', '--type', 'computeinstance')], set: [] });
    assert.deepEqual(instance.errors, []);
  });

  it('a type az ml compute create does not make is refused, with what to use', async () => {
    const result = await loadComputeSpec({ cwd: scratch, flags: [flag('name', '--name', 'aks1'), flag('type', '--type', 'kubernetes')], set: [] });
    assert.equal(result.errors.length, 1);
    assert.match(formatProblem(result.errors[0]!), /^the command line type: Must be one of: amlcompute, computeinstance\.\n {2}hint: the value comes from --type kubernetes; .*az ml compute attach/);
  });

  it("a compute instance has no cluster settings; given one, it says so", async () => {
    const flags = [flag('name', '--name', 'notebook-1'), flag('type', '--type', 'computeinstance'), flag('max_instances', '--max-instances', 2)];
    const result = await loadComputeSpec({ cwd: scratch, flags, set: [] });
    assert.deepEqual(result.errors.map(formatProblem), [
      "the command line max_instances: max_instances is a compute cluster's setting; a computeinstance has none.\n  hint: the value comes from --max-instances 2; remove it, or use type: amlcompute",
    ]);
    const plain = await loadComputeSpec({ cwd: scratch, flags: flags.slice(0, 2), set: [] });
    assert.deepEqual(plain.value, { name: 'notebook-1', type: 'computeinstance', size: 'Standard_DS3_v2', tags: {} });
  });

  it('an unknown key, a wrong type and a bad tier are problems at their lines', async () => {
    const file = yamlFile('name: cpu-cluster\nmax_nodes: 4\nmin_instances: none\ntier: spot\n');
    const result = await loadComputeSpec({ file, cwd: scratch, flags: [], set: [] });
    const shown = result.errors.map(formatProblem);
    assert.equal(shown.length, 3, shown.join('\n'));
    assert.match(shown[0]!, new RegExp(`^${file}:2:1 max_nodes: `));
    assert.match(shown[1]!, new RegExp(`^${file}:3:16 min_instances: Must be a whole number\\.`));
    assert.match(shown[2]!, new RegExp(`^${file}:4:7 tier: Must be one of: dedicated, low_priority\\.`));
  });

  it('update: the stored compute with the changes, checked again', () => {
    const stored: ComputeSpec = { name: 'cpu-cluster', type: 'amlcompute', size: 'Standard_DS3_v2', tags: {}, min_instances: 0, max_instances: 4, idle_time_before_scale_down: 120, tier: 'dedicated' };
    const grown = validateComputeObject(stored, 'compute cpu-cluster', [flag('max_instances', '--max-instances', 8)], []);
    assert.equal(grown.value?.max_instances, 8);
    const refused = validateComputeObject(stored, 'compute cpu-cluster', [flag('min_instances', '--min-instances', 5)], []);
    assert.deepEqual(refused.errors.map(formatProblem), [
      'compute cpu-cluster min_instances: min_instances (5) is above max_instances (4).\n  hint: the value comes from --min-instances 5; the cluster scales between them: give min_instances <= max_instances',
    ]);
    assert.equal(stored.max_instances, 4, 'the stored compute is not changed');
  });
});

describe('compute store', () => {
  const spec: ComputeSpec = { name: 'batch-cluster', type: 'amlcompute', size: 'Standard_DS3_v2', tags: {}, min_instances: 0, max_instances: 5, idle_time_before_scale_down: 120, tier: 'dedicated' };

  it('saves, finds, lists, replaces (keeping the creation time) and deletes', async () => {
    const home = folder();
    assert.deepEqual(await listComputes(home), []);
    const first = await saveCompute(home, spec, new Date('2025-01-02T03:04:05Z'));
    assert.equal(first.replaced, false);
    assert.deepEqual(await findCompute(home, 'batch-cluster'), { ...spec, created_on: '2025-01-02T03:04:05.000Z' });

    const second = await saveCompute(home, { ...spec, max_instances: 8 }, new Date('2025-02-02T00:00:00Z'));
    assert.equal(second.replaced, true);
    assert.equal(second.record.created_on, '2025-01-02T03:04:05.000Z');
    await saveCompute(home, { ...spec, name: 'a-cluster' });
    assert.deepEqual((await listComputes(home)).map((record) => [record.name, record.max_instances]), [
      ['a-cluster', 5],
      ['batch-cluster', 8],
    ]);

    await deleteCompute(home, 'batch-cluster');
    assert.equal(await findCompute(home, 'batch-cluster'), undefined);
    assert.deepEqual(readdirSync(join(home, 'registry', 'computes')), ['a-cluster.json']);
  });

  it('a missing compute is OEP_ERR_COMPUTE_NOT_FOUND (exit 2), naming the ones there are', async () => {
    const home = folder();
    await saveCompute(home, spec);
    for (const attempt of [() => requireCompute(home, 'gpu-cluster'), () => deleteCompute(home, 'gpu-cluster')]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof OepError);
        assert.equal(error.code, 'OEP_ERR_COMPUTE_NOT_FOUND');
        assert.equal(error.exitCode, 2);
        assert.equal(error.message, "Compute gpu-cluster does not exist in oep's local workspace (its computes: batch-cluster).");
        return true;
      });
    }
    // A name that cannot be a file is simply not there.
    assert.equal(await findCompute(home, '../batch-cluster'), undefined);
  });

  it("shows a cluster as az ml compute show does, in the local workspace", () => {
    assert.deepEqual(computeView({ ...spec, created_on: '2025-01-02T03:04:05.000Z' }), {
      id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/computes/batch-cluster',
      name: 'batch-cluster',
      type: 'amlcompute',
      location: 'local',
      resourceGroup: 'oep-local',
      size: 'Standard_DS3_v2',
      provisioning_state: 'Succeeded',
      created_on: '2025-01-02T03:04:05.000Z',
      tags: {},
      min_instances: 0,
      max_instances: 5,
      idle_time_before_scale_down: 120,
      tier: 'dedicated',
    });
  });
});
