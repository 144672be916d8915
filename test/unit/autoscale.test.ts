import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideReplicas, initialReplicas, maxReplicas, type TargetUtilization } from '../../src/model/autoscale.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { Autoscaler, type AutoscaledDeployment } from '../../src/supervisor/autoscaler.js';

const settings: TargetUtilization = { min_instances: 1, max_instances: 5, target_utilization_percentage: 70, polling_interval: 2 };

describe('decideReplicas (Kubernetes HPA rule on in-flight requests)', () => {
  const decide = (replicas: number, inflight: number, perInstance = 1) => decideReplicas({ replicas, inflight, maxConcurrentPerInstance: perInstance, settings });

  it('scales up to ceil(replicas x utilisation / target)', () => {
    assert.deepEqual(decide(1, 2), { replicas: 3, utilisation: 200 });
    assert.deepEqual(decide(2, 2), { replicas: 3, utilisation: 100 });
  });

  it('keeps the count within 10% of the target', () => {
    assert.equal(decide(2, 1.4).replicas, 2); // 70%
    assert.equal(decide(10 / 10, 0.76).replicas, 1); // 76%: within tolerance
  });

  it('scales down when idle, never below min_instances nor above max_instances', () => {
    assert.equal(decide(4, 0).replicas, 1);
    assert.equal(decide(4, 1).replicas, 2); // 25% of 4 -> ceil(4 x 25 / 70) = 2
    assert.equal(decide(3, 30).replicas, 5);
  });

  it('capacity counts max_concurrent_requests_per_instance', () => {
    assert.deepEqual(decide(1, 2, 4), { replicas: 1, utilisation: 50 });
  });
});

describe('the replica count of a configuration', () => {
  const spec = (overrides: Partial<DeploymentSpec>) => ({ type: 'kubernetes', instance_count: 2, scale_settings: { type: 'default' }, ...overrides }) as DeploymentSpec;

  it('instance_count, or min_instances..max_instances when autoscaled', () => {
    assert.deepEqual([initialReplicas(spec({})), maxReplicas(spec({}))], [2, 2]);
    const autoscaled = spec({ scale_settings: { type: 'target_utilization', ...settings } });
    assert.deepEqual([initialReplicas(autoscaled), maxReplicas(autoscaled)], [1, 5]);
    // Only kubernetes deployments autoscale.
    assert.equal(initialReplicas({ ...autoscaled, type: 'managed' }), 2);
  });
});

describe('Autoscaler', () => {
  it('averages in-flight samples over polling_interval, then scales and logs why', () => {
    let now = 0;
    let inflight = 0;
    let replicas = 1;
    const logged: string[] = [];
    const target = (): AutoscaledDeployment => ({ endpoint: 'ep', deployment: 'blue', generation: 1, replicas, maxConcurrentPerInstance: 1, settings });
    const autoscaler = new Autoscaler({
      deployments: () => [target()],
      inflight: () => inflight,
      scale: (_endpoint, _deployment, count) => void (replicas = count),
      log: (line) => logged.push(line),
      now: () => now,
    });
    // Two seconds: half at 4 in flight, half at 0 -> 2 on average -> 200% of 1 replica.
    for (; now < 2000; now += 200) {
      inflight = now < 1000 ? 4 : 0;
      autoscaler.tick();
    }
    assert.equal(replicas, 1, 'no decision before polling_interval is over');
    autoscaler.tick();
    assert.equal(replicas, 3);
    assert.deepEqual(logged, ['ep/blue: autoscale 1 -> 3 replicas (utilisation 182% of 1 x 1 concurrent requests over 2 s, target 70%, min 1, max 5)']);
    // Idle for an interval: back to min_instances.
    inflight = 0;
    for (now += 200; now <= 4400; now += 200) autoscaler.tick();
    assert.equal(replicas, 1);
    assert.equal(logged.length, 2);
  });
});
