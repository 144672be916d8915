import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AzureCliTokens, identityNotice, parseAccessToken, TokenSourceError, TokenSources, type AzResult, type IdentitySourceSetting } from '../../src/identity/token-sources.js';
import type { TokenSubject } from '../../src/model/identity.js';

const NOW_S = 1_700_000_000;
const subject: TokenSubject = { principal_id: 'p', client_id: 'c', tenant_id: 't', resource_id: '/r' };

/** What the real `az account get-access-token -o json` prints (azure-cli profile/custom.py, keys sorted). */
function azToken(token: string, expiresOn: number): string {
  return JSON.stringify({ accessToken: token, expiresOn: '2023-11-14 22:13:20.000000', expires_on: expiresOn, subscription: 'sub', tenant: 'tid', tokenType: 'Bearer' }, null, 2);
}

/** A stand-in Azure CLI: answers from a function, counts calls. */
function fakeAz(answer: (args: string[]) => AzResult) {
  const calls: string[][] = [];
  return {
    calls,
    run: async (args: string[]) => {
      calls.push(args);
      return answer(args);
    },
  };
}

const LOGGED_OUT: AzResult = { code: 1, stdout: '', stderr: "ERROR: Please run 'az login' to setup account.\n" };
const MISSING: AzResult = { code: null, stdout: '', stderr: '', missing: true };

describe('Azure CLI tokens', () => {
  it('reads accessToken and expires_on; expiresOn (local time) when expires_on is absent (az < 2.54)', () => {
    assert.deepEqual(parseAccessToken(azToken('abc', NOW_S + 3599)), { token: 'abc', expires_on: NOW_S + 3599 });
    const local = new Date(2030, 0, 2, 3, 4, 5).getTime() / 1000;
    assert.deepEqual(parseAccessToken(JSON.stringify({ accessToken: 'x', expiresOn: '2030-01-02 03:04:05.123456', tokenType: 'Bearer' })), { token: 'x', expires_on: local });
    assert.equal(parseAccessToken('not json'), undefined);
    assert.equal(parseAccessToken(JSON.stringify({ accessToken: '', expires_on: 1 })), undefined);
    assert.equal(parseAccessToken(JSON.stringify({ accessToken: 'x' })), undefined);
  });

  it('asks az once per resource until 5 minutes before expiry; concurrent asks share the call', async () => {
    let now = NOW_S * 1000;
    let n = 0;
    const az = fakeAz((args) => ({ code: 0, stdout: azToken(`token-${++n}-${args[3]}`, NOW_S + 3600), stderr: '' }));
    const tokens = new AzureCliTokens(az.run, () => now);
    const [one, two] = await Promise.all([tokens.token('https://storage.azure.com'), tokens.token('https://storage.azure.com')]);
    assert.equal(one.token, 'token-1-https://storage.azure.com');
    assert.equal(two, one);
    assert.deepEqual(az.calls, [['account', 'get-access-token', '--resource', 'https://storage.azure.com', '-o', 'json']]);
    assert.equal((await tokens.token('https://vault.azure.net')).token, 'token-2-https://vault.azure.net');
    now = (NOW_S + 3600 - 301) * 1000;
    assert.equal((await tokens.token('https://storage.azure.com')).token, 'token-1-https://storage.azure.com');
    now = (NOW_S + 3600 - 300) * 1000;
    assert.equal((await tokens.token('https://storage.azure.com')).token, 'token-3-https://storage.azure.com');
    assert.equal(az.calls.length, 3);
  });

  it('says why there is no token: not on PATH, not logged in, or az\'s own first error line; a failure is not cached', async () => {
    const cases: [AzResult, TokenSourceError['reason'], RegExp][] = [
      [MISSING, 'missing', /^the Azure CLI \(az\) is not on the PATH of the oep daemon$/],
      [LOGGED_OUT, 'logged-out', /^the Azure CLI is not logged in \(az account get-access-token: ERROR: Please run 'az login' to setup account\.\)$/],
      [{ code: 1, stdout: '', stderr: 'ERROR: AADSTS65001: consent required\nmore\n' }, 'failed', /^az account get-access-token failed: ERROR: AADSTS65001: consent required$/],
      [{ code: 0, stdout: '{}', stderr: '' }, 'failed', /^az account get-access-token printed no token: \{\}$/],
    ];
    for (const [result, reason, message] of cases) {
      const az = fakeAz(() => result);
      const tokens = new AzureCliTokens(az.run, () => NOW_S * 1000);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(tokens.token('r'), (error: TokenSourceError) => error instanceof TokenSourceError && error.reason === reason && message.test(error.message));
      }
      assert.equal(az.calls.length, 2);
    }
  });
});

describe('token sources (identity_source)', () => {
  function sources(setting: IdentitySourceSetting, answer: (args: string[]) => AzResult, clock = { now: NOW_S * 1000 }) {
    const az = fakeAz(answer);
    const issued: string[] = [];
    const chosen = new TokenSources({
      setting: async () => setting,
      az: new AzureCliTokens(az.run, () => clock.now),
      issuer: {
        issue: async (resource, who) => {
          issued.push(`${resource} as ${who.principal_id}`);
          return { token: 'local-token', expires_on: NOW_S + 3600, expires_in: 3600 };
        },
      },
      now: () => clock.now,
    });
    return { az, issued, chosen, clock };
  }
  const loggedIn = (args: string[]): AzResult =>
    args[1] === 'show'
      ? { code: 0, stdout: JSON.stringify({ user: { name: 'dev@example.com', type: 'user' }, tenantId: 'tid' }), stderr: '' }
      : { code: 0, stdout: azToken('az-token', NOW_S + 3600), stderr: '' };

  it('local: the issuer, for the identity asked, and az is never run', async () => {
    const { az, issued, chosen } = sources('local', loggedIn);
    assert.deepEqual(await chosen.token('r', subject), { token: 'local-token', expires_on: NOW_S + 3600, source: 'local' });
    assert.deepEqual(issued, ['r as p']);
    assert.deepEqual(await chosen.choose(), { source: 'local', setting: 'local' });
    assert.equal(az.calls.length, 0);
  });

  it('auto with az logged in: the Azure CLI\'s token (the developer), and the notice says whose', async () => {
    const { issued, chosen } = sources('auto', loggedIn);
    assert.deepEqual(await chosen.token('r', subject), { token: 'az-token', expires_on: NOW_S + 3600, source: 'az' });
    assert.deepEqual(issued, []);
    const choice = await chosen.choose();
    assert.deepEqual(choice, { source: 'az', setting: 'auto', account: { user: 'dev@example.com', tenant: 'tid' } });
    assert.equal(
      identityNotice('blue', 'ep', choice, 'client-1'),
      'deployment blue: managed identity tokens (MSI_ENDPOINT) come from your Azure CLI login (dev@example.com, az account get-access-token): the deployment acts as you, not as endpoint ep\'s identity; "oep config set identity_source local" gives oep\'s local tokens instead',
    );
  });

  it('auto without az, or logged out: local tokens, az not asked again for a minute; another az failure is an error', async () => {
    for (const answer of [MISSING, LOGGED_OUT]) {
      const { az, issued, chosen, clock } = sources('auto', () => answer);
      assert.equal((await chosen.token('r', subject)).source, 'local');
      assert.equal((await chosen.token('r', subject)).source, 'local');
      assert.equal(az.calls.length, 1);
      clock.now += 60_000;
      await chosen.token('r', subject);
      assert.equal(az.calls.length, 2);
      assert.equal(issued.length, 3);
      const choice = await chosen.choose();
      assert.equal(choice.source, 'local');
      assert.match(identityNotice('blue', 'ep', choice, 'client-1'), /^deployment blue: managed identity tokens \(MSI_ENDPOINT\) are oep's local tokens for endpoint ep's identity \(client id client-1; the Azure CLI .*\): Azure services refuse them; after "az login", identity_source auto passes your Azure CLI login through$/);
    }
    const { chosen } = sources('auto', (args) => (args[1] === 'show' ? loggedIn(args) : { code: 1, stdout: '', stderr: 'ERROR: network unreachable' }));
    await assert.rejects(chosen.token('r', subject), /az account get-access-token failed: ERROR: network unreachable/);
  });

  it('az: never falls back; the notice says what is wrong', async () => {
    const { issued, chosen } = sources('az', () => LOGGED_OUT);
    await assert.rejects(chosen.token('r', subject), /the Azure CLI is not logged in/);
    assert.deepEqual(issued, []);
    const choice = await chosen.choose();
    assert.equal(choice.source, 'az');
    assert.match(identityNotice('blue', 'ep', choice, 'c'), /^deployment blue: managed identity tokens \(MSI_ENDPOINT\) should come from the Azure CLI \(identity_source az\), but the Azure CLI is not logged in .*: token requests fail until it is fixed \(az login\)/);
    assert.equal(
      identityNotice('blue', 'ep', { source: 'local', setting: 'local' }, 'c'),
      'deployment blue: managed identity tokens (MSI_ENDPOINT) are oep\'s local tokens for endpoint ep\'s identity (client id c; identity_source is local): Azure services refuse them; "oep config set identity_source auto" passes your Azure CLI login through',
    );
  });
});
