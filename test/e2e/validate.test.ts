import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatProblem, loadAnySpec } from '../../src/spec/index.js';
import { example, OepSandbox, REPO_ROOT } from './harness.js';

const INVALID = join(REPO_ROOT, 'test', 'fixtures', 'spec', 'invalid');

describe('oep validate and create on invalid YAML', () => {
  const oep = new OepSandbox();
  after(() => oep.close());

  for (const name of readdirSync(INVALID).filter((file) => file.endsWith('.yml')).sort()) {
    it(`${name}: exit 2, every problem as FILE:LINE:COL key: message, no stack trace`, async () => {
      const file = relative(REPO_ROOT, join(INVALID, name));
      // validate treats a name that -n/-e can give as a warning (scripts give it at create).
      const expected = await loadAnySpec({ file, cwd: REPO_ROOT, placeholders: 'warn' });
      const strict = await loadAnySpec({ file, cwd: REPO_ROOT });
      assert.ok(strict.errors.length > 0, 'the fixture is invalid');
      const result = await oep.run(['validate', '-f', file]);
      if (expected.errors.length === 0) {
        // Only the name is missing: a warning at validate, an error at create.
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /^warning: .* is not in the file; give it with -[ne]\//);
        const kind = expected.value?.kind;
        const create = await oep.run([kind === 'deployment' ? 'deployment' : 'endpoint', 'create', '-f', file]);
        assert.equal(create.code, 2);
        assert.match(create.stderr, /Missing required field/);
        return;
      }
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      for (const problem of expected.errors) {
        const lines = formatProblem(problem).split('\n').map((line) => `  ${line}`);
        assert.ok(result.stderr.includes(lines.join('\n')), `missing:\n${lines.join('\n')}\nin:\n${result.stderr}`);
      }
      assert.match(result.stderr, /\(OEP_ERR_SPEC_INVALID\)\n$/);
      assert.doesNotMatch(result.stderr, /    at /);
    });
  }

  it('a model reference that is not in the local registry: a warning, then exit 2 on create', async () => {
    const dir = join(oep.home, 'ref');
    mkdirSync(dir);
    writeFileSync(join(dir, 'score.py'), 'def init():\n    pass\n\ndef run(data):\n    return data\n');
    writeFileSync(
      join(dir, 'deployment.yml'),
      'name: refdep\nendpoint_name: quickstart\nmodel: azureml:my-model:1\ncode_configuration:\n  code: .\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\n',
    );
    const message =
      'model: "azureml:my-model:1": Model my-model:1 is not registered in oep\'s local registry. ' +
      'Register the model files you have: oep model create --name my-model --version 1 --path ./model';
    const validated = await oep.run(['validate', '-f', 'deployment.yml'], { cwd: dir });
    assert.equal(validated.code, 0);
    assert.ok(validated.stderr.includes(`warning: deployment.yml: ${message}`), validated.stderr);
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    const created = await oep.run(['deployment', 'create', '-f', 'deployment.yml', '--runtime', 'process'], { cwd: dir });
    assert.equal(created.code, 2);
    assert.ok(created.stderr.includes(`error: Deployment refdep cannot run on this machine.\n  deployment.yml: ${message}`), created.stderr);
    assert.equal(await oep.ok(['deployment', 'list', '-e', 'quickstart']), '[]\n');
    await oep.ok(['endpoint', 'delete', '-n', 'quickstart', '--yes']);
  });

  it('a bad file among good ones: validate lists every problem; create changes nothing', async () => {
    const bad = relative(REPO_ROOT, join(INVALID, 'endpoint-unknown-key.yml'));
    const result = await oep.run(['validate', '-f', example('quickstart', 'endpoint.yml'), '-f', bad]);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /endpoint\.yml: valid endpoint "quickstart"/);
    const create = await oep.run(['endpoint', 'create', '-f', bad]);
    assert.equal(create.code, 2);
    assert.equal(await oep.ok(['endpoint', 'list']), '[]\n');
  });
});
