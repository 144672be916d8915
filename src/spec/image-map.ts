import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { OepError } from '../errors.js';
import { InputFileError, readInputText } from './input-file.js';
import { duplicateKeys, MAX_YAML_BYTES, yamlTooComplex } from './yaml-source.js';

/**
 * The image map (setting `image_map`, or OEP_IMAGE_MAP): a YAML file of
 * `<image as a deployment names it>: <local image to run instead>`, for machines that cannot pull
 * the images Azure's YAML names (offline, or behind a registry the user cannot reach). The
 * repository's images/offline.yml maps Azure's public inference images to the stand-ins that
 * images/build.sh makes from Debian's packages.
 */
export interface ImageMap {
  /** The file it was read from, for the messages that say a substitution happened. */
  file: string;
  /** Keys and values normalised by `normaliseImage`. */
  images: ReadonlyMap<string, string>;
}

/** `name` and `name:latest` are one image; a tag or digest that is given is kept. */
export function normaliseImage(image: string): string {
  const trimmed = image.trim();
  if (trimmed.includes('@')) return trimmed;
  const lastSlash = trimmed.lastIndexOf('/');
  return trimmed.slice(lastSlash + 1).includes(':') ? trimmed : `${trimmed}:latest`;
}

/** The local image that stands in for `image`, or undefined when the map does not name it. */
export function mappedImage(map: ImageMap | undefined, image: string): string | undefined {
  return map?.images.get(normaliseImage(image));
}

const IMAGE_PATTERN = /^[a-z0-9][a-z0-9._\-/:@]*$/i;

/** Parses an image map; every problem names the file, line and key. */
export function parseImageMap(text: string, file: string): ImageMap {
  const lineCounter = new LineCounter();
  const tooComplex = yamlTooComplex(text);
  if (tooComplex !== undefined) {
    throw new OepError('OEP_ERR_IMAGE_MAP_INVALID', `The image map ${file} ${tooComplex}`, {
      hint: 'Fix the file (one "<image>: <local image>" per line; images/offline.yml is an example), or `oep config unset image_map`.',
    });
  }
  // Repeated keys are found in linear time (yaml-source.ts duplicateKeys), not by the library.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: 'error', uniqueKeys: false });
  const problems: string[] = [];
  const at = (offset: number | undefined): string => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return `${file}:${line}:${col}`;
  };
  const errors = [...doc.errors, ...duplicateKeys(doc)].sort((a, b) => a.pos[0] - b.pos[0]);
  for (const error of errors) problems.push(`${at(error.pos[0])}: ${error.message.split('\n')[0]}`);
  const images = new Map<string, string>();
  if (problems.length === 0 && doc.contents !== null) {
    if (!isMap(doc.contents)) {
      problems.push(`${at(doc.contents.range?.[0])}: the file must be a map of "<image the YAML names>: <local image>" lines`);
    } else {
      for (const pair of doc.contents.items) {
        const key = isScalar(pair.key) ? pair.key : undefined;
        const value = isScalar(pair.value) ? pair.value : undefined;
        const name = key !== undefined ? String(key.value) : '';
        if (key === undefined || !IMAGE_PATTERN.test(name)) {
          problems.push(`${at((pair.key as { range?: number[] } | null)?.range?.[0])}: the key must be an image reference such as mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest`);
          continue;
        }
        if (value === undefined || typeof value.value !== 'string' || !IMAGE_PATTERN.test(value.value)) {
          problems.push(`${at(key.range?.[0])} ${name}: the value must be the local image to run instead, such as oep-test/python-mlflow:bookworm`);
          continue;
        }
        images.set(normaliseImage(name), value.value.trim());
      }
    }
  }
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_IMAGE_MAP_INVALID', `The image map ${file} cannot be used:`, {
      details: problems,
      hint: 'Fix the file (one "<image>: <local image>" per line; images/offline.yml is an example), or `oep config unset image_map`.',
    });
  }
  return { file, images };
}

/** Reads and parses the image map at `file`. */
export async function readImageMap(file: string): Promise<ImageMap> {
  let text: string;
  try {
    text = await readInputText(file, MAX_YAML_BYTES);
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    const why = error.problem === 'unreadable' || error.problem === 'missing' ? `cannot be read (${error.code ?? error.reason})` : `${error.reason}${error.problem === 'too-large' ? `; the limit is ${MAX_YAML_BYTES / 1024 / 1024} MB` : ''}`;
    throw new OepError('OEP_ERR_IMAGE_MAP_INVALID', `The image map ${file} ${why}.`, {
      hint: 'Set image_map to an existing file (`oep config set image_map images/offline.yml` in oep\'s folder), or `oep config unset image_map`.',
    });
  }
  return parseImageMap(text, file);
}
