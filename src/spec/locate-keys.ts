import { resolve } from 'node:path';
import { readInputText } from './input-file.js';
import { applyOverrides } from './overrides.js';
import type { LoadSpecOptions } from './pipeline.js';
import { placeProblems } from './placement.js';
import type { RawProblem, SpecProblem } from './problem.js';
import { MAX_YAML_BYTES, parseYaml } from './yaml-source.js';

/**
 * Places problems found after a deployment was loaded (e.g. a secret reference that names nothing,
 * which takes OEP_HOME's stores to find) in its YAML: FILE:LINE:COL key, or the flag a value came
 * from (-n, -e, --set), as the pipeline places its own. The file is read again; if it can no
 * longer be read, the problems keep the file's name without a position.
 */
export async function placeInDeploymentFile(o: LoadSpecOptions, raw: RawProblem[]): Promise<SpecProblem[]> {
  let locate;
  let data: unknown;
  try {
    const parsed = parseYaml(await readInputText(resolve(o.cwd ?? process.cwd(), o.file), MAX_YAML_BYTES));
    locate = parsed.locate;
    data = parsed.data;
  } catch {
    data = undefined;
  }
  const { origins } = applyOverrides(structuredClone(data), { name: o.name, endpointName: o.endpointName, set: o.set }, 'deployment');
  return placeProblems(raw, { file: o.file, locate, origins });
}
