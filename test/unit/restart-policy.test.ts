import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRestart, describeExit, type RestartPolicy } from '../../src/model/restart-policy.js';

describe("the keeper's restart policy (model/restart-policy.ts)", () => {
  const policy: RestartPolicy = { maxCrashes: 5, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000 };

  it('restarts the first crash at once, then after 0.5, 1, 2 s', () => {
    assert.deepEqual(decideRestart([1000], 1000, policy), { restart: true, delayMs: 0 });
    assert.deepEqual(decideRestart([1000, 2000], 2000, policy), { restart: true, delayMs: 500 });
    assert.deepEqual(decideRestart([1000, 2000, 3000], 3000, policy), { restart: true, delayMs: 1000 });
    assert.deepEqual(decideRestart([1000, 2000, 3000, 4000], 4000, policy), { restart: true, delayMs: 2000 });
  });

  it('gives up at the fifth crash within the window', () => {
    assert.deepEqual(decideRestart([1000, 2000, 3000, 4000, 5000], 5000, policy), { restart: false, crashes: 5, windowMs: 60_000 });
  });

  it('forgets crashes older than the window: a daily crash is restarted at once every time', () => {
    const day = 86_400_000;
    assert.deepEqual(decideRestart([0, day, 2 * day, 3 * day, 4 * day, 5 * day], 5 * day, policy), { restart: true, delayMs: 0 });
  });

  it('caps the delay', () => {
    const wide: RestartPolicy = { ...policy, maxCrashes: 100 };
    const crashes = Array.from({ length: 20 }, (_, index) => index);
    assert.deepEqual(decideRestart(crashes, 20, wide), { restart: true, delayMs: 8_000 });
  });

  it('says how a process ended', () => {
    assert.equal(describeExit(null, 'SIGKILL'), 'killed by SIGKILL');
    assert.equal(describeExit(1, null), 'exit code 1');
  });
});
