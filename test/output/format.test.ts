import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderOutput } from '../../src/cli/output/index.js';
import { ENDPOINT, ENDPOINTS } from './fixtures.js';
import { lines } from './helpers.js';

// Every expected string below is what the Azure CLI's own formatters print for the same value
// (see test/output/oracle/knack_oracle.py).

const ID = '/subscriptions/0000/resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints';

describe('-o json', () => {
  it('sorts keys recursively and indents by two spaces', () => {
    assert.equal(
      renderOutput(ENDPOINT, { format: 'json' }),
      lines(
        '{',
        '  "auth_mode": "key",',
        '  "description": "Local endpoint: demo",',
        `  "id": "${ID}/my-endpoint",`,
        '  "identity": {',
        '    "principal_id": null,',
        '    "type": "system_assigned"',
        '  },',
        '  "kind": "Managed",',
        '  "mirror_traffic": {},',
        '  "name": "my-endpoint",',
        '  "openapi_uri": null,',
        '  "provisioning_state": "Succeeded",',
        '  "public_network_access": "enabled",',
        '  "scoring_uri": "http://localhost:8080/score",',
        '  "tags": {',
        '    "cost-center": "42",',
        '    "team": "ml"',
        '  },',
        '  "traffic": {',
        '    "blue": 90,',
        '    "green": 10',
        '  }',
        '}',
      ),
    );
  });

  it('prints a list of two', () => {
    const out = renderOutput(ENDPOINTS, { format: 'json' });
    assert.ok(out.startsWith('[\n  {\n    "auth_mode": "key",\n'));
    assert.ok(out.includes('\n  },\n  {\n    "auth_mode": "aml_token",\n    "description": null,\n'));
    assert.ok(out.endsWith('\n    "tags": {},\n    "traffic": {}\n  }\n]\n'));
    assert.deepEqual(JSON.parse(out), ENDPOINTS);
  });

  it('writes non-ASCII as is, escapes controls, and writes floats as Python does', () => {
    assert.equal(
      renderOutput({ uni: 'café ☕', ctl: 'a\u0001b', n: [0.00001, 1e21, 0.1, 3] }, { format: 'json' }),
      lines('{', '  "ctl": "a\\u0001b",', '  "n": [', '    1e-05,', '    1e+21,', '    0.1,', '    3', '  ],', '  "uni": "café ☕"', '}'),
    );
  });
});

describe('-o yaml', () => {
  it('dumps block style with sorted keys, quoting what YAML would misread', () => {
    assert.equal(
      renderOutput(ENDPOINT, { format: 'yaml' }),
      lines(
        'auth_mode: key',
        "description: 'Local endpoint: demo'",
        `id: ${ID}/my-endpoint`,
        'identity:',
        '  principal_id: null',
        '  type: system_assigned',
        'kind: Managed',
        'mirror_traffic: {}',
        'name: my-endpoint',
        'openapi_uri: null',
        'provisioning_state: Succeeded',
        'public_network_access: enabled',
        'scoring_uri: http://localhost:8080/score',
        'tags:',
        "  cost-center: '42'",
        '  team: ml',
        'traffic:',
        '  blue: 90',
        '  green: 10',
      ),
    );
  });

  it('prints a list of two as a block sequence', () => {
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'yaml' }),
      lines(
        '- auth_mode: key',
        "  description: 'Local endpoint: demo'",
        `  id: ${ID}/my-endpoint`,
        '  identity:',
        '    principal_id: null',
        '    type: system_assigned',
        '  kind: Managed',
        '  mirror_traffic: {}',
        '  name: my-endpoint',
        '  openapi_uri: null',
        '  provisioning_state: Succeeded',
        '  public_network_access: enabled',
        '  scoring_uri: http://localhost:8080/score',
        '  tags:',
        "    cost-center: '42'",
        '    team: ml',
        '  traffic:',
        '    blue: 90',
        '    green: 10',
        '- auth_mode: aml_token',
        '  description: null',
        `  id: ${ID}/other`,
        '  identity:',
        '    principal_id: null',
        '    type: none',
        '  kind: Managed',
        '  mirror_traffic: {}',
        '  name: other',
        '  openapi_uri: null',
        '  provisioning_state: Creating',
        '  public_network_access: disabled',
        '  scoring_uri: http://localhost:8081/score',
        '  tags: {}',
        '  traffic: {}',
      ),
    );
  });
});

describe('-o table', () => {
  it('makes a one-row table of a dict: scalar fields only, sorted, id/type/etag left out', () => {
    assert.equal(
      renderOutput(ENDPOINT, { format: 'table' }),
      lines(
        'Auth_mode    Description           Kind     Name         Provisioning_state    Public_network_access    Scoring_uri',
        '-----------  --------------------  -------  -----------  --------------------  -----------------------  ---------------------------',
        'key          Local endpoint: demo  Managed  my-endpoint  Succeeded             enabled                  http://localhost:8080/score',
      ),
    );
  });

  it('makes a row per item of a list; null cells are empty', () => {
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'table' }),
      lines(
        'Auth_mode    Description           Kind     Name         Provisioning_state    Public_network_access    Scoring_uri',
        '-----------  --------------------  -------  -----------  --------------------  -----------------------  ---------------------------',
        'key          Local endpoint: demo  Managed  my-endpoint  Succeeded             enabled                  http://localhost:8080/score',
        'aml_token                          Managed  other        Creating              disabled                 http://localhost:8081/score',
      ),
    );
  });

  it('uses the given columns, in order', () => {
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'table', columns: ['name', 'provisioning_state', 'scoring_uri', 'description'] }),
      lines(
        'Name         Provisioning_state    Scoring_uri                  Description',
        '-----------  --------------------  ---------------------------  --------------------',
        'my-endpoint  Succeeded             http://localhost:8080/score  Local endpoint: demo',
        'other        Creating              http://localhost:8081/score',
      ),
    );
  });

  it('lets a query decide the columns, as az ignores a table transformer under --query', () => {
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'table', query: '[].{Name: name, Auth: auth_mode}', columns: ['scoring_uri'] }),
      lines('Name         Auth', '-----------  ---------', 'my-endpoint  key', 'other        aml_token'),
    );
  });
});

describe('-o tsv', () => {
  it('prints the scalar values of a dict in sorted key order: nested dicts empty, null as None', () => {
    assert.equal(
      renderOutput(ENDPOINT, { format: 'tsv' }),
      lines(
        ['key', 'Local endpoint: demo', `${ID}/my-endpoint`, '', 'Managed', '', 'my-endpoint', 'None', 'Succeeded', 'enabled',
          'http://localhost:8080/score', '', ''].join('\t'),
      ),
    );
  });

  it('prints one row per item of a list', () => {
    assert.equal(
      renderOutput(ENDPOINTS, { format: 'tsv' }),
      lines(
        ['key', 'Local endpoint: demo', `${ID}/my-endpoint`, '', 'Managed', '', 'my-endpoint', 'None', 'Succeeded', 'enabled',
          'http://localhost:8080/score', '', ''].join('\t'),
        ['aml_token', 'None', `${ID}/other`, '', 'Managed', '', 'other', 'None', 'Creating', 'disabled',
          'http://localhost:8081/score', '', ''].join('\t'),
      ),
    );
  });
});

describe('-o none and empty results', () => {
  it('prints nothing for none', () => {
    assert.equal(renderOutput(ENDPOINTS, { format: 'none' }), '');
  });

  it('prints nothing at all for undefined or null, whatever the format', () => {
    for (const format of ['json', 'yaml', 'table', 'tsv', 'none'] as const) {
      assert.equal(renderOutput(undefined, { format }), '', format);
      assert.equal(renderOutput(null, { format }), '', format);
    }
  });

  it('prints an empty list as az does', () => {
    assert.equal(renderOutput([], { format: 'json' }), '[]\n');
    assert.equal(renderOutput([], { format: 'yaml' }), '[]\n');
    assert.equal(renderOutput([], { format: 'table' }), '\n');
    assert.equal(renderOutput([], { format: 'tsv' }), '');
  });

  it('brings results to JSON first: dates become strings, undefined members go', () => {
    const out = renderOutput({ at: new Date('2024-05-01T10:00:00.000Z'), gone: undefined, list: [undefined] }, { format: 'json' });
    assert.equal(out, lines('{', '  "at": "2024-05-01T10:00:00.000Z",', '  "list": [', '    null', '  ]', '}'));
  });
});
