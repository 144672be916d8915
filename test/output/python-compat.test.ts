import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderOutput } from '../../src/cli/output/index.js';
import { pyFloatRepr, pyRepr } from '../../src/cli/output/py.js';
import { lines } from './helpers.js';

// The corners where PyYAML, tabulate and knack differ from what a JavaScript library would do.
// Expected strings come from the real formatters (test/output/oracle/knack_oracle.py).

describe('yaml like PyYAML safe_dump', () => {
  it('quotes strings YAML 1.1 would read as something else, and only those', () => {
    const data = {
      when: '2024-05-01',
      flag: 'yes',
      version: '1.10',
      octal: '012',
      empty: '',
      tilde: '~',
      colon: 'a: b',
      hash: 'a #b',
      dash: '- x',
      quote: "it's",
      multi: 'line one\nline two',
      tab: 'a\tb',
      uni: 'café ☕',
      sci: [0.00001, 1e21, 0.5, -2.25, 1e-7],
    };
    assert.equal(
      renderOutput(data, { format: 'yaml' }),
      lines(
        "colon: 'a: b'",
        "dash: '- x'",
        "empty: ''",
        "flag: 'yes'",
        "hash: 'a #b'",
        "multi: 'line one",
        '',
        "  line two'",
        "octal: '012'",
        "quote: it's",
        'sci:',
        '- 1.0e-05',
        '- 1.0e+21',
        '- 0.5',
        '- -2.25',
        '- 1.0e-07',
        'tab: "a\\tb"',
        "tilde: '~'",
        'uni: café ☕',
        "version: '1.10'",
        "when: '2024-05-01'",
      ),
    );
  });

  it('folds long plain scalars past column 80', () => {
    const k = 'It was a long long long time ago, in a galaxy far far away, where nobody went at all. Really.';
    assert.equal(
      renderOutput({ k }, { format: 'yaml' }),
      lines('k: It was a long long long time ago, in a galaxy far far away, where nobody went at', '  all. Really.'),
    );
  });

  it('ends a bare plain scalar with "..." but not a quoted one', () => {
    const s = 'It was a long long long time ago, in a galaxy far far away, where nobody went at all.';
    assert.equal(renderOutput(s, { format: 'yaml' }), lines(s, '...'));
    assert.equal(renderOutput('', { format: 'yaml' }), "''\n");
    assert.equal(renderOutput(true, { format: 'yaml' }), 'true\n...\n');
  });

  it('nests sequences the PyYAML way', () => {
    assert.equal(
      renderOutput([[1, 2], [], [{ a: [3] }]], { format: 'yaml' }),
      lines('- - 1', '  - 2', '- []', '- - a:', '    - 3'),
    );
  });

  it('writes keys of 123 characters and more as complex keys', () => {
    const short = 'k'.repeat(122);
    const long = 'k'.repeat(123);
    assert.equal(renderOutput({ [short]: 1 }, { format: 'yaml' }), `${short}: 1\n`);
    assert.equal(renderOutput({ [long]: 1 }, { format: 'yaml' }), `? ${long}\n: 1\n`);
  });
});

describe('tsv like knack', () => {
  it('prints list items as rows: bools as true/false, null as None, lists as lengths', () => {
    assert.equal(
      renderOutput([true, false, null, 1.5, 0.00001, 'x\ty', [1, 2], { a: 1 }], { format: 'tsv' }),
      lines('true', 'false', 'None', '1.5', '1e-05', 'x\ty', '1\t2', '1'),
    );
  });

  it('prints booleans inside a row as True/False', () => {
    assert.equal(renderOutput({ b: true, a: false, c: null, d: 0.1 }, { format: 'tsv' }), 'False\tTrue\tNone\t0.1\n');
  });
});

describe('table like knack + tabulate', () => {
  it('takes the union of columns in order of appearance and leaves out id/type/etag, nested and null values', () => {
    const data = [
      { name: 'a', id: 'x', type: 't', etag: 'e', ok: true, n: 3, nested: { a: 1 }, list: [1], none: null },
      { extra: 'late', name: 'bb' },
    ];
    assert.equal(
      renderOutput(data, { format: 'table' }),
      lines('N    Name    Ok    Extra', '---  ------  ----  -------', '3    a       True', '     bb            late'),
    );
  });

  it('prints list items as Column1..N with Python str() of each cell', () => {
    assert.equal(
      renderOutput([['x', null, true, { k: 'v' }, [1, "it's"]]], { format: 'table' }),
      lines(
        'Column1    Column2    Column3    Column4     Column5',
        '---------  ---------  ---------  ----------  -----------',
        `x                     True       {'k': 'v'}  [1, "it's"]`,
      ),
    );
  });

  it('spreads multi-line cells over several lines', () => {
    assert.equal(
      renderOutput([{ name: 'two\nlines', x: 'y' }, { name: 'one', x: 'a\nb\nc' }], { format: 'table' }),
      lines('Name    X', '------  ---', 'two     y', 'lines', 'one     a', '        b', '        c'),
    );
  });

  it('prints a blank line when there is nothing to tabulate', () => {
    assert.equal(renderOutput([{}], { format: 'table' }), '\n');
    assert.equal(renderOutput([null], { format: 'table' }), lines('Result', '--------', ''));
  });
});

describe('Python number and repr formatting', () => {
  it('writes floats as repr() does', () => {
    const cases: [number, string][] = [
      [0.5, '0.5'],
      [0.1, '0.1'],
      [1234.5, '1234.5'],
      [0.0001, '0.0001'],
      [0.00012, '0.00012'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [2 ** 53, '9007199254740992.0'],
      [1e16, '1e+16'],
      [1e21, '1e+21'],
      [1.2345e100, '1.2345e+100'],
      [-2.25, '-2.25'],
    ];
    for (const [x, want] of cases) assert.equal(pyFloatRepr(x), want, String(x));
  });

  it('writes repr() of JSON-like values', () => {
    assert.equal(pyRepr({ a: [1, null, true], b: "it's", c: 'say "hi"', d: 'both \' "' }), `{'a': [1, None, True], 'b': "it's", 'c': 'say "hi"', 'd': 'both \\' "'}`);
  });
});
