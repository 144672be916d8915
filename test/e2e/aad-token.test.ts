/**
 * auth_mode: aad_token end to end (process runtime, the quickstart): get-credentials gives the
 * developer's token from the home's issuer, the endpoint takes it (curl-like fetch, Python's
 * requests, `oep endpoint invoke`) and refuses every other bearer with 401. With `aad_tenant`
 * set, the tokens of that Entra ID tenant too (a stand-in tenant: its JWKS served on 127.0.0.1,
 * the daemon pointed at it by OEP_AAD_JWKS_URL).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { LocalIssuer, ML_RESOURCE } from '../../src/identity/issuer.js';
import { FakeEntraTenant, TENANT_ID } from '../entra-tenant.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { assertPredictions, example, OepSandbox } from './harness.js';

/** What examples/quickstart answers for its sample request (compared with a tolerance). */
const PREDICTION = [224.5, 353.3];
const BODY = JSON.stringify({ data: [[3, 85, 10], [5, 140, 2]] });
const HOUR_MS = 3600_000;
const REFUSED = 'Unauthorized: a valid Microsoft Entra ID token for https://ml.azure.com is required in the Authorization header (Bearer <token>); ';

const hasRequests = (() => {
  try {
    execFileSync('python3', ['-c', 'import requests'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function score(url: string, token?: string): Promise<{ status: number; wwwAuthenticate: string | null; body: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: BODY });
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: await res.text() };
}

const refused = (why: string) => ({ status: 401, wwwAuthenticate: 'Bearer', body: JSON.stringify({ message: `${REFUSED}${why}.` }) });

/** Every file under `dir`, read as text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return [];
    if (stat.isDirectory()) return filesUnder(path);
    return stat.isFile() ? [{ path, text: readFileSync(path, 'latin1') }] : [];
  });
}

describe('auth_mode: aad_token (process runtime, quickstart)', () => {
  const oep = new OepSandbox();
  let scoringUri = '';
  let token = '';
  let issuer: LocalIssuer;

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '--auth-mode', 'aad_token', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    await oep.ok(['endpoint', 'create', '-n', 'other', '--auth-mode', 'aml_token', '-o', 'none']);
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    // The home's own issuer (the key the daemon made): tokens it signs are real ones, only expired or for another audience.
    issuer = await LocalIssuer.open(oep.home);
  });
  after(() => oep.close());

  it("get-credentials prints az's aad shape: the developer's token for https://ml.azure.com and its expiry", async () => {
    const stdout = await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart']);
    const credentials = JSON.parse(stdout) as { accessToken: string; expiryTimeUtc: number };
    assert.equal(stdout, `{\n  "accessToken": "${credentials.accessToken}",\n  "expiryTimeUtc": ${credentials.expiryTimeUtc}\n}\n`);
    assert.ok(Number.isInteger(credentials.expiryTimeUtc));
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(credentials.expiryTimeUtc - (now + 3600)) <= 60, `expiryTimeUtc ${credentials.expiryTimeUtc}, now ${now}`);
    const claims = decodeJwt(credentials.accessToken);
    const shown = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'quickstart'])) as { identity?: { tenant_id: string } };
    assert.equal(claims.aud, ML_RESOURCE);
    assert.equal(claims.exp, credentials.expiryTimeUtc);
    if (shown.identity) assert.equal(claims.tid, shown.identity.tenant_id);
    assert.equal(claims.iss, `https://sts.windows.net/${String(claims.tid)}/`);
    // A signed-in user through the Azure CLI (a public client), not a managed identity.
    assert.equal(claims.appid, '04b07795-8ddb-461a-bbee-02f9e1bf7b46');
    assert.equal(claims.appidacr, '0');
    assert.equal(claims.idtyp, 'user');
    assert.equal(claims.xms_mirid, undefined);
    assert.equal(claims.sub, claims.oid);
    // The developer is one stable principal of the home, whatever the endpoint.
    const again = decodeJwt(JSON.parse(await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart'])).accessToken as string);
    assert.equal(again.oid, claims.oid);
    assert.match(String(claims.oid), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    token = credentials.accessToken;
  });

  it('aml_token keeps its four keys', async () => {
    const aml = JSON.parse(await oep.ok(['endpoint', 'get-credentials', '-n', 'other'])) as Record<string, unknown>;
    assert.deepEqual(Object.keys(aml).sort(), ['accessToken', 'expiryTimeUtc', 'refreshAfterTimeUtc', 'tokenType']);
  });

  it('200 with the get-credentials token (again and again)', async () => {
    for (let i = 0; i < 3; i += 1) {
      const answer = await score(scoringUri, token);
      assert.equal(answer.status, 200, answer.body);
      assertPredictions(JSON.parse(answer.body), PREDICTION);
    }
  });

  it('401 for an expired, a wrong-audience, a forged, an aml_token and no token', async () => {
    const expired = await issuer.issue(ML_RESOURCE, { principal_id: 'p', client_id: 'c', tenant_id: 't', resource_id: '' }, Date.now() - 2 * HOUR_MS);
    assert.deepEqual(await score(scoringUri, expired.token), refused('this one has expired'));
    const storage = await issuer.issue('https://storage.azure.com/', { principal_id: 'p', client_id: 'c', tenant_id: 't', resource_id: '' });
    assert.deepEqual(await score(scoringUri, storage.token), refused('this one is for another audience (aud)'));
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: issuer.kid }).sign(privateKey);
    assert.deepEqual(await score(scoringUri, forged), refused("this one's signature does not match oep's token issuer (oep endpoint get-credentials gives a token)"));
    const aml = (await oep.ok(['endpoint', 'get-credentials', '-n', 'other', '--query', 'accessToken', '-o', 'tsv'])).trim();
    assert.deepEqual(await score(scoringUri, aml), refused('this one is not a JWT'));
    assert.deepEqual(await score(scoringUri), refused('none was given'));
  });

  it('the aad token opens no other endpoint: an aml_token endpoint refuses it', async () => {
    const otherUri = (await oep.ok(['endpoint', 'show', '-n', 'other', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const answer = await score(otherUri, token);
    assert.equal(answer.status, 401);
    assert.equal(answer.body, JSON.stringify({ message: 'Unauthorized: a valid key or token is required in the Authorization header (Bearer <key>).' }));
  });

  it('oep endpoint invoke gets a token itself', async () => {
    const stdout = await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', example('quickstart', 'sample-request.json')]);
    assert.match(stdout, /^\[.*\]\n$/);
    assertPredictions(JSON.parse(stdout), PREDICTION);
  });

  it('regenerate-keys refuses, as azure-ai-ml does: an aad_token endpoint has no keys', async () => {
    const result = await oep.run(['endpoint', 'regenerate-keys', '-n', 'quickstart']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      "error: Endpoint 'quickstart' does not use keys for authentication.\n" +
        'hint: aad_token endpoints take Microsoft Entra ID tokens, which expire on their own; get a fresh one with: oep endpoint get-credentials -n quickstart\n' +
        '(OEP_ERR_USAGE)\n',
    );
    // Nothing changed: the token still passes.
    assert.equal((await score(scoringUri, token)).status, 200);
  });

  it("Python's requests with the token (Microsoft's client path)", { skip: prerequisiteSkip("Python's requests", !hasRequests && 'python3 cannot import requests (Debian: python3-requests)') }, async () => {
    const script = [
      'import json, sys, requests',
      'url, token, body = sys.argv[1:4]',
      "r = requests.post(url, data=body, headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token})",
      'print(r.status_code)',
      'print(json.dumps(r.json()))',
      "r = requests.post(url, data=body, headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token + 'x'})",
      'print(r.status_code)',
    ].join('\n');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile('python3', ['-c', script, scoringUri, token, BODY], { env: { ...process.env, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' } }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      ),
    );
    const [status, answer, refusedStatus] = stdout.trimEnd().split('\n');
    assert.equal(status, '200');
    assertPredictions(JSON.parse(answer!), PREDICTION);
    assert.equal(refusedStatus, '401');
  });

  it('no token is written anywhere under OEP_HOME (logs, state, access log)', () => {
    const signature = token.split('.')[2]!;
    const holding = filesUnder(oep.home).filter((file) => file.text.includes(signature)).map((file) => file.path);
    assert.deepEqual(holding, []);
  });
});

describe('auth_mode: aad_token with aad_tenant (a stand-in Entra ID tenant, its keys on 127.0.0.1)', () => {
  let tenant: FakeEntraTenant;
  let oep: OepSandbox;
  let scoringUri = '';
  let tenantToken = '';
  const OTHER_TENANT = '0a0b0c0d-1111-4222-8333-444455556666';

  before(async () => {
    tenant = await FakeEntraTenant.create();
    await tenant.listen();
    oep = new OepSandbox({ OEP_AAD_JWKS_URL: tenant.url });
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '--auth-mode', 'aad_token', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none']);
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    tenantToken = await tenant.token();
  });
  after(async () => {
    await oep.close();
    await tenant.close();
  });

  it("aad_tenant unset (the default): the tenant's token is refused, and its keys are never fetched", async () => {
    assert.equal(await oep.ok(['config', 'get', 'aad_tenant']), '\n');
    assert.deepEqual(await score(scoringUri, tenantToken), refused("this one's signature does not match oep's token issuer (oep endpoint get-credentials gives a token)"));
    assert.equal(tenant.fetches, 0);
  });

  // config set aad_tenant with what is not a tenant id or domain needs no daemon: a row of
  // test/unit/cli-table.test.ts.

  it("aad_tenant set: 200 with the tenant's v1 and v2 tokens (keys fetched once) and still with oep's own; 401 for another tenant, audience, an expired one, an unknown key", async () => {
    await oep.ok(['config', 'set', 'aad_tenant', TENANT_ID]);
    for (const token of [tenantToken, tenantToken, await tenant.token({ version: '2.0' })]) {
      const answer = await score(scoringUri, token);
      assert.equal(answer.status, 200, answer.body);
      assertPredictions(JSON.parse(answer.body), PREDICTION);
    }
    assert.equal(tenant.fetches, 1);
    const local = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'accessToken', '-o', 'tsv'])).trim();
    assert.equal((await score(scoringUri, local)).status, 200);

    const now = Math.floor(Date.now() / 1000);
    const { privateKey } = await generateKeyPair('RS256');
    assert.deepEqual(await score(scoringUri, await tenant.token({ tenant: OTHER_TENANT })), refused('this one is from another tenant than aad_tenant (tid)'));
    assert.deepEqual(await score(scoringUri, await tenant.token({ claims: { tid: OTHER_TENANT } })), refused('this one is from another tenant than aad_tenant (tid)'));
    assert.deepEqual(await score(scoringUri, await tenant.token({ claims: { aud: 'https://management.azure.com/' } })), refused('this one is for another audience (aud)'));
    assert.deepEqual(await score(scoringUri, await tenant.token({ claims: { nbf: now - 7200, iat: now - 7200, exp: now - 60 } })), refused('this one has expired'));
    assert.deepEqual(
      await score(scoringUri, await tenant.token({ kid: 'rotated-away', key: privateKey })),
      refused("this one's signature does not match the signing keys of the aad_tenant tenant"),
    );
  });

  it("the tenant's keys cannot be fetched (the JWKS server down): 401 at once with the message, the daemon log says why; nothing else waits", async () => {
    await tenant.close();
    // Another tenant setting: its keys are not in memory yet.
    await oep.ok(['config', 'set', 'aad_tenant', 'contoso.onmicrosoft.com']);
    const started = Date.now();
    assert.deepEqual(
      await score(scoringUri, await tenant.token({ claims: { uti: 'new' } })),
      refused("the signing keys of the aad_tenant tenant could not be fetched (the daemon's log says why); try again later"),
    );
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
    const port = new URL(tenant.url.replace('{tenant}', 'x')).port;
    assert.match(
      readFileSync(join(oep.home, 'daemon.log'), 'utf8'),
      new RegExp(
        `aad_tenant contoso\\.onmicrosoft\\.com: its signing keys could not be fetched from http://127\\.0\\.0\\.1:${port}/contoso\\.onmicrosoft\\.com/discovery/v2\\.0/keys: fetch failed \\(.*ECONNREFUSED.*\\); its tokens are refused \\(401\\) until a fetch succeeds`,
      ),
    );
    // oep's own tokens pass, and so does a tenant token verified before (remembered until its exp).
    const local = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'accessToken', '-o', 'tsv'])).trim();
    assert.equal((await score(scoringUri, local)).status, 200);
    assert.equal((await score(scoringUri, tenantToken)).status, 200);
  });
});
