import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { condaDockerfile, dockerfileBaseImages, imageRecipe, NO_CONDA_MARKER, recipeTag, type RecipeInputs } from '../../src/runtimes/docker/recipe.js';
import { specWithEnvironment as spec } from './docker-fixtures.js';

describe('imageRecipe', () => {
  it('image alone runs the image as it is; with conda_file it needs a conda step; build uses the Dockerfile', () => {
    assert.deepEqual(imageRecipe(spec({ image: 'python:3.11' })), { kind: 'base', image: 'python:3.11' });
    assert.deepEqual(imageRecipe(spec({ image: 'python:3.11', conda_file: '/x/conda.yaml' })), {
      kind: 'conda',
      image: 'python:3.11',
      condaFile: '/x/conda.yaml',
    });
    assert.deepEqual(imageRecipe(spec({ build: { path: '/ctx', dockerfile_path: 'docker/Dockerfile.gpu' } })), {
      kind: 'build',
      context: '/ctx',
      dockerfile: 'docker/Dockerfile.gpu',
    });
  });

  it('a registered environment or none at all is a clear error', () => {
    const registered = (): unknown => imageRecipe(spec('azureml:sklearn-env:3'));
    assert.throws(registered, (error: unknown) => error instanceof OepError && /registered environment "azureml:sklearn-env:3"/.test(error.message));
    assert.throws(() => imageRecipe(spec(undefined)), (error: unknown) => error instanceof OepError && /has no environment/.test(error.message));
  });
});

describe('recipeTag', () => {
  const inputs: RecipeInputs = { kind: 'build', baseImageIds: ['sha256:a', 'sha256:b'], contentDigest: 'c1', dockerfile: 'Dockerfile' };

  it('is stable for equal inputs (base ids in any order) and lives in the oep-env repository', () => {
    assert.match(recipeTag(inputs), /^oep-env:[0-9a-f]{20}$/);
    assert.equal(recipeTag(inputs), recipeTag({ ...inputs, baseImageIds: ['sha256:b', 'sha256:a'] }));
  });

  it('changes with the base image, the content and the Dockerfile name', () => {
    const tag = recipeTag(inputs);
    assert.notEqual(recipeTag({ ...inputs, baseImageIds: ['sha256:a', 'sha256:c'] }), tag);
    assert.notEqual(recipeTag({ ...inputs, contentDigest: 'c2' }), tag);
    assert.notEqual(recipeTag({ ...inputs, dockerfile: 'Dockerfile.dev' }), tag);
    assert.notEqual(recipeTag({ ...inputs, kind: 'conda' }), tag);
  });
});

describe('dockerfileBaseImages', () => {
  it('lists FROM images, not build stages, build-arg references or scratch', () => {
    const dockerfile = [
      'ARG BASE=ubuntu:22.04',
      'FROM --platform=linux/amd64 python:3.11-slim AS deps',
      'RUN pip install numpy',
      'FROM deps AS test',
      'FROM ${BASE}',
      'from mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest',
      'FROM scratch',
      'COPY --from=deps /x /x',
    ].join('\n');
    assert.deepEqual(dockerfileBaseImages(dockerfile), ['python:3.11-slim', 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest']);
  });
});

describe('condaDockerfile', () => {
  it('creates the env with micromamba, mamba or conda, and marks an image that has none', () => {
    const text = condaDockerfile('sha256:abc', '');
    assert.match(text, /^FROM sha256:abc\nUSER root\nCOPY conda.yaml \/tmp\/oep\/conda.yaml\nRUN /);
    assert.match(text, /micromamba create -y -p \/opt\/oep-env -f \/tmp\/oep\/conda.yaml/);
    assert.match(text, /mamba env create -p \/opt\/oep-env/);
    assert.match(text, /conda env create -p \/opt\/oep-env/);
    assert.match(text, /RUN set -e; \\\n/);
    // The build log echoes the RUN line: only the echo's output may carry the marker whole.
    assert.ok(!text.includes(NO_CONDA_MARKER));
    assert.ok(text.includes(`echo "${NO_CONDA_MARKER.slice(0, 4)}""${NO_CONDA_MARKER.slice(4)}: `));
    assert.doesNotMatch(text, /\nUSER (?!root)/);
  });

  it("restores the image's own user after the root-only step", () => {
    assert.match(condaDockerfile('sha256:abc', 'dockeruser'), /\nUSER dockeruser\n$/);
  });
});
