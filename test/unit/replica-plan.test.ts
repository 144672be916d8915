import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeStep,
  planReplicas,
  restartDelayMs,
  type DesiredDeployment,
  type FoundReplica,
  type ObservedReplica,
  type PlanInput,
} from '../../src/model/replica-plan.js';

/** State in, readable steps out: each case is one situation the daemon meets. */
const NOW = 1_000_000;

function want(overrides: Partial<DesiredDeployment> = {}): DesiredDeployment {
  return { endpoint: 'ep', deployment: 'blue', runtime: 'process', generation: 3, replicas: 2, status: 'steady', ...overrides };
}

function replica(index: number, phase: ObservedReplica['phase'], overrides: Partial<ObservedReplica> = {}): ObservedReplica {
  const served = phase === 'ready' || phase === 'unready' || phase === 'exited' || phase === 'unhealthy';
  return { endpoint: 'ep', deployment: 'blue', index, generation: 3, phase, served, restarts: 0, ...overrides };
}

function found(index: number, overrides: Partial<FoundReplica> = {}): FoundReplica {
  return { id: `blue-${index}-${overrides.generation ?? 3}`, runtime: 'process', endpoint: 'ep', deployment: 'blue', index, generation: 3, configHash: 'h3', alive: true, ...overrides };
}

function steps(input: Partial<PlanInput>): string[] {
  return planReplicas({ desired: [], replicas: [], found: [], now: NOW, ...input }).steps.map(describeStep);
}

describe('planReplicas: create and scale', () => {
  it('fresh create: starts instance_count replicas', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })] }), ['start blue#0 gen 3', 'start blue#1 gen 3']);
  });

  it('does nothing while the replicas start', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [replica(0, 'starting'), replica(1, 'starting')] }), []);
  });

  it('completes a create once every replica is ready', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [replica(0, 'ready'), replica(1, 'starting')] }), []);
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [replica(0, 'ready'), replica(1, 'ready')] }), ['complete blue gen 3']);
  });

  it('a steady deployment with everything ready: nothing to do', () => {
    assert.deepEqual(steps({ desired: [want()], replicas: [replica(0, 'ready'), replica(1, 'unready')] }), []);
  });

  it('scale up: starts the missing replicas only', () => {
    assert.deepEqual(steps({ desired: [want({ replicas: 3 })], replicas: [replica(0, 'ready'), replica(1, 'ready')] }), ['start blue#2 gen 3']);
  });

  it('scale down: stops the replicas past the count', () => {
    assert.deepEqual(steps({ desired: [want({ replicas: 1 })], replicas: [replica(0, 'ready'), replica(1, 'ready'), replica(2, 'starting')] }), [
      'stop blue#1 gen 3 (scaled down to 1)',
      'stop blue#2 gen 3 (scaled down to 1)',
    ]);
  });

  it('a create fails at the first replica that cannot start, and stops the others', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [replica(0, 'starting'), replica(1, 'failed')] }), [
      'fail blue gen 3 (replica 1 did not start)',
      'stop blue#0 gen 3 (roll-out of gen 3 failed)',
      'stop blue#1 gen 3 (roll-out of gen 3 failed)',
    ]);
  });

  it('reports the failure once its replicas are gone', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'failing' })], replicas: [replica(0, 'stopping')] }), []);
    assert.deepEqual(steps({ desired: [want({ status: 'failing' })] }), ['failed blue gen 3']);
    assert.deepEqual(steps({ desired: [want({ status: 'failed' })] }), []);
  });
});

describe('planReplicas: update to a new generation', () => {
  const old = (index: number, phase: ObservedReplica['phase'] = 'ready') => replica(index, phase, { generation: 2 });

  it('starts the new generation while the old one serves', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [old(0), old(1)] }), ['start blue#0 gen 3', 'start blue#1 gen 3']);
  });

  it('keeps the old generation until every new replica is ready', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [old(0), old(1), replica(0, 'ready'), replica(1, 'starting')] }), []);
  });

  it('then stops the old generation, and completes once it is gone', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [old(0), old(1), replica(0, 'ready'), replica(1, 'ready')] }), [
      'stop blue#0 gen 2 (replaced by gen 3)',
      'stop blue#1 gen 2 (replaced by gen 3)',
    ]);
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [{ ...old(0, 'stopping'), served: true }, replica(0, 'ready'), replica(1, 'ready')] }), []);
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [replica(0, 'ready'), replica(1, 'ready')] }), ['complete blue gen 3']);
  });

  it('a failed update stops the new replicas and keeps the old ones serving (and restarting)', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling' })], replicas: [old(0), old(1), replica(0, 'failed'), replica(1, 'starting')] }), [
      'fail blue gen 3 (replica 0 did not start)',
      'stop blue#0 gen 3 (roll-out of gen 3 failed)',
      'stop blue#1 gen 3 (roll-out of gen 3 failed)',
    ]);
    assert.deepEqual(steps({ desired: [want({ status: 'failed' })], replicas: [old(0), old(1, 'exited')] }), ['restart blue#1 gen 2 (restart 0)']);
  });

  it('a configuration replaced while it was starting is stopped at once', () => {
    // Generation 2 never served (still starting when the update to 3 came): nothing to keep it for.
    assert.deepEqual(steps({ desired: [want({ status: 'rolling', replicas: 1 })], replicas: [old(0, 'starting'), old(1, 'failed')] }), [
      'start blue#0 gen 3',
      'stop blue#0 gen 2 (replaced by gen 3)',
      'stop blue#1 gen 2 (replaced by gen 3)',
    ]);
  });

  it('completes although a replica that never served is still stopping', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling', replicas: 1 })], replicas: [old(0, 'stopping'), replica(0, 'ready')] }).map((step) => step), [
      'complete blue gen 3',
    ]);
  });
});

describe('planReplicas: replicas that end', () => {
  it('restarts a replica that exited once its backoff is over, and says when to look again', () => {
    const exited = replica(0, 'exited', { restarts: 1, retryAt: NOW + 1000 });
    const plan = planReplicas({ desired: [want({ replicas: 1 })], replicas: [exited], found: [], now: NOW });
    assert.deepEqual(plan, { steps: [], wakeAt: NOW + 1000 });
    assert.deepEqual(steps({ desired: [want({ replicas: 1 })], replicas: [{ ...exited, retryAt: NOW }] }), ['restart blue#0 gen 3 (restart 1)']);
  });

  it('stops a replica that failed its liveness probe (it is then restarted like one that exited)', () => {
    assert.deepEqual(steps({ desired: [want({ replicas: 1 })], replicas: [replica(0, 'unhealthy')] }), ['recycle blue#0 gen 3 (failed its liveness probe)']);
  });

  it('retries a start that failed while restoring, instead of failing the deployment', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'restoring', replicas: 1 })], replicas: [replica(0, 'failed', { restarts: 1, retryAt: NOW - 1 })] }), [
      'restart blue#0 gen 3 (restart 1)',
    ]);
  });

  it('a replica that served and then fails to restart during an update is retried, not a failed update', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'rolling', replicas: 1 })], replicas: [replica(0, 'failed', { served: true, restarts: 2, retryAt: NOW })] }), [
      'restart blue#0 gen 3 (restart 2)',
    ]);
  });

  it('backoff: 1 s, doubling, at most 30 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(restartDelayMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('planReplicas: a daemon restart finds what an earlier daemon left', () => {
  const restoring = want({ status: 'restoring', configHash: 'h3' });

  it('adopts running replicas of the wanted configuration instead of starting new ones', () => {
    assert.deepEqual(steps({ desired: [restoring], found: [found(0), found(1)] }), ['adopt blue#0 gen 3', 'adopt blue#1 gen 3']);
  });

  it('a replica whose configuration hash differs is stopped and a new one started', () => {
    assert.deepEqual(steps({ desired: [restoring], found: [found(0, { configHash: 'other' }), found(1)] }), [
      'start blue#0 gen 3',
      'adopt blue#1 gen 3',
      'discard blue#0 gen 3 (configuration changed)',
    ]);
  });

  it('a record whose process is gone (or whose pid now names another process) is forgotten', () => {
    // A reused pid: the observer compares the recorded start time, and reports it as not alive.
    assert.deepEqual(steps({ desired: [restoring], found: [found(0, { alive: false }), found(1)] }), ['start blue#0 gen 3', 'adopt blue#1 gen 3', 'forget blue#0 gen 3 (not running)']);
  });

  it('the old generation of an update the daemon did not finish is stopped; the new one adopted', () => {
    assert.deepEqual(steps({ desired: [restoring], found: [found(0, { generation: 2 }), found(1, { generation: 2 }), found(0)] }), [
      'adopt blue#0 gen 3',
      'start blue#1 gen 3',
      'discard blue#0 gen 2 (replaced by gen 3)',
      'discard blue#1 gen 2 (replaced by gen 3)',
    ]);
  });

  it('extra replicas (the deployment was scaled down meanwhile) are stopped', () => {
    assert.deepEqual(steps({ desired: [{ ...restoring, replicas: 1 }], found: [found(0), found(1)] }), ['adopt blue#0 gen 3', 'discard blue#1 gen 3 (scaled down to 1)']);
  });

  it('replicas of a deleted deployment are stopped', () => {
    assert.deepEqual(steps({ desired: [], found: [found(0), { ...found(2), deployment: 'green', id: 'g' }], replicas: [{ ...replica(1, 'ready'), deployment: 'green' }] }), [
      'discard blue#0 gen 3 (deployment deleted)',
      'stop green#1 gen 3 (deployment deleted)',
      'discard green#2 gen 3 (deployment deleted)',
    ]);
  });

  it('daemon stop: everything is stopped, found replicas too', () => {
    assert.deepEqual(steps({ closing: true, found: [found(0)], replicas: [replica(1, 'ready'), replica(2, 'stopping')] }), [
      'stop blue#1 gen 3 (daemon stopping)',
      'discard blue#0 gen 3 (daemon stopping)',
    ]);
  });

  it('replicas of a deployment whose roll-out failed are stopped', () => {
    assert.deepEqual(steps({ desired: [want({ status: 'failed' })], found: [found(0)] }), ['discard blue#0 gen 3 (roll-out of gen 3 failed)']);
  });

  it('waits while its runtime is still looking for leftovers (nothing started that could be adopted)', () => {
    assert.deepEqual(steps({ desired: [{ ...restoring, runtime: 'docker' }], observing: ['docker'] }), []);
  });

  it('leaves a found container alone while a replica of ours starts in its place, then stops it', () => {
    const container = found(0, { runtime: 'docker', configHash: 'c1' });
    const docker = { ...restoring, runtime: 'docker' as const, configHash: undefined, preparation: 'failed' as const, replicas: 1 };
    assert.deepEqual(steps({ desired: [docker], replicas: [replica(0, 'starting')], found: [container] }), []);
    assert.deepEqual(steps({ desired: [docker], replicas: [replica(0, 'ready')], found: [container] }), ['discard blue#0 gen 3 (a replica of ours runs in its place)', 'complete blue gen 3']);
  });
});

describe('planReplicas: a spare container an earlier daemon left (runtimes/docker/spare-container.ts)', () => {
  const docker = want({ runtime: 'docker', status: 'restoring', replicas: 1, configHash: 'c3' });
  const spare = (overrides: Partial<FoundReplica> = {}): FoundReplica => ({ id: 'sp1', runtime: 'docker', endpoint: 'ep', deployment: 'blue', index: -1, generation: 0, alive: true, spare: true, ...overrides });

  it('is discarded, never adopted, while the replica starts or is adopted', () => {
    assert.deepEqual(steps({ desired: [docker], found: [spare()] }), ['start blue#0 gen 3', 'discard blue spare sp1 (a spare never taken)']);
    assert.deepEqual(steps({ desired: [docker], found: [spare(), found(0, { runtime: 'docker', configHash: 'c3' })] }), ['adopt blue#0 gen 3', 'discard blue spare sp1 (a spare never taken)']);
  });

  it('is never adopted even when its index, generation and hash would fit', () => {
    assert.deepEqual(steps({ desired: [docker], found: [spare({ index: 0, generation: 3, configHash: 'c3' })] }), ['start blue#0 gen 3', 'discard blue spare sp1 (a spare never taken)']);
  });

  it('one that ended (its daemon gone, its stdin closed) is forgotten; one of a deleted deployment is discarded', () => {
    assert.deepEqual(steps({ desired: [docker], replicas: [replica(0, 'ready')], found: [spare({ alive: false })] }), ['forget blue spare sp1 (not running)', 'complete blue gen 3']);
    assert.deepEqual(steps({ desired: [], found: [spare()] }), ['discard blue spare sp1 (deployment deleted)']);
  });
});

describe('planReplicas: a runtime that prepares a configuration (Docker: the image, hence the config hash)', () => {
  const docker = want({ runtime: 'docker', status: 'restoring', replicas: 1 });
  const container = (overrides: Partial<FoundReplica> = {}) => found(0, { runtime: 'docker', configHash: 'c3', ...overrides });

  it('starts and adopts nothing while the configuration is being prepared', () => {
    assert.deepEqual(steps({ desired: [{ ...docker, preparation: 'preparing' }], found: [container()] }), []);
  });

  it('while an update is prepared, what served goes on serving (and is restarted) and what never served stops', () => {
    const update = { ...docker, status: 'rolling' as const, preparation: 'preparing' as const };
    assert.deepEqual(steps({ desired: [update], replicas: [replica(0, 'ready', { generation: 2 })] }), []);
    assert.deepEqual(steps({ desired: [update], replicas: [replica(0, 'exited', { generation: 2, restarts: 1, retryAt: NOW })] }), ['restart blue#0 gen 2 (restart 1)']);
    assert.deepEqual(steps({ desired: [update], replicas: [replica(0, 'starting', { generation: 2 })] }), ['stop blue#0 gen 2 (replaced by gen 3)']);
  });

  it('once prepared, adopts the running container with the prepared hash: the one decision', () => {
    assert.deepEqual(steps({ desired: [{ ...docker, configHash: 'c3' }], found: [container()] }), ['adopt blue#0 gen 3']);
  });

  it('once prepared, starts a new container beside one with another hash, and stops that one', () => {
    assert.deepEqual(steps({ desired: [{ ...docker, configHash: 'c3' }], found: [container({ configHash: 'c0' })] }), ['start blue#0 gen 3', 'discard blue#0 gen 3 (configuration changed)']);
  });

  it('once prepared, a container of the wanted hash that does not run is removed and a new one started', () => {
    assert.deepEqual(steps({ desired: [{ ...docker, configHash: 'c3' }], found: [container({ alive: false })] }), ['start blue#0 gen 3', 'forget blue#0 gen 3 (not running)']);
  });

  it('when the preparation failed, the replica starts (its start says what is wrong) and nothing is adopted unchecked', () => {
    assert.deepEqual(steps({ desired: [{ ...docker, preparation: 'failed' }], found: [container()] }), ['start blue#0 gen 3']);
  });
});
