import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isOepError } from '../../src/errors.js';
import { loadAnySpec } from '../../src/spec/index.js';
import { OepSandbox, REPO_ROOT } from '../e2e/harness.js';

/**
 * Bad input is an error, never a crash: a corpus of mutated endpoint and deployment YAMLs (NUL
 * bytes, over-long path components, wrong types, truncation, aliases, deep nesting, template
 * names...) all end in exit 0 or 2 with no stack trace. The corpus is generated from a fixed seed,
 * so a failure names a file that can be generated again.
 */
const CORPUS_SIZE = 1200;
const BATCH = 150;

/** mulberry32: a small seeded PRNG, so the corpus is the same on every machine. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  join(REPO_ROOT, 'test', 'fixtures', 'spec', 'valid', 'deployment.yml'),
  join(REPO_ROOT, 'test', 'fixtures', 'spec', 'valid', 'endpoint.yml'),
  join(REPO_ROOT, 'test', 'fixtures', 'rollout', 'blue.yml'),
  join(REPO_ROOT, 'test', 'fixtures', 'tutorial', 'endpoints', 'online', 'managed', 'saferollout', 'blue-deployment.yml'),
  join(REPO_ROOT, 'examples', 'sklearn', 'blue-deployment.yml'),
];

const VALUES = [
  'null', '~', '0', '-1', '1e309', '99999999999999999999', 'true', 'yes', '[]', '{}', '""', "''", '"\\0"', '"a\\u0000b"',
  `"${'x'.repeat(300)}"`, `"./${'d'.repeat(260)}/${'e'.repeat(4200)}"`, '"../../../../../../etc/passwd"', '"/dev/null"', '"azureml:x"',
  'azureml:m:1', 'azureml:AzureML-sklearn-1.5@latest', '{{NAME}}', '<name>', '${NAME}', '&a [1, *a]', '!!binary aGk=', '!!python/object:os.system x',
  '"\\uD800"', '"🙂"', '- a\n  - b', '{a: {b: {c: {d: {e: {f: {g: 1}}}}}}}', '[[[[[[[[[[1]]]]]]]]]]', '"\\t"', '0x1F', '.inf', '.nan',
];
const KEYS = [
  'name', 'endpoint_name', 'model', 'model.path', 'code_configuration', 'code_configuration.code', 'code_configuration.scoring_script',
  'environment', 'environment.image', 'environment.conda_file', 'environment.build', 'environment.build.path', 'instance_count',
  'instance_type', 'request_settings', 'request_settings.request_timeout_ms', 'liveness_probe.period', 'traffic', 'mirror_traffic',
  'auth_mode', 'compute', 'data_collector', 'data_collector.collections.model_inputs.enabled', 'environment_variables',
  'environment_variables.A', 'scale_settings', '__proto__', 'constructor', 'tags.t', 'identity.type', '$schema',
];

function mutate(text: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const lines = text.split('\n');
  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    const kind = Math.floor(random() * 9);
    const at = Math.floor(random() * Math.max(lines.length, 1));
    switch (kind) {
      case 0: {
        // Replace a value.
        const line = lines[at] ?? '';
        const colon = line.indexOf(':');
        if (colon > 0) lines[at] = `${line.slice(0, colon)}: ${pick(VALUES)}`;
        break;
      }
      case 1: {
        // Add a key (dotted keys become nested maps).
        const parts = pick(KEYS).split('.');
        const nested = parts.map((part, i) => `${'  '.repeat(i)}${part}:`).join('\n');
        lines.push(`${nested} ${pick(VALUES)}`);
        break;
      }
      case 2:
        lines.splice(at, 1);
        break;
      case 3:
        lines.splice(at, 0, lines[Math.floor(random() * lines.length)] ?? '');
        break;
      case 4:
        // Truncate mid-line.
        return lines.join('\n').slice(0, Math.floor(random() * text.length));
      case 5:
        lines[at] = `\t${lines[at] ?? ''}`;
        break;
      case 6:
        lines[at] = (lines[at] ?? '').replace(/: (.+)$/, ': "$1\u0000"');
        break;
      case 7:
        lines[at] = `${' '.repeat(Math.floor(random() * 5))}${lines[at] ?? ''}`;
        break;
      default:
        lines[at] = (lines[at] ?? '').replace(/[a-z]/, () => String.fromCharCode(32 + Math.floor(random() * 95)));
    }
  }
  return lines.join('\n');
}

describe('fuzzed YAML: exit 0 or 2, never a crash', () => {
  const oep = new OepSandbox();
  let dir = '';
  let files: string[] = [];

  before(() => {
    dir = join(oep.home, 'corpus');
    mkdirSync(dir);
    // Relative paths in the seeds resolve against the corpus folder: give them something to find.
    mkdirSync(join(dir, 'code'));
    writeFileSync(join(dir, 'code', 'score.py'), 'def init():\n    pass\n\ndef run(data):\n    return data\n');
    const random = prng(20261201);
    const seeds = SEEDS.map((file) => readFileSync(file, 'utf8'));
    for (let n = 0; n < CORPUS_SIZE; n++) {
      const name = `fuzz-${String(n).padStart(4, '0')}.yml`;
      writeFileSync(join(dir, name), mutate(seeds[n % seeds.length]!, random));
      files.push(name);
    }
    files = readdirSync(dir).filter((name) => name.endsWith('.yml')).sort();
  });
  after(() => oep.close());

  it(`validates ${CORPUS_SIZE} mutated files in-process without an unexpected exception`, async () => {
    const crashes: string[] = [];
    for (const file of files) {
      try {
        await loadAnySpec({ file, cwd: dir, placeholders: 'warn' });
      } catch (error) {
        if (!isOepError(error)) crashes.push(`${file}: ${(error as Error).stack ?? String(error)}`);
      }
    }
    assert.deepEqual(crashes, []);
  });

  it('oep validate on the whole corpus: exit 0 or 2, no stack trace, no "this is a bug"', async () => {
    for (let start = 0; start < files.length; start += BATCH) {
      const batch = files.slice(start, start + BATCH);
      const result = await oep.run(['validate', ...batch.flatMap((file) => ['-f', file])], { cwd: dir });
      assert.ok(result.code === 0 || result.code === 2, `exit ${result.code} for ${batch[0]}..${batch.at(-1)}:\n${result.stderr.slice(-3000)}`);
      assert.doesNotMatch(result.stderr, /this is a bug|\n {4}at /, `a crash in ${batch[0]}..${batch.at(-1)}`);
    }
  });

  it('a YAML over 10 MB is refused before it is parsed', async () => {
    const big = join(dir, 'big.yml');
    writeFileSync(big, `name: big\ntags:\n${'  k: v\n'.repeat(1_900_000)}`);
    const result = await oep.run(['validate', '-f', 'big.yml'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: 1 problem\(s\) found\.\n {2}big\.yml is 1\d\.\d MB; oep reads YAML files up to 10 MB\./);
  });

  it('NUL bytes and over-long path components name the key and line, exit 2', async () => {
    writeFileSync(join(dir, 'nul.yml'), 'name: blue\nendpoint_name: ep\nmodel:\n  path: "./mo\\0del"\ncode_configuration:\n  code: ./code\n  scoring_script: score.py\nenvironment:\n  image: x\ninstance_type: Standard_DS3_v2\n');
    const nul = await oep.run(['validate', '-f', 'nul.yml'], { cwd: dir });
    assert.equal(nul.code, 2);
    assert.match(nul.stderr, /nul\.yml:4:9 model\.path: Contains a NUL character, which no path can hold\./);
    writeFileSync(join(dir, 'long.yml'), `name: blue\nendpoint_name: ep\nmodel:\n  path: ./${'m'.repeat(300)}\ncode_configuration:\n  code: ./code\n  scoring_script: score.py\nenvironment:\n  image: x\ninstance_type: Standard_DS3_v2\n`);
    const long = await oep.run(['deployment', 'create', '-f', 'long.yml'], { cwd: dir });
    assert.equal(long.code, 2);
    assert.match(long.stderr, /long\.yml:4:9 model\.path: ".*\(302 characters\)" cannot be used as a path \(ENAMETOOLONG: a name in it is longer than the file system allows\)\./);
  });
});
