import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineCounter, parseDocument } from 'yaml';
import { duplicateKeys, MAX_YAML_TOKENS, parseYaml, yamlTooComplex } from '../../src/spec/yaml-source.js';

/**
 * Repeated keys (issue: YAML that hangs): the yaml library's own check compares each key with
 * every earlier one of its mapping, so 100,000 keys took minutes. oep turns it off and finds them
 * with one set per mapping; these tests hold it to the library's answers.
 */
describe('repeated keys, found in linear time with the library\'s message and place', () => {
  const CASES = [
    'a: 1\nb: 2\na: 3\n',
    'a: {x: 1, x: 2}\n',
    '{a: 1, a: 2}',
    '- a: 1\n  a: 2\n- [x: 1, x: 2]\n',
    '&k a: 1\n!!str a: 2\n',
    '"a": 1\na: 2\n\'a\': 3\n',
    '1: a\n"1": b\n1: c\n',
    '~: a\nnull: b\n',
    '.nan: 1\n.nan: 2\n',
    '? [a]\n: 1\n? [a]\n: 2\n',
    '? a\n: 1\n? a\n: 2\n',
    ': 1\n: 2\n',
    'a:\n  b: 1\n  b: 2\n  c:\n    d: 1\n    d: 2\na: 3\n',
    'x: &m {a: 1}\ny: *m\nz: {<<: *m, <<: *m}\n',
    'a: 1\n  b: 2\na: 3\n',
    'a: [1, 2\nb: 1\nb: 2\n',
    '{a: 1, b: 2, a: 3, "b": 4}',
    'a: 1 # c\n# x\na: 2\n',
    'a: |\n  x\na: >\n  y\n',
    '--- \na: 1\na: 2\n',
    '{? a : 1, ? a : 2}',
    '[a: 1, a: 2]',
    '{[a]: 1, [a]: 2}',
    'true: 1\nTrue: 2\ntrue: 3\n',
    '0x10: a\n16: b\n',
    '1.0: a\n1: b\n',
    'a: 1\nb: {c: 1, c: 2\n',
    '!!map {a: 1, a: 2}',
    'k: !foo {a: 1, a: 2}',
    'a: 1\n"\\x61": 2\n',
  ];

  it('reports exactly what the library reports, in the same order, for every kind of key', () => {
    for (const text of CASES) {
      const library = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, logLevel: 'error' });
      const ours = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, logLevel: 'error', uniqueKeys: false });
      const expected = library.errors.map((error) => `${error.pos[0]} ${error.message}`);
      const actual = [...ours.errors, ...duplicateKeys(ours)].sort((a, b) => a.pos[0] - b.pos[0]).map((error) => `${error.pos[0]} ${error.message}`);
      assert.deepEqual(actual, expected, JSON.stringify(text));
    }
  });

  it('locates a repeated key as before: FILE:LINE:COL "Map keys must be unique"', () => {
    const parsed = parseYaml('name: a\nauth_mode: key\nname: b\ntags: {x: 1, x: 2}\n');
    assert.deepEqual(parsed.errors, [
      { line: 3, col: 1, message: 'Map keys must be unique' },
      { line: 4, col: 14, message: 'Map keys must be unique' },
    ]);
  });

  it('parses 100,000 keys with one repeated (1.2 MB, over a minute with the library\'s check) and finds it', () => {
    const lines = ['environment_variables:'];
    for (let i = 0; i < 100_000; i += 1) lines.push(`  K${i}: "v"`);
    lines.push('  K77777: "again"');
    const started = performance.now();
    const parsed = parseYaml(`${lines.join('\n')}\n`);
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(parsed.errors, [{ line: 100_002, col: 3, message: 'Map keys must be unique' }]);
    // The figure (docs/reliability.md); the node:test timeout bounds it, no timed assertion here.
    console.log(`# 100,000 keys parsed and checked in ${seconds.toFixed(2)} s`);
  });
});

describe('a YAML too large to parse in a few seconds', () => {
  it('is told by its token count, which stops at the limit', () => {
    assert.equal(yamlTooComplex('name: blue\nendpoint_name: ep\n'), undefined);
    assert.match(yamlTooComplex(`tags:\n${'  k: v\n'.repeat(MAX_YAML_TOKENS)}`) ?? '', /^has more than 200,000 YAML tokens; oep validates YAML files of up to 200,000 /);
    // A long value is one token, however long.
    assert.equal(yamlTooComplex(`description: "${'a'.repeat(5_000_000)}"\n`), undefined);
  });
});
