/**
 * auth_mode: aad_token: the verification of bearer tokens (oep's local issuer, src/identity/aad.ts),
 * the router's memory of verified tokens (VerifiedTokens), and the router's 401s over real HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { localAadVerifier } from '../../src/identity/aad.js';
import { LocalIssuer, ML_RESOURCE } from '../../src/identity/issuer.js';
import type { TokenSubject } from '../../src/model/identity.js';
import { issueToken, VerifiedTokens, type AadVerifier } from '../../src/router/auth.js';
import { Router, type EndpointRoute } from '../../src/router/router.js';
import { findFreePort } from '../../src/runtimes/free-port.js';

const SUBJECT: TokenSubject = {
  principal_id: '11111111-1111-4111-8111-111111111111',
  client_id: '22222222-2222-4222-8222-222222222222',
  tenant_id: '33333333-3333-4333-8333-333333333333',
  resource_id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/other',
};
const HOUR_MS = 3600_000;

/** A token shaped as `token` (same header kid, same claims) but signed with a key of the test's own. */
async function forge(token: string, kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
}

const home = mkdtempSync(join(tmpdir(), 'oep-aad-'));
after(() => rmSync(home, { recursive: true, force: true }));

describe('aad_token verification (local issuer)', () => {
  let issuer: LocalIssuer;
  let verify: AadVerifier;
  before(async () => {
    issuer = await LocalIssuer.open(home);
    verify = localAadVerifier(issuer);
  });

  it('accepts a token for https://ml.azure.com (with or without the slash) until its exp', async () => {
    const issued = await issuer.issue(ML_RESOURCE, SUBJECT);
    assert.deepEqual(await verify(issued.token), { ok: true, expiresAt: issued.expires_on });
    const slashed = await issuer.issue(`${ML_RESOURCE}/`, SUBJECT);
    assert.deepEqual(await verify(slashed.token), { ok: true, expiresAt: slashed.expires_on });
  });

  it('refuses expired, not yet valid, other-audience, forged and malformed tokens, each with its reason', async () => {
    const expired = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() - 2 * HOUR_MS);
    assert.deepEqual(await verify(expired.token), { ok: false, reason: 'expired' });
    // Issued an hour ahead: its nbf (5 minutes before its iat) is still 55 minutes away.
    const early = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() + HOUR_MS);
    assert.deepEqual(await verify(early.token), { ok: false, reason: 'not-yet-valid' });
    const management = await issuer.issue('https://management.azure.com/', SUBJECT);
    assert.deepEqual(await verify(management.token), { ok: false, reason: 'audience' });
    const good = await issuer.issue(ML_RESOURCE, SUBJECT);
    assert.deepEqual(await verify(await forge(good.token, issuer.kid)), { ok: false, reason: 'signature' });
    // Not JWTs at all, and an aml_token token (another endpoint's, or this one's: aad_token takes none).
    for (const malformed of ['not-a-jwt', 'a.b.c', issueToken('other', 'secret', Date.now()).accessToken]) {
      assert.deepEqual(await verify(malformed), { ok: false, reason: 'malformed' }, malformed);
    }
  });

  it('refuses a token with its payload changed after signing', async () => {
    const good = await issuer.issue(ML_RESOURCE, SUBJECT);
    const [head, , signature] = good.token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(good.token), exp: Math.floor(Date.now() / 1000) + 10 * 3600 })).toString('base64url');
    assert.deepEqual(await verify(`${head}.${payload}.${signature}`), { ok: false, reason: 'signature' });
  });

  it("accepts any principal's token: aad tokens are not tied to an endpoint", async () => {
    const other = await issuer.issue(ML_RESOURCE, { ...SUBJECT, principal_id: '44444444-4444-4444-8444-444444444444' });
    assert.equal((await verify(other.token)).ok, true);
  });
});

describe('VerifiedTokens (the memory of verified tokens)', () => {
  /** A verifier that accepts `good-*` tokens until `exp`, counting its calls; `release` lets held calls finish. */
  const counting = (exp: number) => {
    const calls: string[] = [];
    let held: (() => void)[] | undefined;
    const verifier: AadVerifier = async (token) => {
      calls.push(token);
      if (held) await new Promise<void>((resolve) => held!.push(resolve));
      return token.startsWith('good') ? { ok: true, expiresAt: exp } : { ok: false, reason: 'signature' };
    };
    return {
      calls,
      verifier,
      hold: () => void (held = []),
      release: () => {
        const waiting = held ?? [];
        held = undefined;
        for (const resolve of waiting) resolve();
      },
    };
  };

  it('verifies a token once, then answers at once (no promise) until its exp, then verifies again', async () => {
    let now = 1_000_000_000_000;
    const exp = now / 1000 + 60;
    const fake = counting(exp);
    const tokens = new VerifiedTokens(fake.verifier, () => now);
    const first = tokens.check('good-1');
    assert.ok(first instanceof Promise);
    assert.deepEqual(await first, { ok: true, expiresAt: exp });
    const second = tokens.check('good-1');
    assert.ok(!(second instanceof Promise));
    assert.equal(second.ok, true);
    assert.deepEqual(fake.calls, ['good-1']);
    now = exp * 1000 - 1;
    assert.ok(!(tokens.check('good-1') instanceof Promise));
    now = exp * 1000;
    // Expired: verified again (this verifier still says yes, but the memory does not keep a token past its exp).
    assert.ok(tokens.check('good-1') instanceof Promise);
    assert.equal(tokens.size, 0);
  });

  it('keeps no refused token, and verifies a token brought by many requests at once only once', async () => {
    const now = 1_000_000_000_000;
    const fake = counting(now / 1000 + 60);
    const tokens = new VerifiedTokens(fake.verifier, () => now);
    assert.deepEqual(await tokens.check('bad'), { ok: false, reason: 'signature' });
    assert.deepEqual(await tokens.check('bad'), { ok: false, reason: 'signature' });
    assert.equal(tokens.size, 0);
    fake.hold();
    const together = [tokens.check('good-2'), tokens.check('good-2'), tokens.check('good-2')];
    fake.release();
    for (const verdict of await Promise.all(together)) assert.equal(verdict.ok, true);
    assert.deepEqual(fake.calls, ['bad', 'bad', 'good-2']);
  });

  it('remembers at most maxEntries tokens, dropping the oldest', async () => {
    const now = 1_000_000_000_000;
    const fake = counting(now / 1000 + 60);
    const tokens = new VerifiedTokens(fake.verifier, () => now, 2);
    for (const token of ['good-a', 'good-b', 'good-c']) await tokens.check(token);
    assert.equal(tokens.size, 2);
    assert.ok(tokens.check('good-a') instanceof Promise);
    assert.ok(!(tokens.check('good-c') instanceof Promise));
  });

  it('accepts only the exact token: another with the same signature tail is verified (and refused)', async () => {
    const now = 1_000_000_000_000;
    const fake = counting(now / 1000 + 60);
    const tokens = new VerifiedTokens(fake.verifier, () => now);
    const tail = '.'.padEnd(64, 's');
    assert.equal((await tokens.check(`good.payload${tail}`)).ok, true);
    const other = tokens.check(`bad.payload${tail}`);
    assert.ok(other instanceof Promise);
    assert.deepEqual(await other, { ok: false, reason: 'signature' });
    assert.ok(!(tokens.check(`good.payload${tail}`) instanceof Promise));
  });

  it('a verifier that throws refuses the token as malformed', async () => {
    const tokens = new VerifiedTokens(async () => {
      throw new Error('boom');
    });
    assert.deepEqual(await tokens.check('x'), { ok: false, reason: 'malformed' });
  });
});

describe('router: aad_token endpoints', () => {
  let issuer: LocalIssuer;
  let model: Server;
  let origin = '';
  const verified: string[] = [];
  let router: Router;
  const ports = { aad: 0, key: 0, bare: 0 };
  const route = (name: string, port: number, authMode: EndpointRoute['authMode']): EndpointRoute => ({
    name,
    port,
    authMode,
    keys: { primary: 'p', secondary: 's' },
    tokenSecret: 'x',
    traffic: { blue: 100 },
    mirror: {},
    deployments: { blue: { requestTimeoutMs: 60_000, maxConcurrentPerInstance: 10, instanceCount: 1 } },
  });
  const PREFIX = 'Unauthorized: a valid Microsoft Entra ID token for https://ml.azure.com is required in the Authorization header (Bearer <token>); ';
  const call = async (port: number, authorization?: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: authorization === undefined ? {} : { authorization }, body: '{}' });
    return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), contentType: res.headers.get('content-type'), body: await res.text() };
  };
  const refused = (why: string) => ({ status: 401, wwwAuthenticate: 'Bearer', contentType: 'application/json', body: JSON.stringify({ message: `${PREFIX}${why}.` }) });

  before(async () => {
    issuer = await LocalIssuer.open(home);
    const verify = localAadVerifier(issuer);
    router = new Router({
      replicas: () => [{ id: 'blue/0', origin, scoringPath: '/score', ready: true }],
      verifyAadToken: (token) => {
        verified.push(token);
        return verify(token);
      },
    });
    model = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}'));
    });
    await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
    const address = model.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    ports.aad = await findFreePort();
    ports.key = await findFreePort();
    ports.bare = await findFreePort();
    await router.upsert(route('aad', ports.aad, 'aad_token'));
    await router.upsert(route('key', ports.key, 'key'));
  });
  after(async () => {
    await router.close();
    model.closeAllConnections();
    model.close();
  });

  it('200 with a token from the issuer, verified once however often it comes', async () => {
    const { token } = await issuer.issue(ML_RESOURCE, SUBJECT);
    const before = verified.length;
    for (let i = 0; i < 3; i += 1) {
      const answer = await call(ports.aad, `Bearer ${token}`);
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.body, '{"ok": true}');
    }
    assert.equal(verified.length - before, 1);
  });

  it('401 with the reason for each bad token, and for none', async () => {
    const good = await issuer.issue(ML_RESOURCE, SUBJECT);
    const expired = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() - 2 * HOUR_MS);
    const early = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() + HOUR_MS);
    const management = await issuer.issue('https://management.azure.com/', SUBJECT);
    assert.deepEqual(await call(ports.aad, `Bearer ${expired.token}`), refused('this one has expired'));
    assert.deepEqual(await call(ports.aad, `Bearer ${early.token}`), refused('this one is not valid yet (nbf)'));
    assert.deepEqual(await call(ports.aad, `Bearer ${management.token}`), refused('this one is for another audience (aud)'));
    assert.deepEqual(await call(ports.aad, `Bearer ${await forge(good.token, issuer.kid)}`), refused("this one's signature does not match oep's token issuer (oep endpoint get-credentials gives a token)"));
    assert.deepEqual(await call(ports.aad, `Bearer ${issueToken('aad', 'x', Date.now()).accessToken}`), refused('this one is not a JWT'));
    assert.deepEqual(await call(ports.aad, 'Bearer p'), refused('this one is not a JWT'));
    assert.deepEqual(await call(ports.aad), refused('none was given'));
    assert.deepEqual(await call(ports.aad, `Basic ${good.token}`), refused('none was given'));
  });

  it('a refused token is checked again each time (never remembered)', async () => {
    const expired = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() - 2 * HOUR_MS);
    const before = verified.length;
    await call(ports.aad, `Bearer ${expired.token}`);
    await call(ports.aad, `Bearer ${expired.token}`);
    assert.equal(verified.length - before, 2);
  });

  it('key endpoints are unchanged: the key passes, an aad token does not, and the verifier is never asked', async () => {
    const { token } = await issuer.issue(ML_RESOURCE, SUBJECT);
    const before = verified.length;
    assert.equal((await call(ports.key, 'Bearer p')).status, 200);
    assert.deepEqual(await call(ports.key, `Bearer ${token}`), {
      status: 401,
      wwwAuthenticate: 'Bearer',
      contentType: 'application/json',
      body: JSON.stringify({ message: 'Unauthorized: a valid key or token is required in the Authorization header (Bearer <key>).' }),
    });
    assert.equal(verified.length, before);
  });

  it("Node's server path (Expect: 100-continue): 401 before the body is asked for, 200 with a good token", async () => {
    const { token } = await issuer.issue(ML_RESOURCE, SUBJECT);
    const send = (authorization: string) =>
      new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const body = '{"x": 1}';
        const req = request(`http://127.0.0.1:${ports.aad}/score`, { method: 'POST', headers: { authorization, expect: '100-continue', 'content-length': body.length } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
        });
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('error', reject);
      });
    assert.deepEqual(await send(`Bearer ${token}`), { status: 200, continued: true });
    const expired = await issuer.issue(ML_RESOURCE, SUBJECT, Date.now() - 2 * HOUR_MS);
    assert.deepEqual(await send(`Bearer ${expired.token}`), { status: 401, continued: false });
  });

  it('without a verifier, an aad_token endpoint refuses every token', async () => {
    const bare = new Router({ replicas: () => [{ id: 'blue/0', origin, scoringPath: '/score', ready: true }] });
    try {
      await bare.upsert(route('bare', ports.bare, 'aad_token'));
      const { token } = await issuer.issue(ML_RESOURCE, SUBJECT);
      assert.deepEqual(await call(ports.bare, `Bearer ${token}`), refused('this router cannot verify tokens'));
    } finally {
      await bare.close();
    }
  });
});
