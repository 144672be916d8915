import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskEnvironment, maskValue } from '../../src/runtimes/prepared-log.js';
import { PLANT, PLANTED } from '../faults/planted-secrets.js';

// The planted forms and what the storage-initializer log shows of each: test/faults/planted-secrets.ts.
describe('the storage-initializer log masks every planted secret form', () => {
  it('masks each of the 21 forms, and shows what is not secret as it is', () => {
    assert.equal(PLANTED.length, 21);
    const shown = maskEnvironment(Object.fromEntries(PLANTED.map(([name, value]) => [name, value])));
    for (const [name, , expected] of PLANTED) assert.equal(shown[name], expected, name);
    assert.doesNotMatch(JSON.stringify(shown), new RegExp(PLANT));
  });

  it('masks the other shapes of the four forms', () => {
    const rows: [string, string][] = [
      ['{"apiKey":"abc","name":"n"}', '{"apiKey":"***","name":"n"}'],
      ['{"client_secret": 12345}', '{"client_secret": "***"}'],
      ['{"auth": {"token": "t"}}', '{"auth": {"token": "***"}}'],
      ['python -m app -token abc', 'python -m app -token ***'],
      ['--client-secret\tabc', '--client-secret\t***'],
      ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic ***'],
      ['bearer eyJhbGciOi.eyJzdWIi.sig-_x', 'bearer ***'],
      ['https://discord.com/api/webhooks/123/abcDEF', 'https://discord.com/api/webhooks/***'],
      ['https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d', 'https://contoso.webhook.office.com/***'],
      ['https://example.com/hooks/abc?x=1', 'https://example.com/hooks/***'],
    ];
    for (const [value, expected] of rows) assert.equal(maskValue(value), expected, value);
  });

  it('leaves values with nothing secret alone', () => {
    for (const value of ['http://host:8080/path?x=1', '{"user": "app", "port": 5432}', '--retries 3 --verbose', 'https://example.com/docs/hooks', '/var/azureml-app/model', 'a=b;c=d', 'Bearer'])
      assert.equal(maskValue(value), value, value);
  });
});
