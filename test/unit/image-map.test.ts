import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { mappedImage, normaliseImage, parseImageMap, readImageMap } from '../../src/spec/image-map.js';
import { substituteImage, substitutionNotice, type ImageRecipe } from '../../src/runtimes/docker/recipe.js';

const MAP = parseImageMap(
  ['# Azure -> stand-in', 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04: local/standin:1', 'mcr.microsoft.com/azureml/mlflow:2: local/mlflow:1', ''].join('\n'),
  '/m.yml',
);

function problems(text: string): string[] {
  try {
    parseImageMap(text, '/m.yml');
  } catch (error) {
    assert.ok(error instanceof OepError);
    assert.equal(error.code, 'OEP_ERR_IMAGE_MAP_INVALID');
    return error.details;
  }
  assert.fail('no error');
}

describe('image map', () => {
  it('name and name:latest are one image; tags and digests are kept', () => {
    assert.equal(normaliseImage('mcr.microsoft.com/azureml/x'), 'mcr.microsoft.com/azureml/x:latest');
    assert.equal(normaliseImage('localhost:5000/x'), 'localhost:5000/x:latest');
    assert.equal(normaliseImage('localhost:5000/x:2'), 'localhost:5000/x:2');
    assert.equal(normaliseImage('x@sha256:abc'), 'x@sha256:abc');
    assert.equal(mappedImage(MAP, 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest'), 'local/standin:1');
    assert.equal(mappedImage(MAP, 'mcr.microsoft.com/azureml/mlflow:2'), 'local/mlflow:1');
    assert.equal(mappedImage(MAP, 'mcr.microsoft.com/azureml/mlflow'), undefined);
    assert.equal(mappedImage(undefined, 'anything'), undefined);
  });

  it('names the file, line and column of every bad line', () => {
    const syntax = problems('a/b: c/d\n- e\n');
    assert.ok(syntax.length > 0 && syntax.every((line) => line.startsWith('/m.yml:2:1: ')), syntax.join('\n'));
    assert.deepEqual(problems('- a\n'), ['/m.yml:1:1: the file must be a map of "<image the YAML names>: <local image>" lines']);
    assert.deepEqual(problems('ok/image: fine\nbad/image:\n'), ['/m.yml:2:1 bad/image: the value must be the local image to run instead, such as oep-test/python-mlflow:bookworm']);
    assert.deepEqual(problems('x: y\n"has space": z\n'), ['/m.yml:2:1: the key must be an image reference such as mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest']);
  });

  it('an empty file maps nothing; a missing file is an error that says what to do', async () => {
    assert.equal(parseImageMap('# nothing yet\n', '/m.yml').images.size, 0);
    const dir = mkdtempSync(join(tmpdir(), 'oep-map-'));
    try {
      await assert.rejects(readImageMap(join(dir, 'none.yml')), (error: OepError) => {
        assert.equal(error.code, 'OEP_ERR_IMAGE_MAP_INVALID');
        assert.match(error.message, /none\.yml cannot be read \(ENOENT\)/);
        return true;
      });
      writeFileSync(join(dir, 'map.yml'), 'a: b\n');
      assert.equal(mappedImage(await readImageMap(join(dir, 'map.yml')), 'a'), 'b');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the repository\'s images/offline.yml parses and maps the images the examples name', async () => {
    const offline = await readImageMap(join(process.cwd(), 'images', 'offline.yml'));
    assert.equal(mappedImage(offline, 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest'), 'oep-test/python-mlflow:bookworm');
    assert.equal(mappedImage(offline, 'mcr.microsoft.com/azureml/mlflow-ubuntu20.04-py38-cpu-inference:latest'), 'oep-test/python-mlflow:bookworm');
  });
});

describe('substituteImage', () => {
  const conda: ImageRecipe = { kind: 'conda', image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04', condaFile: '/p/conda.yaml' };

  it('a mapped image with a conda file runs the stand-in as it is, and the notice says the conda file is not applied', () => {
    const { recipe, substitution } = substituteImage(conda, MAP);
    assert.deepEqual(recipe, { kind: 'base', image: 'local/standin:1' });
    assert.ok(substitution);
    assert.equal(
      substitutionNotice(substitution),
      'environment image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04 -> local stand-in local/standin:1 (image_map /m.yml); environment.conda_file (/p/conda.yaml) is not applied (the stand-in has its packages)',
    );
  });

  it('MLflow no-code: the base image Azure would build on is mapped, the model\'s conda file is not applied', () => {
    const { recipe, substitution } = substituteImage({ kind: 'mlflow', image: 'mcr.microsoft.com/azureml/mlflow:2', modelPath: '/m' }, MAP);
    assert.deepEqual(recipe, { kind: 'base', image: 'local/mlflow:1' });
    assert.equal(substitution?.skipped, "the MLflow model's conda file");
  });

  it('an image alone is replaced with nothing skipped; unmapped images, no map and build contexts are left alone', () => {
    const base = substituteImage({ kind: 'base', image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest' }, MAP);
    assert.deepEqual(base.recipe, { kind: 'base', image: 'local/standin:1' });
    assert.equal(base.substitution?.skipped, undefined);
    const other: ImageRecipe = { kind: 'base', image: 'python:3.11' };
    assert.deepEqual(substituteImage(other, MAP), { recipe: other });
    assert.deepEqual(substituteImage(conda, undefined), { recipe: conda });
    const build: ImageRecipe = { kind: 'build', context: '/c', dockerfile: 'Dockerfile' };
    assert.deepEqual(substituteImage(build, MAP), { recipe: build });
  });
});
