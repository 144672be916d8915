/**
 * auth_mode: aad_token with the aad_tenant setting (src/identity/aad.ts aadVerifier): Entra ID
 * tokens of the tenant, checked against its keys from a JWKS served on 127.0.0.1 (test/entra-tenant.ts),
 * beside the local issuer's; the refusals, fetch failures and their bounds; the setting itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair } from 'jose';
import { OepError } from '../../src/errors.js';
import { aadVerifier, entraIssuerTenant, jwksUrlFor, type AadVerifierOptions } from '../../src/identity/aad.js';
import { LocalIssuer, ML_RESOURCE } from '../../src/identity/issuer.js';
import type { AadVerifier } from '../../src/router/auth.js';
import { Router, type EndpointRoute } from '../../src/router/router.js';
import { findFreePort } from '../../src/runtimes/free-port.js';
import { checkSetting, openSettings, settingReader } from '../../src/state/settings.js';
import { FakeEntraTenant, TENANT_ID, TENANT_KID } from '../entra-tenant.js';

const SUBJECT = {
  principal_id: '11111111-1111-4111-8111-111111111111',
  client_id: '22222222-2222-4222-8222-222222222222',
  tenant_id: '33333333-3333-4333-8333-333333333333',
  resource_id: '',
};
const OTHER_TENANT = '0a0b0c0d-1111-4222-8333-444455556666';
const HOUR_S = 3600;

const home = mkdtempSync(join(tmpdir(), 'oep-aad-tenant-'));
after(() => rmSync(home, { recursive: true, force: true }));

describe('aad_token with aad_tenant (Entra ID tokens, keys from a JWKS)', () => {
  let issuer: LocalIssuer;
  let tenant: FakeEntraTenant;
  let lines: string[];
  const verifier = (options: Partial<AadVerifierOptions> = {}): AadVerifier =>
    aadVerifier({ issuer, tenant: () => TENANT_ID, jwksUrl: tenant.url, log: (line) => lines.push(line), ...options });

  before(async () => {
    issuer = await LocalIssuer.open(home);
    tenant = await FakeEntraTenant.create();
    await tenant.listen();
  });
  after(() => tenant.close());
  beforeEach(() => {
    lines = [];
    tenant.mode = 'answer';
  });

  it("accepts the tenant's v1 and v2 tokens for https://ml.azure.com (with or without the slash), fetching its keys once", async () => {
    const verify = verifier();
    const before = tenant.fetches;
    const v1 = await tenant.token();
    assert.deepEqual(await verify(v1), { ok: true, expiresAt: decodeJwt(v1).exp });
    assert.equal((await verify(await tenant.token({ version: '2.0' }))).ok, true);
    assert.equal((await verify(await tenant.token({ claims: { aud: `${ML_RESOURCE}/` } }))).ok, true);
    // The setting as the user may type it: upper case.
    assert.equal((await aadVerifier({ issuer, tenant: () => TENANT_ID.toUpperCase(), jwksUrl: tenant.url })(v1)).ok, true);
    assert.equal(tenant.fetches - before, 2, 'one fetch per verifier');
    assert.deepEqual(lines, []);
  });

  it("keeps accepting the local issuer's tokens, without a fetch", async () => {
    const verify = verifier();
    const before = tenant.fetches;
    const local = await issuer.issue(ML_RESOURCE, SUBJECT);
    assert.deepEqual(await verify(local.token), { ok: true, expiresAt: local.expires_on });
    const expired = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() - 2 * HOUR_S * 1000);
    assert.deepEqual(await verify(expired.token), { ok: false, reason: 'expired' });
    assert.equal(tenant.fetches, before);
  });

  it('refuses another tenant, another audience, expired, not yet valid, an unknown kid, a forged signature and a non-Entra issuer', async () => {
    const verify = verifier();
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: stranger } = await generateKeyPair('RS256');
    const cases: [string, Promise<string>, string][] = [
      ['another tenant (tid and iss)', tenant.token({ tenant: OTHER_TENANT }), 'tenant'],
      ['tid unlike iss', tenant.token({ claims: { tid: OTHER_TENANT } }), 'tenant'],
      ['no tid', tenant.token({ claims: { tid: undefined } }), 'tenant'],
      ['another audience', tenant.token({ claims: { aud: 'https://management.azure.com/' } }), 'audience'],
      ['expired', tenant.token({ claims: { iat: now - 2 * HOUR_S, nbf: now - 2 * HOUR_S, exp: now - HOUR_S } }), 'expired'],
      ['not yet valid', tenant.token({ claims: { nbf: now + 600 } }), 'not-yet-valid'],
      ['no exp', tenant.token({ claims: { exp: undefined } }), 'malformed'],
      ['an unknown kid', tenant.token({ kid: 'not-published', key: stranger }), 'tenant-signature'],
      ["the tenant's kid, another key", tenant.token({ key: stranger }), 'tenant-signature'],
      ['a non-Entra issuer', tenant.token({ claims: { iss: `https://sts.example.com/${TENANT_ID}/` } }), 'issuer'],
    ];
    for (const [what, token, reason] of cases) assert.deepEqual(await verify(await token), { ok: false, reason }, what);
    assert.deepEqual(await verify('not-a-jwt'), { ok: false, reason: 'malformed' });
    assert.deepEqual(lines, []);
  });

  it('claims are read before any fetch: a token that is not of the tenant fetches nothing', async () => {
    const verify = verifier();
    const before = tenant.fetches;
    await verify(await tenant.token({ tenant: OTHER_TENANT }));
    await verify(await tenant.token({ claims: { iss: 'https://issuer.example.com/' } }));
    await verify('a.b.c');
    assert.equal(tenant.fetches, before);
  });

  it('a domain as aad_tenant: tid is not compared with the setting, but must match iss', async () => {
    const verify = verifier({ tenant: () => 'contoso.onmicrosoft.com' });
    assert.equal((await verify(await tenant.token())).ok, true);
    assert.deepEqual(await verify(await tenant.token({ claims: { tid: OTHER_TENANT } })), { ok: false, reason: 'tenant' });
    assert.equal(jwksUrlFor('contoso.onmicrosoft.com').toString(), 'https://login.microsoftonline.com/contoso.onmicrosoft.com/discovery/v2.0/keys');
  });

  it('aad_tenant unset: the same tenant token is refused (as any token the local issuer did not sign), nothing fetched', async () => {
    const before = tenant.fetches;
    const token = await tenant.token();
    assert.deepEqual(await verifier({ tenant: () => '' })(token), { ok: false, reason: 'signature' });
    assert.deepEqual(await verifier({ tenant: undefined })(token), { ok: false, reason: 'signature' });
    assert.equal(tenant.fetches, before);
  });

  it('the JWKS server down: refused with tenant-keys-unavailable, the log says why; refused at once until retryAfterMs; then fetched again', async () => {
    const down = await findFreePort();
    let now = Date.now();
    const url = `http://127.0.0.1:${down}/{tenant}/keys`;
    const verify = verifier({ jwksUrl: url, now: () => now, retryAfterMs: 10_000 });
    const token = await tenant.token();
    const started = performance.now();
    assert.deepEqual(await verify(token), { ok: false, reason: 'tenant-keys-unavailable' });
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      new RegExp(`^aad_tenant ${TENANT_ID}: its signing keys could not be fetched from http://127\\.0\\.0\\.1:${down}/${TENANT_ID}/keys: fetch failed \\(.*ECONNREFUSED.*\\); its tokens are refused \\(401\\) until a fetch succeeds$`),
    );
    // Within retryAfterMs: refused without trying (and not logged again).
    assert.deepEqual(await verify(token), { ok: false, reason: 'tenant-keys-unavailable' });
    assert.equal(lines.length, 1);
    assert.ok(performance.now() - started < 2000);
    // The server comes up on that port; after retryAfterMs the keys are fetched and the token passes.
    const back = await FakeEntraTenant.create();
    await back.listen(down);
    try {
      now += 10_000;
      assert.equal((await verify(await back.token())).ok, true);
      assert.equal(back.fetches, 1);
      assert.deepEqual(lines.slice(1), [`aad_tenant ${TENANT_ID}: its signing keys from http://127.0.0.1:${down}/${TENANT_ID}/keys are in use again`]);
    } finally {
      await back.close();
    }
  });

  it('a JWKS server that never answers: refused after timeoutMs, and local tokens are not held meanwhile', async () => {
    const fresh = await FakeEntraTenant.create();
    await fresh.listen();
    fresh.mode = 'hang';
    try {
      const verify = verifier({ jwksUrl: fresh.url, timeoutMs: 300 });
      const started = performance.now();
      const pending = verify(await fresh.token());
      // While the fetch hangs, a local token is verified at once.
      const local = await issuer.issue(ML_RESOURCE, SUBJECT);
      assert.equal((await verify(local.token)).ok, true);
      assert.ok(performance.now() - started < 250, 'the local token did not wait for the fetch');
      assert.deepEqual(await pending, { ok: false, reason: 'tenant-keys-unavailable' });
      const took = performance.now() - started;
      assert.ok(took >= 250 && took < 3000, `refused after ${took} ms`);
      assert.match(lines[0]!, /: no answer within 300 ms; its tokens are refused \(401\) until a fetch succeeds$/);
    } finally {
      await fresh.close();
    }
  });

  it('a JWKS answer that is not 200: refused with tenant-keys-unavailable', async () => {
    const fresh = await FakeEntraTenant.create();
    await fresh.listen();
    fresh.mode = 'error';
    try {
      assert.deepEqual(await verifier({ jwksUrl: fresh.url })(await fresh.token()), { ok: false, reason: 'tenant-keys-unavailable' });
      assert.match(lines[0]!, /: Expected 200 OK from the JSON Web Key Set HTTP response;/);
    } finally {
      await fresh.close();
    }
  });

  it('an OEP_AAD_JWKS_URL that is not an http(s) URL: tenant tokens refused, the log says so', async () => {
    assert.deepEqual(await verifier({ jwksUrl: 'file:///etc/keys' })(await tenant.token()), { ok: false, reason: 'tenant-keys-unavailable' });
    assert.match(lines[0]!, /: its signing keys could not be fetched: OEP_AAD_JWKS_URL is not an http\(s\) URL: file:\/\/\/etc\/keys; its tokens are refused/);
  });

  it("Entra ID's issuers: v1 and v2 forms with a tenant id, nothing else", () => {
    assert.equal(entraIssuerTenant(`https://sts.windows.net/${TENANT_ID}/`), TENANT_ID);
    assert.equal(entraIssuerTenant(`https://login.microsoftonline.com/${TENANT_ID.toUpperCase()}/v2.0`), TENANT_ID);
    for (const iss of [`https://sts.windows.net/${TENANT_ID}`, `https://login.microsoftonline.com/${TENANT_ID}/`, 'https://sts.windows.net/contoso.com/', `http://sts.windows.net/${TENANT_ID}/`, 42]) {
      assert.equal(entraIssuerTenant(iss), undefined, String(iss));
    }
    assert.equal(String(jwksUrlFor(TENANT_ID)), `https://login.microsoftonline.com/${TENANT_ID}/discovery/v2.0/keys`);
  });
});

describe('router: the 401s of aad_tenant refusals', () => {
  let model: Server;
  let router: Router;
  let port = 0;
  let tenant: FakeEntraTenant;
  before(async () => {
    tenant = await FakeEntraTenant.create();
    await tenant.listen();
    const issuer = await LocalIssuer.open(home);
    const down = await findFreePort();
    model = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}')));
    await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
    const address = model.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // Tokens of tid OTHER_TENANT are checked against a JWKS nobody serves.
    const good = aadVerifier({ issuer, tenant: () => TENANT_ID, jwksUrl: tenant.url });
    const unreachable = aadVerifier({ issuer, tenant: () => OTHER_TENANT, jwksUrl: `http://127.0.0.1:${down}/keys` });
    router = new Router({
      replicas: () => [{ id: 'blue/0', origin, scoringPath: '/score', ready: true }],
      verifyAadToken: (token) => (decodeJwt(token).tid === OTHER_TENANT ? unreachable(token) : good(token)),
    });
    port = await findFreePort();
    const route: EndpointRoute = {
      name: 'aad',
      port,
      authMode: 'aad_token',
      keys: { primary: 'p', secondary: 's' },
      tokenSecret: 'x',
      traffic: { blue: 100 },
      mirror: {},
      deployments: { blue: { requestTimeoutMs: 60_000, maxConcurrentPerInstance: 10, instanceCount: 1 } },
    };
    await router.upsert(route);
  });
  after(async () => {
    await router.close();
    model.closeAllConnections();
    model.close();
    await tenant.close();
  });

  const PREFIX = 'Unauthorized: a valid Microsoft Entra ID token for https://ml.azure.com is required in the Authorization header (Bearer <token>); ';
  const call = async (token: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' });
    return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: await res.text() };
  };
  const refused = (why: string) => ({ status: 401, wwwAuthenticate: 'Bearer', body: JSON.stringify({ message: `${PREFIX}${why}.` }) });

  it("200 with the tenant's token; 401 with the reason for another tenant's, a wrong key's, and when the keys cannot be fetched", async () => {
    assert.equal((await call(await tenant.token())).status, 200);
    const { privateKey } = await generateKeyPair('RS256');
    assert.deepEqual(await call(await tenant.token({ kid: TENANT_KID, key: privateKey })), refused("this one's signature does not match the signing keys of the aad_tenant tenant"));
    assert.deepEqual(
      await call(await tenant.token({ tenant: '0f0f0f0f-1111-4222-8333-444455556666' })),
      refused('this one is from another tenant than aad_tenant (tid)'),
    );
    assert.deepEqual(
      await call(await tenant.token({ tenant: OTHER_TENANT })),
      refused("the signing keys of the aad_tenant tenant could not be fetched (the daemon's log says why); try again later"),
    );
  });
});

describe('the aad_tenant setting', () => {
  const settingsHome = mkdtempSync(join(tmpdir(), 'oep-aad-settings-'));
  after(() => rmSync(settingsHome, { recursive: true, force: true }));

  it('takes a tenant id or a domain; refuses anything else, and the multi-tenant names', () => {
    for (const good of [TENANT_ID, TENANT_ID.toUpperCase(), 'contoso.onmicrosoft.com', 'contoso.com', 'fabrikam-labs.co.uk']) assert.equal(checkSetting('aad_tenant', good), 'aad_tenant', good);
    for (const bad of ['common', 'organizations', 'consumers', 'contoso', `${TENANT_ID}x`, '72f988bf-86f1-41af-91ab-2d7cd011db4', 'https://login.microsoftonline.com/contoso.com', 'contoso.com/', '-contoso.com', 'a b.com', ' contoso.com']) {
      assert.throws(
        () => checkSetting('aad_tenant', bad),
        (error: unknown) =>
          error instanceof OepError &&
          error.code === 'OEP_ERR_USAGE' &&
          error.message === `"${bad}" is not a valid value for aad_tenant; use a tenant id (a GUID) or one of the tenant's domains (e.g. contoso.onmicrosoft.com).`,
        bad,
      );
    }
    assert.throws(() => checkSetting('aad_tenant', ''), (error: unknown) => error instanceof OepError && error.message === 'aad_tenant cannot be empty.');
  });

  it('defaults to empty (off); settingReader sees a change at once, and reads the file only when it changed', async () => {
    const env = { OEP_HOME: settingsHome };
    const settings = await openSettings(env);
    assert.equal(settings.get('aad_tenant'), '');
    const read = settingReader('aad_tenant', env);
    assert.equal(await read(), '');
    const first = read();
    assert.equal(read(), first, 'the same read while the file is unchanged');
    settings.set('aad_tenant', TENANT_ID);
    assert.equal(await read(), TENANT_ID);
    settings.reset('aad_tenant');
    assert.equal(await read(), '');
  });
});
