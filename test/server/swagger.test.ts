import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { assertHeaders, FIXTURES, generatedIds, ScoringServer, stopAllServers, type HttpResult } from './harness.js';

function assertJson404(res: HttpResult, body: string): void {
  assert.equal(res.status, 404);
  assert.equal(res.text, body);
  assertHeaders(res, {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'x-ms-run-function-failed': 'False',
    ...generatedIds(),
  });
}

function assertSwagger(res: HttpResult): unknown {
  assert.equal(res.status, 200);
  assertHeaders(res, {
    'content-type': 'application/json',
    'content-length': String(res.body.length),
    'x-ms-run-function-failed': 'False',
    ...generatedIds(),
  });
  return JSON.parse(res.text);
}

describe('oep-server GET /swagger.json', () => {
  afterEach(stopAllServers);

  it('serves swagger2.json / swagger3.json from the app root by version (2 by default), generating the others', async () => {
    const server = await ScoringServer.start({ fixture: 'swagger' });
    const v2 = JSON.parse(readFileSync(join(FIXTURES, 'swagger', 'swagger2.json'), 'utf8'));
    const v3 = JSON.parse(readFileSync(join(FIXTURES, 'swagger', 'swagger3.json'), 'utf8'));
    assert.deepEqual(assertSwagger(await server.request({ path: '/swagger.json' })), v2);
    assert.deepEqual(assertSwagger(await server.request({ path: '/swagger.json?version=2' })), v2);
    assert.deepEqual(assertSwagger(await server.request({ path: '/swagger.json?version=2.0' })), v2);
    assert.deepEqual(assertSwagger(await server.request({ path: '/swagger.json?version=3' })), v3);
    assert.deepEqual(assertSwagger(await server.request({ path: '/swagger.json?version=3.0' })), v3);
    // no swagger3.1.json: generated, as for a script without decorators
    const v31 = assertSwagger(await server.request({ path: '/swagger.json?version=3.1' })) as { openapi: string };
    assert.equal(v31.openapi, '3.1.0');
    assertJson404(
      await server.request({ path: '/swagger.json?version=9' }),
      '{"message": "Swagger version [9] is not valid. Supported versions: [2, 3, 3.1]."}',
    );
  });

  it('generates the generic swagger documents for a script without decorators, with no third-party package', async () => {
    // plain imports nothing but the standard library, and inference-schema is not installed: as
    // azmlinfsrv (which always has it) does, every version is served with empty object schemas.
    const server = await ScoringServer.start({ fixture: 'plain' });
    const empty = { type: 'object', example: {} };
    for (const query of ['', '?version=2', '?version=2.0']) {
      const v2 = assertSwagger(await server.request({ path: `/swagger.json${query}` })) as {
        swagger: string;
        info: unknown;
        paths: Record<string, unknown>;
        definitions: Record<string, unknown>;
      };
      assert.equal(v2.swagger, '2.0', query);
      assert.deepEqual(v2.info, {
        title: 'ML service',
        description: 'API specification for the Azure Machine Learning service ML service',
        version: '1.0',
      });
      assert.deepEqual(Object.keys(v2.paths), ['/', '/score', '/swagger.json']);
      assert.deepEqual(v2.definitions, {
        ServiceInput: empty,
        ServiceOutput: empty,
        ErrorResponse: { type: 'object', properties: { message: { type: 'string' } } },
      });
    }
    for (const [query, openapi] of [
      ['?version=3', '3.0.3'],
      ['?version=3.0', '3.0.3'],
      ['?version=3.1', '3.1.0'],
    ]) {
      const v3 = assertSwagger(await server.request({ path: `/swagger.json${query}` })) as {
        openapi: string;
        paths: Record<string, unknown>;
        components: { schemas: Record<string, unknown> };
      };
      assert.equal(v3.openapi, openapi, query);
      assert.deepEqual(Object.keys(v3.paths), ['/', '/score', '/swagger.json']);
      assert.deepEqual(v3.components.schemas.ServiceInput, empty);
      assert.deepEqual(v3.components.schemas.ServiceOutput, empty);
    }
    assertJson404(
      await server.request({ path: '/swagger.json?version=9' }),
      '{"message": "Swagger version [9] is not valid. Supported versions: [2, 3, 3.1]."}',
    );
  });

  it('generates swaggers from inference-schema decorators', async () => {
    const server = await ScoringServer.start({ fixture: 'schema' });
    assertJson404(
      await server.request({ path: '/swagger.json' }),
      '{"message": "Swagger version [2] is not supported for the scoring script. Supported swagger versions: [3, 3.1]."}',
    );
    const v3 = assertSwagger(await server.request({ path: '/swagger.json?version=3' })) as {
      openapi: string;
      info: unknown;
      components: { schemas: Record<string, unknown> };
      paths: Record<string, unknown>;
    };
    assert.equal(v3.openapi, '3.0.3');
    assert.deepEqual(v3.info, {
      title: 'ML service',
      description: 'API specification for the Azure Machine Learning service ML service',
      version: '1.0',
    });
    assert.deepEqual(Object.keys(v3.paths), ['/', '/score', '/swagger.json']);
    assert.deepEqual(v3.components.schemas.ServiceInput, {
      type: 'object',
      properties: { scale: { type: 'number', example: 2.0 }, data: { type: 'array', example: [1, 'a'] } },
    });
    assert.deepEqual(v3.components.schemas.ServiceOutput, { type: 'object', example: { total: 3.0 } });
    const v31 = assertSwagger(await server.request({ path: '/swagger.json?version=3.1' })) as { openapi: string };
    assert.equal(v31.openapi, '3.1.0');
    assertJson404(
      await server.request({ path: '/swagger.json?version=9' }),
      '{"message": "Swagger version [9] is not valid. Supported versions: [3, 3.1]."}',
    );
  });

  it('generates swaggers with empty schemas for an undecorated run() when inference-schema is importable', async () => {
    const server = await ScoringServer.start({
      fixture: 'schema_plain',
      env: { SERVICE_NAME: 'demo', SERVICE_VERSION: '7', SERVICE_PATH_PREFIX: '/api/' },
    });
    const v2 = assertSwagger(await server.request({ path: '/swagger.json' })) as {
      swagger: string;
      info: { title: string; version: string };
      paths: Record<string, unknown>;
      definitions: Record<string, unknown>;
    };
    assert.equal(v2.swagger, '2.0');
    assert.equal(v2.info.title, 'demo');
    assert.equal(v2.info.version, '7');
    assert.deepEqual(Object.keys(v2.paths), ['/api/', '/api/score', '/api/swagger.json']);
    assert.deepEqual(v2.definitions.ServiceInput, { type: 'object', example: {} });
    assert.deepEqual(v2.definitions.ServiceOutput, { type: 'object', example: {} });
    assertJson404(
      await server.request({ path: '/swagger.json?version=9' }),
      '{"message": "Swagger version [9] is not valid. Supported versions: [2, 3, 3.1]."}',
    );
  });
});
