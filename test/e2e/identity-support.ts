import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { msiSecret } from '../../src/state/secrets.js';
import { REPO_ROOT, type OepSandbox } from './harness.js';

/** test/fixtures/identity: endpoints (system- and user-assigned), a deployment whose script asks for tokens, a stand-in `az`. */
export const IDENTITY_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'identity');
/** The folder whose `az` is the stand-in Azure CLI (put first on PATH). */
export const STAND_IN_AZ_DIR = join(IDENTITY_FIXTURES, 'bin');
/** Debian's python3-azure (azure-identity 1.13.0b2) and python3-requests: images/build.sh azure. */
export const AZURE_IMAGE = 'oep-test/python-azure:bookworm';
export const UAI_RESOURCE_ID = '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-oep/providers/Microsoft.ManagedIdentity/userAssignedIdentities/oep-uai';
export const WRONG_CLIENT_ID = '00000000-0000-4000-8000-000000000000';

export interface TokenReport {
  claims: Record<string, unknown>;
  expires_on: number;
  token: string;
}

/** What test/fixtures/identity/code/score.py answers. */
export interface ScriptAnswer {
  pid: number;
  /** The container's id (its hostname) in Docker. */
  host: string;
  env: { MSI_ENDPOINT: string | null; DEFAULT_IDENTITY_CLIENT_ID: string | null; IDENTITY_ENDPOINT: string | null; IDENTITY_HEADER: string | null };
  msi_secret_sha256: string | null;
  azure_variables: string[];
  managed_identity: TokenReport;
  default_credential: TokenReport;
  by_client_id?: TokenReport;
  wrong_client_id?: { error: string | null; message?: string };
  sample?: { status: number; keys: string[]; claims: Record<string, unknown>; body: Record<string, unknown> };
}

export interface ShownIdentity {
  type: string;
  principal_id?: string;
  tenant_id: string;
  user_assigned_identities?: { resource_id: string; client_id: string; principal_id: string }[];
}

/** Invokes one deployment with what its script should try (see score.py). */
export async function askTokens(oep: OepSandbox, endpoint: string, deployment: string, request: Record<string, unknown>): Promise<ScriptAnswer> {
  const out = await oep.ok(['endpoint', 'invoke', '-n', endpoint, '--deployment-name', deployment, '--request-file', '-'], { input: JSON.stringify(request) });
  return JSON.parse(out) as ScriptAnswer;
}

export async function shownIdentity(oep: OepSandbox, endpoint: string): Promise<ShownIdentity> {
  return JSON.parse(await oep.ok(['endpoint', 'show', '-n', endpoint, '--query', 'identity'])) as ShownIdentity;
}

/** The endpoint's ARM-shaped id, which system-assigned tokens carry in xms_mirid. */
export function endpointArmId(endpoint: string): string {
  return `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/oep-local/providers/Microsoft.MachineLearningServices/workspaces/local/onlineEndpoints/${endpoint}`;
}

/** A token of oep's local issuer: Entra ID v1 claims for `who`, for `aud`, about an hour long. */
export function assertLocalToken(report: TokenReport, who: { oid: string; appid: string; tid: string; mirid: string }, aud: string): void {
  const { claims } = report;
  assert.equal(claims.aud, aud);
  assert.equal(claims.oid, who.oid);
  assert.equal(claims.sub, who.oid);
  assert.equal(claims.appid, who.appid);
  assert.equal(claims.tid, who.tid);
  assert.equal(claims.iss, `https://sts.windows.net/${who.tid}/`);
  assert.equal(claims.xms_mirid, who.mirid);
  assert.equal(claims.idtyp, 'app');
  assert.equal(claims.ver, '1.0');
  const now = Date.now() / 1000;
  assert.ok(report.expires_on > now + 3000 && report.expires_on <= now + 3700, `expires_on ${report.expires_on} is not about an hour from now`);
  assert.equal(claims.exp, report.expires_on);
}

/** The script saw its deployment's MSI_SECRET (compared by hash: the secret itself never travels). */
export function assertSecretSeen(oep: OepSandbox, answer: ScriptAnswer, endpoint: string, deployment: string): void {
  assert.equal(answer.msi_secret_sha256, createHash('sha256').update(msiSecret(oep.home, endpoint, deployment)).digest('hex'));
}

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * None of `secrets` (MSI secrets, tokens) is anywhere oep writes or shows: any file under
 * OEP_HOME (state, daemon log, replica and storage-initializer logs, access logs), endpoint and
 * deployment show, the dashboard's data, the Kubernetes export.
 */
export async function assertNothingSecret(oep: OepSandbox, endpoint: string, deployments: string[], secrets: string[]): Promise<void> {
  assert.ok(secrets.length > 0 && secrets.every((secret) => secret.length >= 32), 'secrets to look for');
  const places: [string, string][] = [];
  for (const file of filesUnder(oep.home)) {
    if (statSync(file).size < 50 * 1024 * 1024) places.push([file, readFileSync(file, 'latin1')]);
  }
  assert.ok(places.some(([file]) => file.endsWith('daemon.log')), 'the daemon log is among the files');
  assert.ok(places.some(([file]) => file.endsWith('storage-initializer.log')), 'a storage-initializer log is among the files');
  places.push(['endpoint show', await oep.ok(['endpoint', 'show', '-n', endpoint])]);
  for (const deployment of deployments) {
    places.push([`deployment show ${deployment}`, await oep.ok(['deployment', 'show', '-e', endpoint, '-n', deployment])]);
    places.push([`get-logs ${deployment}`, await oep.ok(['deployment', 'get-logs', '-e', endpoint, '-n', deployment])]);
    places.push([`get-logs storage-initializer ${deployment}`, await oep.ok(['deployment', 'get-logs', '-e', endpoint, '-n', deployment, '--container', 'storage-initializer'])]);
  }
  places.push(['endpoint export', await oep.ok(['endpoint', 'export', '-n', endpoint, '--registry', 'myacr.azurecr.io', '-o', 'yaml'])]);
  const page = new URL((await oep.ok(['dashboard', '-n', endpoint])).trim());
  const api = new URL(`/api/endpoints/${endpoint}?token=${page.searchParams.get('token')}`, page);
  const snapshot = await fetch(api);
  assert.equal(snapshot.status, 200);
  places.push(['dashboard', await snapshot.text()]);
  for (const [where, text] of places) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `${where} holds a secret or token (${secret.slice(0, 8)}...)`);
  }
}
