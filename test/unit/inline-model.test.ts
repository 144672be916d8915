import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contentDigest } from '../../src/registry/content-digest.js';
import { planInlineModel, registerPlannedModel } from '../../src/registry/inline-model.js';
import { listVersions, registerModel, setArchived, type ModelRecord } from '../../src/registry/store.js';
import type { DeploymentSpec, InlineModel } from '../../src/spec/types.js';

/** Only the fields planInlineModel reads; the rest of a deployment does not matter to it. */
function deployment(model: DeploymentSpec['model']): DeploymentSpec {
  return { name: 'blue', endpoint_name: 'ep', model } as DeploymentSpec;
}

function modelFolder(root: string, name: string, weights: string): string {
  const dir = join(root, name, 'model');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'weights.json'), weights);
  return dir;
}

describe('content digests', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'oep-digest-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the same files anywhere have the same digest; a changed byte, a new file or a renamed file change it', async () => {
    const one = modelFolder(root, 'one', '{"a": 1}');
    const two = modelFolder(root, 'two', '{"a": 1}');
    assert.equal(await contentDigest(one), await contentDigest(two));
    writeFileSync(join(two, 'weights.json'), '{"a": 2}');
    assert.notEqual(await contentDigest(one), await contentDigest(two));
    const three = modelFolder(root, 'three', '{"a": 1}');
    writeFileSync(join(three, 'extra.txt'), '');
    assert.notEqual(await contentDigest(one), await contentDigest(three));
    const four = join(root, 'four');
    mkdirSync(four);
    writeFileSync(join(four, 'weights2.json'), '{"a": 1}');
    assert.notEqual(await contentDigest(one), await contentDigest(four));
  });

  it('byte-code caches are left out; links are followed, a loop ends', async () => {
    const one = modelFolder(root, 'five', '{"a": 1}');
    const before = await contentDigest(one);
    mkdirSync(join(one, '__pycache__'));
    writeFileSync(join(one, '__pycache__', 'x.cpython-311.pyc'), 'x');
    writeFileSync(join(one, 'y.pyc'), 'y');
    assert.equal(await contentDigest(one), before);
    symlinkSync(one, join(one, 'loop'));
    assert.notEqual(await contentDigest(one), before);
  });
});

describe('named inline models are registered as Azure registers them', () => {
  let root = '';
  let home = '';
  const inline = (path: string, extra: Partial<InlineModel> = {}): InlineModel => ({ name: 'lin', version: '1', path, type: 'custom_model', ...extra });

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'oep-inline-'));
    home = join(root, 'home');
    mkdirSync(home);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a new name:version is registered with the YAML\'s description, tags and properties; again with the same files, nothing to do', async () => {
    const path = modelFolder(root, 'a', '{"w": 1}');
    const plan = await planInlineModel(deployment(inline(path, { description: 'd', tags: { t: '1' }, properties: { p: '2' } })), home);
    assert.equal(plan.conflict, undefined);
    assert.deepEqual(plan.register, { name: 'lin', version: '1', path, type: 'custom_model', description: 'd', tags: { t: '1' }, properties: { p: '2' } });
    assert.equal(await registerPlannedModel(plan, home), undefined);
    const [record] = await listVersions<ModelRecord>(home, 'models', 'lin');
    assert.equal(record!.version, '1');
    assert.equal(record!.description, 'd');

    // The same files from another folder with the same last segment: the same registered version.
    const copy = modelFolder(root, 'b', '{"w": 1}');
    const again = await planInlineModel(deployment(inline(copy)), home);
    assert.deepEqual([again.register, again.conflict], [undefined, undefined]);
  });

  it('other files under a registered version are a conflict that names the model, the version and the path', async () => {
    const path = modelFolder(root, 'c', '{"w": 2}');
    const plan = await planInlineModel(deployment(inline(path)), home);
    assert.equal(plan.register, undefined);
    assert.equal(plan.conflict, `model lin version 1 is already registered with other files than model.path "${path}"; a registered version cannot change.`);
    assert.deepEqual(plan.existing, { name: 'lin', version: '1' });
  });

  it('the same files under another last segment are another path, as Azure\'s upload path keeps it', async () => {
    const other = join(root, 'd', 'weights');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'weights.json'), '{"w": 1}');
    const plan = await planInlineModel(deployment(inline(other)), home);
    assert.match(plan.conflict ?? '', /^model lin version 1 is already registered with a path ending "model", not "weights" \(model\.path ".*"\); a registered version cannot change\.$/);
  });

  it('without a version: the newest version with the same files, else the next version; the spec gets it', async () => {
    const same = modelFolder(root, 'e', '{"w": 1}');
    const reuse = await planInlineModel(deployment(inline(same, { version: undefined })), home);
    assert.equal(reuse.register, undefined);
    assert.equal((reuse.spec.model as InlineModel).version, '1');

    const changed = modelFolder(root, 'f', '{"w": 3}');
    const next = await planInlineModel(deployment(inline(changed, { version: undefined })), home);
    assert.equal(next.register?.version, '2');
    assert.equal((next.spec.model as InlineModel).version, '2');
    await registerPlannedModel(next, home);

    // An archived version is not picked up again: the next one is registered.
    await setArchived(home, 'models', 'lin', '2', true);
    const afterArchive = await planInlineModel(deployment(inline(changed, { version: undefined })), home);
    assert.equal(afterArchive.register?.version, '3');
  });

  it('nothing is registered for an anonymous model, a remote path or a resolved azureml: reference', async () => {
    const path = modelFolder(root, 'g', '{"w": 4}');
    const anonymous = await planInlineModel(deployment({ path }), home);
    assert.deepEqual(anonymous, { spec: deployment({ path }) });
    assert.deepEqual(await planInlineModel(deployment(inline('azureml://datastores/d/paths/m')), home), { spec: deployment(inline('azureml://datastores/d/paths/m')) });
    const [record] = await listVersions<ModelRecord>(home, 'models', 'lin');
    const resolved = deployment({ name: 'lin', version: '1', path: record!.path, type: 'custom_model' });
    assert.deepEqual(await planInlineModel(resolved, home), { spec: resolved });
    assert.deepEqual(await planInlineModel(deployment('azureml:lin:1'), home), { spec: deployment('azureml:lin:1') });
  });

  it('a version registered by someone else in between: the same files are fine, others come back as the conflict', async () => {
    const path = modelFolder(root, 'h', '{"w": 5}');
    const plan = await planInlineModel(deployment(inline(path, { name: 'raced' })), home);
    await registerModel(home, { name: 'raced', version: '1', path, type: 'custom_model' });
    assert.equal(await registerPlannedModel(plan, home), undefined);

    const other = modelFolder(root, 'i', '{"w": 6}');
    const late = await planInlineModel(deployment(inline(other, { name: 'raced', version: '2' })), home);
    await registerModel(home, { name: 'raced', version: '2', path, type: 'custom_model' });
    assert.match((await registerPlannedModel(late, home)) ?? '', /^model raced version 2 is already registered with other files/);
  });
});
