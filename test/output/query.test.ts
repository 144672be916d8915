import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { OepError } from '../../src/errors.js';
import { applyQuery, renderOutput } from '../../src/cli/output/index.js';
import { ENDPOINT, ENDPOINTS, KEYS } from './fixtures.js';
import { lines } from './helpers.js';

// Expected strings come from the Azure CLI's formatters (test/output/oracle/knack_oracle.py).

describe('applyQuery', () => {
  it('returns the data unchanged without a query', () => {
    assert.deepEqual(applyQuery(ENDPOINT, undefined), ENDPOINT);
  });

  it('runs JMESPath', () => {
    assert.equal(applyQuery(ENDPOINT, 'scoring_uri'), 'http://localhost:8080/score');
    assert.deepEqual(applyQuery(ENDPOINT, 'traffic'), { green: 10, blue: 90 });
    assert.deepEqual(applyQuery(ENDPOINTS, '[].name'), ['my-endpoint', 'other']);
    assert.deepEqual(applyQuery(ENDPOINTS, "[?provisioning_state=='Succeeded'].name"), ['my-endpoint']);
    assert.equal(applyQuery(ENDPOINTS, 'length(@)'), 2);
    assert.equal(applyQuery(ENDPOINT, 'no_such_key'), null);
  });

  for (const bad of ['[', 'traffic.', '{a: }', '', 'no_such_function(@)', 'length(traffic.blue)']) {
    it(`rejects ${JSON.stringify(bad)} with OEP_ERR_QUERY_INVALID`, () => {
      assert.throws(
        () => applyQuery(ENDPOINT, bad),
        (err: unknown) => {
          assert.ok(err instanceof OepError);
          assert.equal(err.code, 'OEP_ERR_QUERY_INVALID');
          assert.equal(err.exitCode, 2);
          assert.match(err.message, /invalid JMESPath query/);
          assert.ok(err.hint);
          return true;
        },
      );
    });
  }

  it('fails renderOutput on a bad query whatever the format, none included', () => {
    for (const format of ['json', 'yaml', 'table', 'tsv', 'none'] as const) {
      assert.throws(() => renderOutput(ENDPOINT, { format, query: '[' }), { code: 'OEP_ERR_QUERY_INVALID' });
    }
  });
});

describe('--query with -o tsv (what scripts rely on)', () => {
  it('prints the bare scoring URI', () => {
    assert.equal(renderOutput(ENDPOINT, { format: 'tsv', query: 'scoring_uri' }), 'http://localhost:8080/score\n');
  });

  it('prints the bare primary key', () => {
    assert.equal(renderOutput(KEYS, { format: 'tsv', query: 'primaryKey' }), 'pK3y+/abc==\n');
  });

  it('prints the values of the traffic map in sorted key order', () => {
    assert.equal(renderOutput(ENDPOINT, { format: 'tsv', query: 'traffic' }), '90\t10\n');
    assert.equal(renderOutput(ENDPOINT, { format: 'tsv', query: 'traffic.blue' }), '90\n');
  });

  it('keeps the order of a multi-select hash the query built', () => {
    assert.equal(
      renderOutput(ENDPOINT, { format: 'tsv', query: '{uri: scoring_uri, state: provisioning_state, blue: traffic.blue}' }),
      'http://localhost:8080/score\tSucceeded\t90\n',
    );
  });

  it('prints a list result one item per line, and a list of lists as rows', () => {
    assert.equal(renderOutput(ENDPOINTS, { format: 'tsv', query: '[].name' }), 'my-endpoint\nother\n');
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'tsv', query: '[].[name, provisioning_state, traffic]' }),
      'my-endpoint\tSucceeded\t\nother\tCreating\t\n',
    );
  });

  it('prints a bare boolean lower-case, and None for null inside a row', () => {
    assert.equal(renderOutput(ENDPOINT, { format: 'tsv', query: "public_network_access=='enabled'" }), 'true\n');
    assert.equal(renderOutput(ENDPOINTS, { format: 'tsv', query: '[0].identity' }), 'None\tsystem_assigned\n');
  });

  it('prints nothing when the query finds nothing', () => {
    assert.equal(renderOutput(ENDPOINT, { format: 'tsv', query: 'openapi_uri' }), '');
    assert.equal(renderOutput(ENDPOINT, { format: 'tsv', query: 'no_such_key' }), '');
    assert.equal(renderOutput(ENDPOINTS, { format: 'tsv', query: "[?name=='nope']" }), '');
  });
});

describe('--query with the other formats', () => {
  it('json: a string result is a JSON string, a map is sorted', () => {
    assert.equal(renderOutput(ENDPOINT, { format: 'json', query: 'scoring_uri' }), '"http://localhost:8080/score"\n');
    assert.equal(renderOutput(ENDPOINT, { format: 'json', query: 'traffic' }), lines('{', '  "blue": 90,', '  "green": 10', '}'));
    assert.equal(renderOutput(ENDPOINTS, { format: 'json', query: "[?name=='nope']" }), '[]\n');
    assert.equal(renderOutput(ENDPOINT, { format: 'json', query: 'openapi_uri' }), '');
  });

  it('yaml: a bare scalar ends the document with "..."', () => {
    assert.equal(renderOutput(ENDPOINT, { format: 'yaml', query: 'scoring_uri' }), 'http://localhost:8080/score\n...\n');
    assert.equal(renderOutput(ENDPOINTS, { format: 'yaml', query: 'length(@)' }), '2\n...\n');
    assert.equal(renderOutput(ENDPOINT, { format: 'yaml', query: 'traffic' }), 'blue: 90\ngreen: 10\n');
  });

  it('table: a scalar is a Result column', () => {
    assert.equal(
      renderOutput(ENDPOINT, { format: 'table', query: 'scoring_uri' }),
      lines('Result', '---------------------------', 'http://localhost:8080/score'),
    );
    assert.equal(renderOutput(ENDPOINTS, { format: 'table', query: '[].name' }), lines('Result', '-----------', 'my-endpoint', 'other'));
  });

  it('table: keys keep their order under a query instead of being sorted', () => {
    // ENDPOINT.traffic is {green, blue}: without a query the columns would be Blue, Green.
    assert.equal(renderOutput(ENDPOINT, { format: 'table', query: 'traffic' }), lines('Green    Blue', '-------  ------', '10       90'));
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'table', query: '[].{Name: name, State: provisioning_state, Traffic: traffic, Auth: auth_mode}' }),
      lines('Name         State      Auth', '-----------  ---------  ---------', 'my-endpoint  Succeeded  key', 'other        Creating   aml_token'),
    );
  });

  it('table: a list of lists gets Column1, Column2, ...', () => {
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'table', query: '[].[name, provisioning_state]' }),
      lines('Column1      Column2', '-----------  ---------', 'my-endpoint  Succeeded', 'other        Creating'),
    );
  });

  it('table: an empty list is a blank line', () => {
    assert.equal(renderOutput(ENDPOINTS, { format: 'table', query: "[?name=='nope']" }), '\n');
  });
});
