import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { createHandlers, type ControllerDeps } from '../../src/daemon/controller.js';
import { OepError } from '../../src/errors.js';
import type { EndpointRoute } from '../../src/router/router.js';
import { deploymentLogDir, deploymentRunDir, oepPaths } from '../../src/state/paths.js';
import type { OepState, ProvisioningState } from '../../src/state/types.js';
import { endpointCertificateFile } from '../../src/tls/paths.js';
import { deploymentRecord, endpointRecord, fakeControllerDeps, quietContext, useTemporaryHome } from './controller-support.js';
import { deploymentSpec } from './docker-fixtures.js';

/**
 * The delete path of the controller (issue 25 point 5): a delete interrupted at any step can be
 * run again and finishes, the record goes last, and an endpoint or deployment being deleted takes
 * no change. The controller runs with an in-memory state, a reconciler and router that record
 * what they are asked, and a real OEP_HOME for the files a delete removes.
 */

/** Endpoint `ep` in `endpointState`, mirroring 10% to green, with deployments in the given states. */
function stateWith(endpointState: ProvisioningState, deployments: Record<string, ProvisioningState>): OepState {
  const records = Object.entries(deployments).map(([name, provisioning_state]) => deploymentRecord(name, provisioning_state));
  return { version: 1, endpoints: { ep: endpointRecord(records, { spec: { mirror_traffic: { green: 10 } }, state: endpointState }) } };
}

/** The controller, with every call it makes to the reconciler, router and runtime recorded in one list. */
function controller(home: string, state: OepState) {
  const calls: string[] = [];
  const failures = { remove: 0, release: 0 };
  const deps = fakeControllerDeps(home, state, {
    reconciler: {
      remove: async (endpoint: string, deployment: string, kind?: string) => {
        calls.push(`remove ${endpoint}/${deployment} (${kind}) while the record is ${state.endpoints[endpoint]?.deployments[deployment]?.provisioning_state ?? 'gone'}`);
        if (failures.remove > 0) {
          failures.remove -= 1;
          throw new Error('killed here');
        }
      },
    },
    router: {
      upsert: async (route: EndpointRoute) => void calls.push(`route ${route.name}: ${Object.keys(route.deployments).join(',') || 'none'}, mirror ${JSON.stringify(route.mirror)}`),
      remove: async (name: string) => void calls.push(`no listener for ${name}`),
    },
    releaseRuntime: async (kind, endpoint, deployment, { purge }) => {
      calls.push(`release ${endpoint}/${deployment} (${kind}${purge ? ', purge' : ''})`);
      if (failures.release > 0) {
        failures.release -= 1;
        throw new Error('killed here');
      }
    },
    closeEndpointLogs: (endpoint) => void calls.push(`close logs of ${endpoint}`),
    pairs: { forget: async (endpoint: string) => void calls.push(`forget pairs of ${endpoint}`) } as unknown as ControllerDeps['pairs'],
  });
  return { handlers: createHandlers(deps), calls, failures, state };
}

/** The files a delete removes: logs, a replica record folder, the endpoint's certificate. */
function plantFiles(home: string): string[] {
  const paths = oepPaths(home);
  const files = [
    join(deploymentLogDir(paths, 'ep', 'blue'), 'replica-0.log'),
    join(deploymentLogDir(paths, 'ep', ''), 'access.log'),
    join(deploymentRunDir(paths, 'ep', 'blue'), 'replicas', '0.json'),
    endpointCertificateFile(home, 'ep'),
  ];
  for (const file of files) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'x');
  }
  return files;
}

async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string; exit: number }> {
  const error = await work.then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof OepError, String(error));
  return { code: error.code, message: error.message, exit: error.exitCode };
}

describe('controller: deletes that finish', () => {
  const home = useTemporaryHome('oep-delete-');

  it('endpoint delete of an endpoint already Deleting (as a restarted daemon finds it) finishes: no listener first, replicas, files, the record last', async () => {
    const files = plantFiles(home);
    const oep = controller(home, stateWith('Deleting', { blue: 'Succeeded' }));
    assert.equal(await oep.handlers['endpoint.delete']({ name: 'ep' }, quietContext()), null);
    assert.deepEqual(oep.calls, [
      'no listener for ep',
      'remove ep/blue (process) while the record is Succeeded',
      'release ep/blue (process)',
      'close logs of ep',
      'forget pairs of ep',
    ]);
    assert.deepEqual(oep.state.endpoints, {});
    assert.deepEqual(files.filter((file) => existsSync(file)), []);
    assert.equal(existsSync(join(home, 'run', 'ep')), false);
  });

  it('an endpoint delete interrupted at any step stays Deleting and finishes when run again, with the --purge it was asked with', async () => {
    for (const step of ['remove', 'release'] as const) {
      const files = plantFiles(home);
      const oep = controller(home, stateWith('Succeeded', { blue: 'Succeeded', green: 'Failed' }));
      oep.failures[step] = 1;
      await assert.rejects(oep.handlers['endpoint.delete']({ name: 'ep', purge: true }, quietContext()), /killed here/);
      assert.equal(oep.state.endpoints.ep?.provisioning_state, 'Deleting', `interrupted at ${step}: still there, Deleting`);
      assert.ok(files.every((file) => existsSync(file)), 'nothing removed before the replicas are gone');
      oep.calls.length = 0;
      // Run again without --purge: the record remembers it (as a restarted daemon runs it).
      await oep.handlers['endpoint.delete']({ name: 'ep' }, quietContext());
      assert.deepEqual(oep.state.endpoints, {}, `interrupted at ${step}: gone once run again`);
      assert.deepEqual(
        oep.calls.filter((call) => call.startsWith('release')),
        ['release ep/blue (process, purge)', 'release ep/green (process, purge)'],
      );
      assert.deepEqual(files.filter((file) => existsSync(file)), []);
    }
  });

  it('two deletes of the same endpoint at once are one delete: its replicas are stopped once', async () => {
    const oep = controller(home, stateWith('Succeeded', { blue: 'Succeeded' }));
    await Promise.all([oep.handlers['endpoint.delete']({ name: 'ep' }, quietContext()), oep.handlers['endpoint.delete']({ name: 'ep' }, quietContext())]);
    assert.equal(oep.calls.filter((call) => call.startsWith('remove')).length, 1, oep.calls.join('\n'));
    assert.deepEqual(oep.state.endpoints, {});
  });

  it('deployment delete takes the deployment out of the route first (mirror too), and an interrupted one finishes when run again', async () => {
    plantFiles(home);
    const oep = controller(home, stateWith('Succeeded', { blue: 'Succeeded', green: 'Succeeded' }));
    oep.failures.remove = 1;
    await assert.rejects(oep.handlers['deployment.delete']({ endpoint: 'ep', name: 'green' }, quietContext()), /killed here/);
    assert.equal(oep.state.endpoints.ep!.deployments.green?.provisioning_state, 'Deleting');
    assert.deepEqual(oep.calls, ['route ep: blue, mirror {}', 'remove ep/green (process) while the record is Deleting']);
    oep.calls.length = 0;
    await oep.handlers['deployment.delete']({ endpoint: 'ep', name: 'green' }, quietContext());
    assert.deepEqual(oep.calls, ['route ep: blue, mirror {}', 'remove ep/green (process) while the record is Deleting', 'release ep/green (process)', 'route ep: blue, mirror {}']);
    assert.deepEqual(Object.keys(oep.state.endpoints.ep!.deployments), ['blue']);
    assert.deepEqual(oep.state.endpoints.ep!.spec.mirror_traffic, {});
    assert.equal(existsSync(deploymentLogDir(oepPaths(home), 'ep', 'blue')), true, "another deployment's logs stay");
  });

  it('an endpoint being deleted takes no change: update, new keys, a deployment created, updated or deleted on its own (OEP_ERR_BEING_DELETED, exit 1)', async () => {
    const oep = controller(home, stateWith('Deleting', { blue: 'Succeeded' }));
    const before = structuredClone(oep.state);
    const spec = oep.state.endpoints.ep!.spec;
    const refused = [
      await refusal(oep.handlers['endpoint.update']({ name: 'ep', spec }, quietContext())),
      await refusal(oep.handlers['endpoint.update']({ name: 'ep', traffic: { blue: 100 } }, quietContext())),
      await refusal(oep.handlers['endpoint.regenerateKeys']({ name: 'ep' }, quietContext())),
      await refusal(oep.handlers['deployment.create']({ spec: deploymentSpec({ name: 'green' }), runtime: 'process' }, quietContext())),
      await refusal(oep.handlers['deployment.update']({ spec: deploymentSpec({ name: 'blue' }) }, quietContext())),
      await refusal(oep.handlers['deployment.delete']({ endpoint: 'ep', name: 'blue' }, quietContext())),
    ];
    assert.deepEqual(
      refused.map((each) => each.message),
      [
        'Online endpoint ep is being deleted, so it cannot be updated.',
        'Online endpoint ep is being deleted, so it cannot be updated.',
        'Online endpoint ep is being deleted, so it cannot be given new keys.',
        'Online endpoint ep is being deleted, so it cannot be given deployment green.',
        'Online endpoint ep is being deleted, so it cannot be updated.',
        'Online endpoint ep is being deleted, so it cannot be asked to delete deployment blue on its own.',
      ],
    );
    assert.ok(refused.every((each) => each.code === 'OEP_ERR_BEING_DELETED' && each.exit === 1));
    const created = await refusal(oep.handlers['endpoint.create']({ spec }, quietContext()));
    assert.deepEqual(created, { code: 'OEP_ERR_BEING_DELETED', message: 'Online endpoint ep is being deleted, so it cannot be created again until its delete has finished.', exit: 1 });
    assert.deepEqual(oep.state, before, 'nothing changed');
    assert.deepEqual(oep.calls, []);
  });

  it('a deployment being deleted takes no update; show still shows it, as Deleting', async () => {
    const oep = controller(home, stateWith('Succeeded', { blue: 'Deleting' }));
    const refused = await refusal(oep.handlers['deployment.update']({ spec: deploymentSpec({ name: 'blue' }) }, quietContext()));
    assert.deepEqual(refused, { code: 'OEP_ERR_BEING_DELETED', message: 'Deployment blue of endpoint ep is being deleted, so it cannot be updated.', exit: 1 });
    const again = await refusal(oep.handlers['deployment.create']({ spec: deploymentSpec({ name: 'blue' }), runtime: 'process' }, quietContext()));
    assert.deepEqual(again, { code: 'OEP_ERR_BEING_DELETED', message: 'Deployment blue of endpoint ep is being deleted, so it cannot be created again until its delete has finished.', exit: 1 });
    assert.equal(oep.state.endpoints.ep!.deployments.blue!.generation, 1);
    const shown = (await oep.handlers['deployment.show']({ endpoint: 'ep', name: 'blue' }, quietContext())) as { provisioning_state: string };
    assert.equal(shown.provisioning_state, 'Deleting');
  });
});
