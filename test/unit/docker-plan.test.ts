import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planReplica, type ObservedContainer } from '../../src/runtimes/docker/plan.js';

function container(id: string, hash: string, state: string, deployment = 'blue'): ObservedContainer {
  return { id, state, labels: { 'oep.endpoint': 'ep', 'oep.deployment': deployment, 'oep.replica': '0', 'oep.config-hash': hash } };
}

describe('planReplica', () => {
  it('adopts a running container with the wanted config hash', () => {
    assert.deepEqual(planReplica([container('a', 'h1', 'running')], 'h1'), { adopt: 'a', remove: [] });
  });

  it('creates a new container when none matches, leaving other configurations alone', () => {
    // "old" still serves while the new configuration starts; the supervisor stops it afterwards.
    assert.deepEqual(planReplica([container('old', 'h0', 'running')], 'h1'), { adopt: undefined, remove: [] });
  });

  it('removes a matching container that is not running (it died; its replacement needs the name)', () => {
    assert.deepEqual(planReplica([container('dead', 'h1', 'exited'), container('new', 'h1', 'created')], 'h1'), {
      adopt: undefined,
      remove: ['dead', 'new'],
    });
  });

  it('adopts one running container and removes the other matching ones', () => {
    assert.deepEqual(planReplica([container('x', 'h1', 'exited'), container('y', 'h1', 'running')], 'h1'), { adopt: 'y', remove: ['x'] });
  });
});
