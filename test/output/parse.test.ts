import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { OepError } from '../../src/errors.js';
import { OUTPUT_FORMATS, parseOutputFormat, renderOutput, type OutputFormat } from '../../src/cli/output/index.js';

describe('parseOutputFormat', () => {
  it('lists the five formats', () => {
    assert.deepEqual([...OUTPUT_FORMATS], ['json', 'yaml', 'table', 'tsv', 'none']);
  });

  it('accepts each format, case-insensitively like az', () => {
    for (const format of OUTPUT_FORMATS) {
      assert.equal(parseOutputFormat(format), format);
      assert.equal(parseOutputFormat(format.toUpperCase()), format);
    }
  });

  for (const bad of ['xml', '', 'jsonc', 'yamlc', 'csv', ' json']) {
    it(`rejects ${JSON.stringify(bad)} with OEP_ERR_USAGE listing the allowed values`, () => {
      assert.throws(
        () => parseOutputFormat(bad),
        (err: unknown) => {
          assert.ok(err instanceof OepError);
          assert.equal(err.code, 'OEP_ERR_USAGE');
          assert.equal(err.exitCode, 2);
          assert.equal(
            err.message,
            `argument --output/-o: invalid choice: '${bad}' (choose from 'json', 'yaml', 'table', 'tsv', 'none')`,
          );
          assert.equal(err.hint, 'Use one of: json, yaml, table, tsv, none.');
          return true;
        },
      );
    });
  }

  it('renderOutput refuses a format that bypassed the parser', () => {
    assert.throws(() => renderOutput({}, { format: 'xml' as OutputFormat }), { code: 'OEP_ERR_USAGE' });
  });
});
