import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { checkTrafficRules, deploymentRequestLimit, MirrorSampler, mirrorCopyLimit, parseTrafficArg, WeightedPicker } from '../../src/model/traffic.js';

describe('traffic', () => {
  it('parses space separated name=int pairs', () => {
    assert.deepEqual(parseTrafficArg('blue=90 green=10'), { blue: 90, green: 10 });
  });

  it('rejects commas with a hint, and repeated names', () => {
    assert.throws(() => parseTrafficArg('blue=90,green=10'), (error: OepError) => {
      assert.equal(error.code, 'OEP_ERR_TRAFFIC_INVALID');
      assert.equal(error.message, '--traffic: "blue=90,green=10" is not a name=integer pair.');
      assert.equal(error.hint, 'separate pairs with spaces, not commas: --traffic "blue=90 green=10"');
      return true;
    });
    assert.throws(() => parseTrafficArg('blue=50 blue=50'), /named twice/);
    assert.throws(() => parseTrafficArg('blue=ten'), /not a name=integer pair/);
    // An empty value (an unset shell variable) is an error, never "no traffic at all".
    for (const [flag, fix] of [['--traffic', /--traffic "blue=0"/], ['--mirror-traffic', /--mirror-traffic "green=0"/]] as const) {
      assert.throws(() => parseTrafficArg('  ', flag), (error: OepError) => {
        assert.equal(error.message, `${flag} is empty: give name=percent pairs.`);
        assert.match(error.hint ?? '', fix);
        return true;
      });
    }
    assert.throws(() => parseTrafficArg('blue = 90 green= 10'), (error: OepError) => {
      assert.equal(error.hint, 'write each pair without spaces around "=": --traffic "blue=90 green=10"');
      return true;
    });
  });

  it('checks every rule and reports every problem', () => {
    assert.deepEqual(checkTrafficRules({ blue: 90, green: 10 }, {}, ['blue', 'green']), []);
    assert.deepEqual(checkTrafficRules({}, {}, []), []);
    assert.deepEqual(checkTrafficRules({ blue: 100 }, { green: 10 }, ['blue', 'green'], true), [
      'mirror_traffic: only available on managed endpoints; this endpoint has compute set (kubernetes).',
    ]);
    assert.deepEqual(checkTrafficRules({ blue: 100 }, {}, ['blue'], true), []);
    assert.deepEqual(checkTrafficRules({ blue: 90 }, { green: 60, red: 10 }, ['blue', 'green']), [
      'traffic: the values add up to 90; they must add up to 100 (or 0 for no traffic).',
      'mirror_traffic: only one deployment can receive mirrored traffic, got 2.',
      'mirror_traffic.green: 60 must be an integer between 0 and 50.',
      'mirror_traffic.red: the endpoint has no deployment "red" (deployments: blue, green).',
    ]);
    assert.deepEqual(checkTrafficRules({ blue: 100 }, { blue: 10 }, ['blue'], false, 'ep'), [
      'mirror_traffic.blue: "blue" has live traffic; a deployment gets live or mirrored traffic, never both. ' +
        'To give it live traffic, stop mirroring it first (oep traffic mirror -n ep blue=0, or --mirror-traffic "blue=0" in the same update).',
    ]);
  });

  it('splits 90/10 exactly 9 and 1 in every window of 10', () => {
    const picker = new WeightedPicker({ blue: 90, green: 10 });
    const picks = Array.from({ length: 100 }, () => picker.next());
    for (let start = 0; start < 100; start += 10) {
      const window = picks.slice(start, start + 10);
      assert.equal(window.filter((name) => name === 'green').length, 1);
    }
    assert.equal(new WeightedPicker({ blue: 0 }).next(), undefined);
  });

  it('mirrors exactly the share, evenly', () => {
    const sampler = new MirrorSampler(10);
    const picks = Array.from({ length: 100 }, () => sampler.next());
    assert.equal(picks.filter(Boolean).length, 10);
    assert.equal(picks.slice(0, 10).filter(Boolean).length, 1);
  });
});

describe('concurrency limits', () => {
  it('are twice max_concurrent_requests_per_instance: per deployment (times its instances) and per mirror replica', () => {
    assert.equal(deploymentRequestLimit({ maxConcurrentPerInstance: 1, instanceCount: 1 }), 2);
    assert.equal(deploymentRequestLimit({ maxConcurrentPerInstance: 3, instanceCount: 4 }), 24);
    assert.equal(mirrorCopyLimit({ maxConcurrentPerInstance: 3 }), 6);
  });
});
