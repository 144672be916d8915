/**
 * A stand-in for a Microsoft Entra ID tenant in tests (this machine has no internet): an RS256
 * key pair made in the test, its public half served as a JWKS on 127.0.0.1 (what the daemon
 * fetches through OEP_AAD_JWKS_URL), and tokens shaped as Entra ID's v1/v2 access tokens signed
 * with it. The server can answer, hang (never answer) or be closed.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const TENANT_KID = 'tenant-key-1';

export class FakeEntraTenant {
  /** GET requests the JWKS server received. */
  fetches = 0;
  mode: 'answer' | 'hang' | 'error' = 'answer';
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  private constructor(
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
  ) {}

  static async create(): Promise<FakeEntraTenant> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = await exportJWK(publicKey);
    // As Entra ID publishes them: kty, use, kid, n, e (no alg).
    return new FakeEntraTenant(privateKey, { kty: jwk.kty, use: 'sig', kid: TENANT_KID, n: jwk.n, e: jwk.e });
  }

  /** Serves the JWKS on 127.0.0.1 (a new port, or `port`); `url` is its address. */
  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      this.fetches += 1;
      if (this.mode === 'hang') {
        this.hanging.add(res);
        return;
      }
      if (this.mode === 'error') return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [this.publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    const address = server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/{tenant}/discovery/v2.0/keys`;
    return this.url;
  }

  /** Stops serving (the port refuses connections). */
  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * An access token for https://ml.azure.com from this tenant (v1 shape unless `version` is
   * '2.0'), valid from 5 minutes ago for an hour unless `claims` says otherwise; `kid` and `key`
   * replace the header's kid and the signing key.
   */
  async token(options: { claims?: JWTPayload; version?: '1.0' | '2.0'; kid?: string; key?: CryptoKey; tenant?: string } = {}): Promise<string> {
    const tenant = options.tenant ?? TENANT_ID;
    const now = Math.floor(Date.now() / 1000);
    const iss = options.version === '2.0' ? `https://login.microsoftonline.com/${tenant}/v2.0` : `https://sts.windows.net/${tenant}/`;
    const payload: JWTPayload = {
      aud: 'https://ml.azure.com',
      iss,
      iat: now - 300,
      nbf: now - 300,
      exp: now + 3600,
      tid: tenant,
      oid: '5f3e7a1c-0b7e-4c1e-9d55-0a6c1a2b3c4d',
      sub: '5f3e7a1c-0b7e-4c1e-9d55-0a6c1a2b3c4d',
      appid: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
      ver: options.version ?? '1.0',
      ...options.claims,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.kid ?? TENANT_KID }).sign(options.key ?? this.privateKey);
  }
}
