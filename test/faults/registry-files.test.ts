import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox } from '../e2e/harness.js';

/**
 * The registry's snapshots (issue, point 7): their folders kept the modes of the folders they
 * copied (0755), their files too (0644), and a `model create` interrupted while it copied a large
 * folder left its temporary copy under OEP_HOME/registry for good (no listing shows it).
 */

/** Every entry under `root` as "path mode", folders included. */
function modes(root: string): string[] {
  const out: string[] = [];
  const visit = (path: string): void => {
    const info = lstatSync(path);
    out.push(`${relative(root, path) || '.'} ${(info.mode & 0o777).toString(8)}`);
    if (info.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
  };
  visit(root);
  return out;
}

describe('registry snapshots: private, and no copy left behind by an interrupted create', { timeout: 300_000 }, () => {
  let previousUmask = 0;
  let oep: OepSandbox;
  let dir = '';
  const nameDir = (name: string): string => join(oep.home, 'registry', 'models', name);
  const leftovers = (name: string): string[] => (existsSync(nameDir(name)) ? readdirSync(nameDir(name)).filter((entry) => entry.includes('.tmp-')) : []);

  before(() => {
    previousUmask = process.umask(0o022);
    oep = new OepSandbox();
    dir = mkdtempSync(join(tmpdir(), 'oep-registry-'));
  });
  after(async () => {
    process.umask(previousUmask);
    await oep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('folders 0700, files 0600 (0700 when executable), whatever the source and the umask', async () => {
    const model = join(dir, 'model');
    mkdirSync(join(model, 'sub'), { recursive: true });
    writeFileSync(join(model, 'weights.bin'), 'w');
    writeFileSync(join(model, 'sub', 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(model, 'sub', 'run.sh'), 0o755);
    chmodSync(join(model, 'weights.bin'), 0o644);
    await oep.ok(['model', 'create', '--name', 'private', '--version', '1', '--path', model, '-o', 'none']);
    writeFileSync(join(dir, 'conda.yaml'), 'dependencies: [python=3.11]\n');
    await oep.ok(['environment', 'create', '--name', 'private-env', '--version', '1', '--image', 'python:3.11', '--conda-file', join(dir, 'conda.yaml'), '-o', 'none']);
    assert.deepEqual(modes(join(oep.home, 'registry')), [
      '. 700',
      'environments 700',
      'environments/private-env 700',
      'environments/private-env/1 700',
      'environments/private-env/1/asset.json 600',
      'environments/private-env/1/files 700',
      'environments/private-env/1/files/conda.yaml 600',
      'models 700',
      'models/private 700',
      'models/private/1 700',
      'models/private/1/asset.json 600',
      'models/private/1/files 700',
      'models/private/1/files/model 700',
      'models/private/1/files/model/sub 700',
      'models/private/1/files/model/sub/run.sh 700',
      'models/private/1/files/model/weights.bin 600',
    ]);
  });

  it('Ctrl-C during the copy of a large folder: exit 130 and no temporary copy left', async () => {
    const big = join(dir, 'big');
    mkdirSync(big);
    const chunk = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 1600; i += 1) writeFileSync(join(big, `part-${i}`), chunk);
    const running = oep.start(['model', 'create', '--name', 'big', '--path', big, '-o', 'none']);
    // Interrupted once its temporary copy exists (the copy of 400 MB takes a while).
    const deadline = Date.now() + 60_000;
    while (leftovers('big').length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(leftovers('big').length, 1, 'the copy started');
    running.child.kill('SIGINT');
    assert.equal(await running.exited, 130, running.stderr);
    assert.deepEqual(leftovers('big'), []);
    const listed = JSON.parse(await oep.ok(['model', 'list', '-o', 'json'])) as { name: string }[];
    assert.deepEqual(listed.map((model) => model.name), ['private']);
  });

  it('a create killed with SIGKILL leaves its copy, and the next create of that name removes it', async () => {
    const running = oep.start(['model', 'create', '--name', 'big', '--path', join(dir, 'big'), '-o', 'none']);
    const deadline = Date.now() + 60_000;
    while (leftovers('big').length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    running.child.kill('SIGKILL');
    await running.exited;
    assert.equal(leftovers('big').length, 1, 'SIGKILL leaves the copy: nothing runs to remove it');
    writeFileSync(join(dir, 'small.bin'), 's');
    await oep.ok(['model', 'create', '--name', 'big', '--path', join(dir, 'small.bin'), '-o', 'none']);
    assert.deepEqual(leftovers('big'), []);
    assert.deepEqual(readdirSync(nameDir('big')), ['1']);
  });
});
