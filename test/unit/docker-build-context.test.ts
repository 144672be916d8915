import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { extract } from 'tar-stream';
import { OepError } from '../../src/errors.js';
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

describe('.dockerignore as Docker reads it', () => {
  const ignored = (patterns: string, name: string): boolean => isIgnored(name, parseDockerignore(patterns));

  it('a character class: [a-c]*.txt ignores b.txt and abc.txt, not d.txt or sub/b.txt', () => {
    assert.equal(ignored('[a-c]*.txt', 'b.txt'), true);
    assert.equal(ignored('[a-c]*.txt', 'abc.txt'), true);
    assert.equal(ignored('[a-c]*.txt', 'd.txt'), false);
    assert.equal(ignored('[a-c]*.txt', 'sub/b.txt'), false);
    assert.equal(ignored('[^a-c].txt', 'd.txt'), true, 'a negated class');
    assert.equal(ignored('[^a-c].txt', 'a.txt'), false);
  });

  it('"!" re-includes what an earlier line ignored, and a later line can ignore it again', () => {
    assert.equal(ignored('*.txt\n![a-c].txt', 'b.txt'), false);
    assert.equal(ignored('*.txt\n![a-c].txt', 'd.txt'), true);
    assert.equal(ignored('*.txt\n!b.txt\nb*', 'b.txt'), true, 'the last matching line wins');
  });

  it('"**" spans any number of folders, "?" one character, a folder takes its files along', () => {
    assert.equal(ignored('a/**/z.txt', 'a/z.txt'), true);
    assert.equal(ignored('a/**/z.txt', 'a/b/c/z.txt'), true);
    assert.equal(ignored('a/**/z.txt', 'b/z.txt'), false);
    assert.equal(ignored('file?.txt', 'file1.txt'), true);
    assert.equal(ignored('file?.txt', 'file10.txt'), false);
    assert.equal(ignored('build', 'build/lib/x.so'), true);
    assert.equal(ignored('*/tmp', 'src/tmp/x'), true);
  });

  it('is case-sensitive, and reads + ( ) | { } as themselves', () => {
    assert.equal(ignored('*.PYC', 'a.pyc'), false);
    assert.equal(ignored('a+b.txt', 'a+b.txt'), true);
    assert.equal(ignored('a+b.txt', 'aab.txt'), false);
    assert.equal(ignored('(draft)|{x}.md', '(draft)|{x}.md'), true);
    assert.equal(ignored('\\(draft\\).md', '(draft).md'), true, 'an escaped character stays escaped');
  });

  it('a line that is not a pattern stops the build with the file and line', async () => {
    const root = context({ Dockerfile: 'FROM x\n', '.dockerignore': '*.log\n[abc\n' });
    await assert.rejects(readContext(root), (error: unknown) => {
      assert.ok(error instanceof OepError);
      assert.equal(error.code, 'OEP_ERR_IMAGE_BUILD_FAILED');
      assert.equal(error.message, `${join(root, '.dockerignore')}:2: "[abc" is not a valid .dockerignore pattern.`);
      return true;
    });
  });

  it('what it ignores stays out of the context and of its digest (the image cache key)', async () => {
    const root = context({ Dockerfile: 'FROM x\n', '.dockerignore': '[a-c]*.txt\n', 'd.txt': 'kept' });
    const names = (await readContext(root)).map((entry) => entry.name);
    assert.deepEqual(names, ['.dockerignore', 'Dockerfile', 'd.txt']);
    const digest = await digestContext(await readContext(root));
    writeFileSync(join(root, 'b.txt'), 'ignored');
    assert.equal(await digestContext(await readContext(root)), digest);
    writeFileSync(join(root, 'e.txt'), 'not ignored');
    assert.notEqual(await digestContext(await readContext(root)), digest);
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
