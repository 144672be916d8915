import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FIXTURE_DEPLOYMENTS, FIXTURE_KEYS, FIXTURE_MIRROR, FIXTURE_TRAFFIC, FIXTURE_UPDATED_AT } from '../unit/export-source.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { validateObject } from '../unit/export-validate.js';
import { example, OepSandbox, REPO_ROOT } from './harness.js';

const GOLDEN = join(REPO_ROOT, 'test', 'fixtures', 'export', 'kubernetes');
const ENDPOINT = 'export-e2e';
const FIXED_TAG = `g1-${FIXTURE_UPDATED_AT.replace(/\.\d+/, '').replace(/[^0-9]/g, '')}`;

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function objectsOf(text: string): any[] {
  return parseAllDocuments(text).map((document) => document.toJSON());
}

describe('oep endpoint export: a real endpoint (process runtime) as a folder for kubectl apply -k', () => {
  const oep = new OepSandbox();
  const out = mkdtempSync(join(tmpdir(), 'oep-export-'));
  const dir = join(out, 'k8s');
  let keys: { primaryKey: string; secondaryKey: string };

  /** The exported text with this run's keys and image tags replaced by the golden folder's. */
  const normalise = (text: string): string =>
    text
      .replaceAll(keys.primaryKey, FIXTURE_KEYS.primary)
      .replaceAll(keys.secondaryKey, FIXTURE_KEYS.secondary)
      .replace(/:g\d+-\d{14}\b/g, `:${FIXED_TAG}`);

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-n', ENDPOINT, '-o', 'none']);
    for (const [name, set] of Object.entries(FIXTURE_DEPLOYMENTS)) {
      await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '-n', name, '-e', ENDPOINT, '--runtime', 'process', '-o', 'none', ...set.flatMap((item) => ['--set', item])]);
    }
    const traffic = Object.entries(FIXTURE_TRAFFIC).map(([name, percent]) => `${name}=${percent}`).join(' ');
    const mirror = Object.entries(FIXTURE_MIRROR).map(([name, percent]) => `${name}=${percent}`).join(' ');
    await oep.ok(['endpoint', 'update', '-n', ENDPOINT, '--traffic', traffic, '--mirror-traffic', mirror, '-o', 'none']);
    keys = JSON.parse(await oep.ok(['endpoint', 'get-credentials', '-n', ENDPOINT])) as typeof keys;
  });

  after(async () => {
    await oep.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('writes the golden folder (this run\'s keys and image tags aside), lists the files on stdout and says how to apply', async () => {
    const result = await oep.run(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io', '-d', dir]);
    assert.equal(result.code, 0, result.stderr);
    const golden = readdirSync(GOLDEN).sort();
    assert.deepEqual(result.stdout.trim().split('\n').sort(), golden.map((name) => join(dir, name)));
    assert.equal(result.stderr, `hint: build the images (see the top of kustomization.yaml), then: kubectl apply -k ${dir}\n`);
    assert.deepEqual(readdirSync(dir).sort(), golden);
    for (const name of golden) assert.equal(normalise(readFileSync(join(dir, name), 'utf8')), readFileSync(join(GOLDEN, name), 'utf8'), `${name} differs from the golden copy`);
    assert.equal(statSync(join(dir, 'secret.yaml')).mode & 0o777, 0o600, "the keys' file is private");
    for (const name of golden.filter((file) => file !== 'kustomization.yaml')) for (const object of objectsOf(readFileSync(join(dir, name), 'utf8'))) validateObject(object);
  });

  it('kubectl kustomize renders the folder (when kubectl is installed)', { skip: prerequisiteSkip('kubectl kustomize checks', !hasKubectl() && 'kubectl is not installed (apt-get install kubernetes-client)') }, () => {
    const rendered = objectsOf(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }));
    // 2 Secrets (the keys, blue's environment_variables), 3 Deployments, 3 Services, Gateway, HTTPRoute, SecurityPolicy.
    assert.equal(rendered.length, 11);
    const route = rendered.find((object) => object.kind === 'HTTPRoute');
    assert.deepEqual(route.spec.rules[0].backendRefs.map((ref: { name: string; weight: number }) => `${ref.name}=${ref.weight}`), ['export-e2e-blue=90', 'export-e2e-green=10']);
  });

  it('-o yaml prints the same objects as one stream; -o json as a List', async () => {
    const folderObjects = readdirSync(dir)
      .filter((name) => name !== 'kustomization.yaml')
      .flatMap((name) => objectsOf(readFileSync(join(dir, name), 'utf8')));
    const byName = (objects: any[]): string[] => objects.map((object) => `${object.kind}/${object.metadata.name}`).sort();
    const stream = objectsOf(await oep.ok(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io', '-o', 'yaml']));
    assert.deepEqual(byName(stream), byName(folderObjects));
    assert.deepEqual(stream, objectsOf(await oep.ok(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io'])), 'yaml is the default');
    const list = JSON.parse(await oep.ok(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io', '-o', 'json'])) as { kind: string; items: unknown[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items, stream);
  });

  // Bad flags (--format, --gateway-class, --registry, -d with -o, --auth-policy) need no daemon:
  // rows of test/unit/cli-table.test.ts.
  it('an endpoint that does not exist exits 2 and writes nothing', async () => {
    const missing = await oep.run(['endpoint', 'export', '-n', 'nope-endpoint', '-d', join(out, 'never')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Online endpoint nope-endpoint does not exist\.[\s\S]*OEP_ERR_ENDPOINT_NOT_FOUND/);
    assert.equal(existsSync(join(out, 'never')), false);
  });

  it('exporting again replaces what oep wrote (a deleted deployment\'s file goes) and never overwrites a file it did not write', async () => {
    await oep.ok(['endpoint', 'update', '-n', ENDPOINT, '--mirror-traffic', 'shadow=0', '-o', 'none']);
    await oep.ok(['deployment', 'delete', '-n', 'shadow', '-e', ENDPOINT, '--yes']);
    writeFileSync(join(dir, 'notes.md'), 'mine\n');
    await oep.ok(['endpoint', 'export', '-n', ENDPOINT, '--registry', 'myacr.azurecr.io', '-d', dir]);
    assert.deepEqual(readdirSync(dir).sort(), ['export-e2e-blue.yaml', 'export-e2e-green.yaml', 'gateway.yaml', 'httproute.yaml', 'kustomization.yaml', 'notes.md', 'secret.yaml', 'securitypolicy.yaml']);
    assert.doesNotMatch(readFileSync(join(dir, 'httproute.yaml'), 'utf8'), /RequestMirror|shadow/);

    writeFileSync(join(dir, 'gateway.yaml'), '# my own gateway\n');
    const refused = await oep.run(['endpoint', 'export', '-n', ENDPOINT, '-d', dir]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /has gateway\.yaml, which oep did not write; the export would overwrite it\.[\s\S]*OEP_ERR_USAGE/);
    assert.equal(readFileSync(join(dir, 'gateway.yaml'), 'utf8'), '# my own gateway\n');
  });
});
