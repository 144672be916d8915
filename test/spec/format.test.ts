import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OepError } from '../../src/errors.js';
import { checkResourceName, formatProblem, loadAnySpec, unwrapSpec } from '../../src/spec/index.js';
import { suggestNearest } from '../../src/spec/suggest.js';
import { FIXTURES, ROOT, withTree } from './support.js';

test('formatProblem: FILE:LINE:COL key.path: message, then the hint', () => {
  assert.equal(
    formatProblem({ file: 'ep.yml', line: 3, col: 1, path: 'trafic', message: 'Unknown field.', hint: 'did you mean "traffic"?' }),
    'ep.yml:3:1 trafic: Unknown field.\n  hint: did you mean "traffic"?',
  );
  assert.equal(formatProblem({ file: 'ep.yml', line: 4, col: 1, path: '', message: 'YAML syntax: x.' }), 'ep.yml:4:1: YAML syntax: x.');
  assert.equal(formatProblem({ file: 'stored', line: 0, col: 0, path: 'name', message: 'Bad.' }), 'stored name: Bad.');
});

test('unwrapSpec returns the value or throws OEP_ERR_SPEC_INVALID with every problem', () => {
  assert.equal(unwrapSpec({ value: 1, warnings: [], errors: [] }), 1);
  const errors = [
    { file: 'd.yml', line: 1, col: 7, path: 'name', message: 'A.' },
    { file: 'd.yml', line: 2, col: 1, path: 'x', message: 'Unknown field.', hint: 'did you mean "y"?' },
  ];
  assert.throws(
    () => unwrapSpec({ warnings: [], errors }),
    (error: unknown) => {
      assert.ok(error instanceof OepError);
      assert.equal(error.code, 'OEP_ERR_SPEC_INVALID');
      assert.equal(error.message, 'd.yml: 2 problems found');
      assert.deepEqual(error.details, ['d.yml:1:7 name: A.', 'd.yml:2:1 x: Unknown field.\n  hint: did you mean "y"?']);
      return true;
    },
  );
  assert.throws(() => unwrapSpec({ warnings: [], errors: errors.slice(0, 1) }), { message: 'd.yml: 1 problem found' });
});

test('loadAnySpec tells deployments from endpoints by their keys', async () => {
  const endpoint = await loadAnySpec({ file: `${FIXTURES}/valid/endpoint.yml`, cwd: ROOT });
  assert.equal(endpoint.value?.kind, 'endpoint');
  const deployment = await loadAnySpec({ file: `${FIXTURES}/valid/deployment.yml`, cwd: ROOT });
  assert.equal(deployment.value?.kind, 'deployment');
  await withTree({ 'd.yml': 'name: blue\nendpoint_name: my-endpoint\n' }, async (dir) => {
    const result = await loadAnySpec({ file: 'd.yml', cwd: dir });
    assert.deepEqual(
      result.errors.map((p) => p.path),
      ['instance_type'],
      'validated as a deployment',
    );
  });
});

test('resource names: 3-32 characters, a letter first, no trailing hyphen', () => {
  assert.equal(checkResourceName('my-endpoint-1'), undefined);
  assert.equal(checkResourceName('a'.repeat(32)), undefined);
  assert.equal(checkResourceName('a'.repeat(33)), 'Invalid name "' + 'a'.repeat(33) + '": use 3-32 characters, not 33.');
  assert.match(checkResourceName('my_endpoint') ?? '', /use only letters, digits and hyphens/);
});

test('suggestions catch typos and spelling styles, not unrelated words', () => {
  assert.equal(suggestNearest('enviroment', ['environment', 'endpoint_name']), 'environment');
  assert.equal(suggestNearest('instanceCount', ['instance_count', 'instance_type']), 'instance_count');
  assert.equal(suggestNearest('instance-type', ['instance_count', 'instance_type']), 'instance_type');
  assert.equal(suggestNearest('colour', ['name', 'traffic']), undefined);
});
