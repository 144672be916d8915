import { isAbsolute, posix } from 'node:path';
import { OepError } from '../errors.js';
import { isSecretReferenceValue } from '../model/secret-references.js';
import { APP_ROOT, computeLayout, scoringEnvironment, SERVER_PORT } from '../model/layout.js';
import { planEnvironment, scoringPlan } from '../model/scoring-plan.js';
import type { DeploymentSpec } from '../spec/types.js';

/**
 * Where oep's scoring server goes in a built image: the path the docker runtime mounts it at
 * (SERVER_MOUNT in src/runtimes/docker/container-spec.ts; a unit test keeps them equal), so a
 * built image and a local container read the same in logs and tracebacks.
 */
export const IMAGE_SERVER_DIR = '/var/azureml-server';

/** One thing copied into the image: a local file or folder and where it goes. */
export interface ImageCopy {
  what: 'server' | 'code' | 'model';
  /** Local path (a folder, or a file for a single-file model); unset for oep's server, whose folder the builder knows. */
  source?: string;
  /** The folder in the image its content goes into (a single-file model keeps its file name). */
  target: string;
}

/** The HTTP side of the image: its port and the routes probes and the gateway use. */
export interface ImageRoutes {
  port: number;
  scoring: string;
  readiness: string;
  liveness: string;
}

/**
 * A self-contained image for one deployment, as plain data: what the docker runtime mounts is
 * copied in instead, with the same paths and the same environment (docs/contract.md section 4), and
 * the same command. Custom containers (`inference_config`) keep their own command, port and routes.
 */
export interface ImagePlan {
  kind: 'server' | 'container';
  copies: ImageCopy[];
  /** The variables set in the image: the layout's, which hold no secret (AZUREML_MODEL_DIR...). */
  environment: Record<string, string>;
  /**
   * The deployment's environment_variables: given when the container runs (`docker run
   * --env-file`, a Kubernetes Secret), after `environment`, whose values they override. Never in
   * an image's layers or history unless asked (`oep deployment build --bake-env`).
   */
  runEnvironment: Record<string, string>;
  routes: ImageRoutes;
  /** Unset for custom containers, which keep the image's own. */
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
}

/**
 * The plan for a deployment's image. `python` is the interpreter that runs oep's server in the
 * environment image (python3, or the conda env's). Throws for what cannot be baked: Triton
 * no-code, a model or code that is not a local path.
 */
export function imagePlan(spec: DeploymentSpec, python: string): ImagePlan {
  const plan = scoringPlan(spec);
  if (plan.kind === 'unsupported') throw new OepError('OEP_ERR_SPEC_INVALID', `Deployment ${spec.name} cannot be built into an image: ${plan.reason}`, { hint: plan.hint });
  const layout = computeLayout(spec);
  const copies: ImageCopy[] = [];
  const local = (source: string, key: string): string => {
    if (!isAbsolute(source)) {
      throw new OepError('OEP_ERR_SPEC_INVALID', `The ${key} of deployment ${spec.name} is not a local path ("${source}"), so it cannot be copied into an image.`, {
        hint: `Point ${key} at a local file or folder.`,
      });
    }
    return source;
  };
  let modelDir: string | undefined;
  if (layout.model) {
    modelDir = layout.model.modelDir;
    copies.push({ what: 'model', source: local(layout.model.source, 'model.path'), target: modelDir });
  }
  let appRoot: string | undefined;
  if (layout.code) {
    copies.push({ what: 'code', source: local(layout.code.source, 'code_configuration.code'), target: layout.code.codeDir });
    appRoot = layout.code.scriptDir ? posix.join(layout.code.codeDir, layout.code.scriptDir) : layout.code.codeDir;
  }
  // environment_variables apart: they are given when the container runs, not baked.
  const withoutVariables: DeploymentSpec = { ...spec, environment_variables: {} };
  const runEnvironment = scoringEnvironment(spec, {});
  if (plan.kind === 'container') {
    const { routes } = plan;
    return {
      kind: 'container',
      copies,
      environment: scoringEnvironment(withoutVariables, { modelDir, appRoot, entryScript: layout.code?.scriptFile }),
      runEnvironment,
      routes: { port: routes.scoring_route.port, scoring: routes.scoring_route.path, readiness: routes.readiness_route.path, liveness: routes.liveness_route.path },
    };
  }
  const entryScript = plan.kind === 'mlflow' ? `${IMAGE_SERVER_DIR}/${plan.script}` : layout.code?.scriptFile;
  return {
    kind: 'server',
    copies: [{ what: 'server', target: IMAGE_SERVER_DIR }, ...copies],
    // As the docker runtime sets them (container-spec.ts); environment_variables come last, at run.
    environment: {
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...planEnvironment(plan, layout.model?.entry),
      ...scoringEnvironment(withoutVariables, { modelDir, appRoot, entryScript }),
    },
    runEnvironment,
    routes: { port: SERVER_PORT, scoring: '/score', readiness: '/', liveness: '/' },
    entrypoint: [python, `${IMAGE_SERVER_DIR}/oep_server.py`],
    cmd: ['--host', '0.0.0.0', '--port', String(SERVER_PORT)],
    workdir: appRoot ?? APP_ROOT,
  };
}

/**
 * The Dockerfile of a built image: the environment image (by id, so the tag names exactly what
 * was built on), then the copies, the environment and the command. Each copy's content is in the
 * build context under a folder named after it (`server/`, `code/`, `model/`; a single-file model
 * keeps its file name there). `labels` describe the image. The deployment's environment_variables
 * are not in it (they go in the env file given at `docker run`, see imageEnvFile) unless
 * `bakeRunEnvironment`: then they are ENV lines too, in every layer's history.
 */
export function imageDockerfile(plan: ImagePlan, baseImageId: string, labels: Record<string, string>, options: { bakeRunEnvironment?: boolean } = {}): string {
  const lines = [`FROM ${baseImageId}`];
  for (const copy of plan.copies) lines.push(`COPY ${copy.what}/ ${copy.target}/`);
  // Secret references (secret injection) are never baked: not their values, not the references.
  const baked = options.bakeRunEnvironment ? Object.fromEntries(Object.entries(plan.runEnvironment).filter(([, value]) => !isSecretReferenceValue(value))) : {};
  const env = Object.entries({ ...plan.environment, ...baked });
  const multiline = env.find(([, value]) => /[\r\n]/.test(value));
  if (multiline) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `The environment variable ${multiline[0]} has a line break, which a Dockerfile cannot set.`, {
      hint: 'Keep environment_variables on one line each (e.g. JSON without line breaks).',
    });
  }
  if (env.length > 0) lines.push(`ENV ${env.map(([name, value]) => `${name}=${quote(value)}`).join(' \\\n    ')}`);
  const labelEntries = Object.entries(labels);
  if (labelEntries.length > 0) lines.push(`LABEL ${labelEntries.map(([name, value]) => `${quote(name)}=${quote(value)}`).join(' \\\n      ')}`);
  if (plan.workdir) lines.push(`WORKDIR ${plan.workdir}`);
  lines.push(`EXPOSE ${plan.routes.port}`);
  if (plan.entrypoint) lines.push(`ENTRYPOINT ${JSON.stringify(plan.entrypoint)}`);
  if (plan.cmd) lines.push(`CMD ${JSON.stringify(plan.cmd)}`);
  return `${lines.join('\n')}\n`;
}

/** A value as a Dockerfile double-quoted word: Docker expands $ and reads backslash escapes inside them. */
function quote(value: string): string {
  return `"${value.replace(/[\\"$]/g, (char) => `\\${char}`)}"`;
}

/**
 * The env file of a built image (`docker run --env-file FILE`): the deployment's
 * environment_variables, one `NAME=value` line each, as Docker reads it (the value taken as it is,
 * to the end of its line); a secret reference (`${{azureml://connections/...}}`, `${{keyvault:...}}`)
 * as its bare NAME, which Docker fills from the caller's environment. Undefined when there are none. A line break in a value, or a name
 * Docker would read differently (empty, with `=` or white space, starting with `#`), is refused.
 */
export function imageEnvFile(plan: ImagePlan): string | undefined {
  const entries = Object.entries(plan.runEnvironment);
  if (entries.length === 0) return undefined;
  for (const [name, value] of entries) {
    if (name === '' || /[=\s\0]/.test(name) || name.startsWith('#')) {
      throw new OepError('OEP_ERR_SPEC_INVALID', `The environment variable name ${JSON.stringify(name)} cannot be passed in an env file (docker run --env-file).`, {
        hint: 'Use names of letters, digits and "_" in environment_variables.',
      });
    }
    if (/[\r\n\0]/.test(value)) {
      throw new OepError('OEP_ERR_SPEC_INVALID', `The environment variable ${name} has a line break, which an env file (docker run --env-file) cannot hold.`, {
        hint: 'Keep environment_variables on one line each (e.g. JSON without line breaks).',
      });
    }
  }
  // A secret reference's value is oep's to resolve, never written here: a bare NAME line makes
  // `docker run` take it from the environment of the shell that runs it.
  return `${entries.map(([name, value]) => (isSecretReferenceValue(value) ? name : `${name}=${value}`)).join('\n')}\n`;
}
