import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { extract } from 'tar-stream';
import { digestContext, isIgnored, memoryContext, packContext, parseDockerignore, readContext } from '../../src/runtimes/docker/build-context.js';

/** A build context on disk from an object literal of files. */
function context(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'oep-ctx-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  roots.push(root);
  return root;
}
const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

async function untar(stream: NodeJS.ReadableStream): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (chunk) => void chunks.push(chunk as Buffer));
      body.on('end', () => {
        files[`${header.type}:${header.name}`] = Buffer.concat(chunks).toString('utf8');
        next();
      });
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  stream.pipe(reader as unknown as NodeJS.WritableStream);
  await done;
  return files;
}

describe('.dockerignore', () => {
  const rules = parseDockerignore('# comment\n*.pyc\n**/__pycache__\ndata/\n!data/keep.csv\n/secrets.env\n');

  it('matches globs, directories and their files, with "!" re-including', () => {
    assert.equal(isIgnored('a.pyc', rules), true);
    assert.equal(isIgnored('src/a.pyc', rules), false, '* does not cross directories');
    assert.equal(isIgnored('src/deep/__pycache__/x.cpython-311.pyc', rules), true);
    assert.equal(isIgnored('data/big.bin', rules), true);
    assert.equal(isIgnored('data/keep.csv', rules), false);
    assert.equal(isIgnored('secrets.env', rules), true);
    assert.equal(isIgnored('score.py', rules), false);
  });
});

describe('build contexts', () => {
  it('reads files sorted, without ignored ones, always keeping the Dockerfile', async () => {
    const root = context({
      Dockerfile: 'FROM x\n',
      '.dockerignore': 'Dockerfile\n*.log\n',
      'app/main.py': 'print(1)\n',
      'build.log': 'noise',
    });
    const names = (await readContext(root)).map((entry) => `${entry.type}:${entry.name}`);
    assert.deepEqual(names, ['file:.dockerignore', 'file:Dockerfile', 'directory:app', 'file:app/main.py']);
  });

  it('the digest follows contents, names and the executable bit, not timestamps or ignored files', async () => {
    const root = context({ Dockerfile: 'FROM x\n', 'run.sh': 'echo hi\n', '.dockerignore': '*.tmp\n' });
    const first = await digestContext(await readContext(root));
    writeFileSync(join(root, 'scratch.tmp'), 'ignored');
    writeFileSync(join(root, 'run.sh'), 'echo hi\n');
    assert.equal(await digestContext(await readContext(root)), first, 'rewriting the same content changes nothing');
    chmodSync(join(root, 'run.sh'), 0o755);
    const executable = await digestContext(await readContext(root));
    assert.notEqual(executable, first);
    writeFileSync(join(root, 'run.sh'), 'echo bye\n');
    assert.notEqual(await digestContext(await readContext(root)), executable);
  });

  it('packs files from disk and from memory into the tar the build API reads', async () => {
    const root = context({ Dockerfile: 'FROM x\n', 'app/main.py': 'print(1)\n' });
    assert.deepEqual(await untar(packContext(await readContext(root))), {
      'file:Dockerfile': 'FROM x\n',
      'directory:app': '',
      'file:app/main.py': 'print(1)\n',
    });
    assert.deepEqual(await untar(packContext(memoryContext({ 'conda.yaml': 'name: e\n', Dockerfile: 'FROM y\n' }))), {
      'file:Dockerfile': 'FROM y\n',
      'file:conda.yaml': 'name: e\n',
    });
  });
});
