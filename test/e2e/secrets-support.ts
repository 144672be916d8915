import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT, type OepSandbox, type RunResult } from './harness.js';

/**
 * test/fixtures/secrets: an endpoint, a deployment whose environment_variables use the five forms
 * of secret references (Microsoft's pattern: code/score.py reads os.environ["OPENAI_KEY"]), two
 * connections (custom keys, Azure OpenAI) whose keys the tests plant, and a stand-in `az` for the
 * real Key Vault.
 */
export const SECRETS_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'secrets');
export const STAND_IN_AZ_DIR = join(SECRETS_FIXTURES, 'bin');
export const ENDPOINT = 'secrets-ep';
export const VAULT_URL = 'https://oepvault.vault.azure.net/secrets/secret1';

/** A value no test output could hold by chance; never printed by a test (only its first 8 characters). */
export function plant(what: string): string {
  return `planted-${what}-${randomBytes(12).toString('hex')}`;
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** What code/score.py answers. */
export interface ScriptAnswer {
  pid: number;
  host: string;
  openai_key_sha256: string;
  sha256: Record<string, string>;
  plain: Record<string, string | null>;
  connection: null | {
    id: string;
    name: string;
    type: string;
    authType: string;
    category: string;
    target: string;
    metadata: Record<string, string>;
    credentials_sha256: Record<string, string>;
  };
}

/**
 * A sandbox whose every command's output is kept, for the leak test (all CLI output). Commands
 * whose purpose is to print a secret (`keyvault secret show`, `connection show --show-secrets`)
 * are never run through it.
 */
export class RecordingSandbox {
  readonly outputs: { command: string; text: string }[] = [];

  constructor(readonly oep: OepSandbox) {}

  async run(args: string[], options: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const result = await this.oep.run(args, options);
    this.outputs.push({ command: `oep ${args.join(' ')}`, text: `${result.stdout}\n${result.stderr}` });
    return result;
  }

  async ok(args: string[], options: { cwd?: string; input?: string } = {}): Promise<string> {
    const result = await this.run(args, options);
    assert.equal(result.code, 0, `oep ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    return result.stdout;
  }

  async invoke(deployment?: string): Promise<ScriptAnswer> {
    const out = await this.ok(['endpoint', 'invoke', '-n', ENDPOINT, ...(deployment ? ['--deployment-name', deployment] : []), '--request-file', '-'], { input: '{"ask": "secrets"}' });
    return JSON.parse(out) as ScriptAnswer;
  }
}

/** Every regular file under `dir`, relative to it. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The stores that hold the secrets by design (0600, in 0700 folders): the only files under OEP_HOME that may. */
export const SECRET_STORES = /^registry\/(connections\/[^/]+\.json|keyvault\/[^/]+\/[^/]+\.json)$/;

/**
 * No planted secret anywhere oep writes or shows but its two stores: every file under OEP_HOME
 * (state, daemon and replica logs, storage-initializer logs, access logs, compare pairs, data
 * collection, the build's env file), the export folder, the dashboard's JSON, and every CLI output
 * the test recorded. Secrets are named by their first characters only.
 */
export async function assertNoLeak(sandbox: RecordingSandbox, secrets: string[], extra: { where: string; text: string }[] = []): Promise<void> {
  const home = sandbox.oep.home;
  const places: { where: string; text: string }[] = [];
  let stores = 0;
  for (const file of filesUnder(home)) {
    const path = join(home, file);
    if (statSync(path).size > 50 * 1024 * 1024) continue;
    const text = readFileSync(path, 'latin1');
    if (SECRET_STORES.test(file)) {
      stores += 1;
      assert.equal(statSync(path).mode & 0o777, 0o600, `${file} is private`);
      continue;
    }
    places.push({ where: `OEP_HOME/${file}`, text });
  }
  assert.ok(stores >= 2, 'the connection and vault files were looked at');
  for (const expected of ['daemon.log', 'state.json', 'storage-initializer.log']) {
    assert.ok(places.some(({ where }) => where.endsWith(expected)), `${expected} is among the files`);
  }
  const page = new URL((await sandbox.ok(['dashboard', '-n', ENDPOINT])).trim());
  for (const path of [`/api/endpoints/${ENDPOINT}`, '/api/endpoints']) {
    const answer = await fetch(new URL(`${path}?token=${page.searchParams.get('token')}`, page));
    assert.equal(answer.status, 200, path);
    places.push({ where: `dashboard ${path}`, text: await answer.text() });
  }
  places.push(...sandbox.outputs.map(({ command, text }) => ({ where: command, text })), ...extra);
  for (const { where, text } of places) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `${where} holds a planted secret (${secret.slice(0, 16)}...)`);
  }
}
