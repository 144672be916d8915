import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OepSandbox } from './harness.js';

/** Settings Azure honours that cannot take effect here: one warning line each, never silence. */
describe('settings with no local effect', () => {
  const oep = new OepSandbox();
  const dir = join(oep.home, 'specs');
  after(() => oep.close());

  it('an endpoint identity has a local effect now (docs/behaviour.md, "Endpoint identities"): no warning', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'endpoint.yml'), 'name: quiet\nauth_mode: key\nidentity:\n  type: system_assigned\n');
    const result = await oep.run(['validate', '-f', 'endpoint.yml'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'endpoint.yml: valid endpoint "quiet"\n');
    assert.equal(result.stderr, '');
  });

  it('validate warns once per deployment setting, in file order: app insights, egress (docker only), resources, data assets (autoscale runs locally: no warning)', async () => {
    mkdirSync(join(dir, 'code'), { recursive: true });
    writeFileSync(join(dir, 'code', 'score.py'), 'def init():\n    pass\n\ndef run(data):\n    return data\n');
    writeFileSync(
      join(dir, 'deployment.yml'),
      [
        'name: blue',
        'endpoint_name: quiet',
        'type: kubernetes',
        'code_configuration:',
        '  code: code',
        '  scoring_script: score.py',
        'environment:',
        '  image: oep-test/python:bookworm',
        'instance_type: defaultinstancetype',
        'app_insights_enabled: true',
        'egress_public_network_access: disabled',
        'scale_settings:',
        '  type: target_utilization',
        'resources:',
        '  requests:',
        '    cpu: "0.5"',
        'data_collector:',
        '  collections:',
        '    model_inputs:',
        "      enabled: 'True'",
        '      data:',
        '        name: my_inputs',
        '',
      ].join('\n'),
    );
    const result = await oep.run(['validate', '-f', 'deployment.yml'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'deployment.yml: valid deployment "blue"\n');
    assert.equal(
      result.stderr,
      [
        "warning: deployment.yml:10:1 app_insights_enabled: No local effect: nothing is sent to Application Insights; oep deployment get-logs and the daemon's metrics show what runs.",
        'warning: deployment.yml:11:1 egress_public_network_access: Enforced on the docker runtime only (an internal network without outbound access); the process runtime cannot block outbound traffic.',
        'warning: deployment.yml:14:1 resources: No local effect: replicas are not limited to these CPU, memory and GPU amounts.',
        "warning: deployment.yml:21:7 data_collector.collections.model_inputs.data: No local effect: collected data goes to the deployment's folder under OEP_HOME/data-collector (see oep deployment show), not to a data asset.",
        '',
      ].join('\n'),
    );
  });

  it('a setting left at what has an effect here gets no warning', async () => {
    writeFileSync(
      join(dir, 'plain.yml'),
      'name: plain\nendpoint_name: quiet\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\napp_insights_enabled: false\negress_public_network_access: enabled\n',
    );
    const result = await oep.run(['validate', '-f', 'plain.yml'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
  });

  it('public_network_access: disabled on an endpoint: one line at validate and at create saying only this machine reaches it (127.0.0.1); enabled: none', async () => {
    const line =
      'warning: private.yml:3:1 public_network_access: Local callers only, as for every endpoint here: the scoring URI listens on 127.0.0.1, so only this machine reaches it (there is no private endpoint to set up).\n';
    writeFileSync(join(dir, 'private.yml'), 'name: private\nauth_mode: key\npublic_network_access: disabled\n');
    writeFileSync(join(dir, 'public.yml'), 'name: public\nauth_mode: key\npublic_network_access: enabled\n');
    const validated = await oep.run(['validate', '-f', 'private.yml', '-f', 'public.yml'], { cwd: dir });
    assert.equal(validated.code, 0, validated.stderr);
    assert.equal(validated.stderr, line);
    const created = await oep.run(['endpoint', 'create', '-f', 'private.yml', '--query', 'scoring_uri', '-o', 'tsv'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, line);
    assert.match(created.stdout, /^http:\/\/127\.0\.0\.1:\d+\/score\n$/);
    const shown = await oep.ok(['endpoint', 'show', '-n', 'private', '--query', 'public_network_access', '-o', 'tsv']);
    assert.equal(shown, 'disabled\n');
  });

  it('create says it too, once, with the place in the file (here on the process runtime, which cannot block egress)', async () => {
    const endpoint = await oep.run(['endpoint', 'create', '-f', 'endpoint.yml', '-o', 'none'], { cwd: dir });
    assert.equal(endpoint.code, 0, endpoint.stderr);
    assert.equal(endpoint.stderr, '');
    writeFileSync(
      join(dir, 'closed.yml'),
      'name: closed\nendpoint_name: quiet\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\ninstance_count: 2\negress_public_network_access: disabled\n',
    );
    const result = await oep.run(['deployment', 'create', '-f', 'closed.yml', '--runtime', 'process', '-o', 'none'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stderr.split('\n').filter((line) => line.includes('egress_public_network_access')),
      ['warning: closed.yml:10:1 egress_public_network_access: Enforced on the docker runtime only (an internal network without outbound access); the process runtime cannot block outbound traffic.'],
    );
  });
});
