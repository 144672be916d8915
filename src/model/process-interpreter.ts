import { OepError } from '../errors.js';
import type { DeploymentSpec } from '../spec/types.js';
import type { RuntimeKind } from './runtime-kind.js';

/**
 * The Python the process runtime runs a replica with. That runtime does not use the deployment's
 * environment (image, conda file, build context): a replica imports what this interpreter has.
 * What a user is told about it (the notice of a create or update, the hint of a missing module)
 * is computed here, as plain text.
 */
export interface PythonInterpreter {
  /** As the deployment's create or update resolved it (OEP_PYTHON, else `oep config set python`, python3 by default). */
  configured: string;
  /** Where it came from: OEP_PYTHON on that command, the setting, or the default. */
  source: PythonSource;
  /** What it runs as (its sys.executable), when it could be run. */
  executable?: string;
  /** Its version, e.g. "3.11.2". */
  version?: string;
}

/**
 * Where a create or update got the process runtime's interpreter: OEP_PYTHON in the command's
 * environment, `oep config set python`, or the setting's default (python3 on PATH).
 */
export type PythonSource = 'OEP_PYTHON' | 'setting' | 'default';

export const PYTHON_SOURCES: readonly PythonSource[] = ['OEP_PYTHON', 'setting', 'default'];

/**
 * The process runtime's interpreter of a deployment, as its last create or update resolved it in
 * the command's environment, and as its record keeps it: the daemon starts every replica of the
 * deployment with it (restarts, autoscaling, a daemon restart) until the next update.
 */
export interface RecordedPython {
  /** An absolute path (a name was looked up on the command's PATH, a relative path against its directory). */
  path: string;
  source: PythonSource;
}

/** Why a command's interpreter cannot run: nothing there, not a file, or not executable. */
export type PythonProblem = 'missing' | 'not-a-file' | 'not-executable';

/**
 * What a create or update sends the daemon: the interpreter it resolved, and why it cannot run
 * when it cannot. Only the daemon knows which runtime the deployment ends up on (auto, the
 * recorded one), so it refuses a problem only for the process runtime (pythonProblemError).
 */
export interface PythonChoice extends RecordedPython {
  /** As named: OEP_PYTHON's value, or the setting's. */
  named: string;
  problem?: PythonProblem;
}

/** What the command is told when its interpreter cannot run: which variable or setting named it, and how to fix it. */
export function pythonProblemText(choice: PythonChoice): { message: string; hint: string } {
  const what = {
    missing: choice.named.includes('/') ? 'which does not exist' : 'which is not on PATH',
    'not-a-file': 'which is not a file',
    'not-executable': 'which is not executable',
  }[choice.problem ?? 'missing'];
  const shown = choice.named === choice.path ? `"${choice.named}"` : `"${choice.named}" (${choice.path})`;
  const message = {
    OEP_PYTHON: `OEP_PYTHON names the Python interpreter ${shown}, ${what}.`,
    setting: `The python setting (oep config get python) names the Python interpreter ${shown}, ${what}.`,
    default: `The process runtime's default Python interpreter ${shown} cannot be used: ${what.replace(/^which /, 'it ')}.`,
  }[choice.source];
  const hint = {
    OEP_PYTHON: 'Set OEP_PYTHON to a python3 >= 3.8 (a path, or a name on PATH), or unset it to use oep config get python.',
    setting: 'Choose a python3 >= 3.8: oep config set python /path/to/python3 (or OEP_PYTHON=/path/to/python3 on the command).',
    default: 'Install python3, or choose a python3 >= 3.8: oep config set python /path/to/python3 (or OEP_PYTHON=/path/to/python3 on the command).',
  }[choice.source];
  return { message, hint: `${hint} --runtime docker does not use it. Nothing was changed.` };
}

/**
 * The interpreter a deployment's record keeps after a create or update. On docker none: the
 * image's Python runs it, so the command's interpreter is neither checked nor kept. On the
 * process runtime the command's, refused (exit 2, before anything changes) when it cannot run;
 * from a caller that sent none, what was recorded (none for a deployment recorded before
 * interpreters were: its replicas run the daemon's setting).
 */
export function recordedPythonOf(runtime: RuntimeKind, choice: PythonChoice | undefined, recorded: RecordedPython | undefined): RecordedPython | undefined {
  if (runtime !== 'process') return undefined;
  if (choice === undefined) return recorded;
  if (choice.problem) {
    const { message, hint } = pythonProblemText(choice);
    throw new OepError('OEP_ERR_PYTHON_NOT_FOUND', message, { hint });
  }
  if (typeof choice.path !== 'string' || !choice.path.startsWith('/') || !PYTHON_SOURCES.includes(choice.source)) {
    throw new OepError('OEP_ERR_USAGE', `The interpreter sent with the request is not an absolute path with its source: ${JSON.stringify(choice)}.`);
  }
  return { path: choice.path, source: choice.source };
}

/** "/usr/bin/python3 (OEP_PYTHON)", for the notice of an update that changes it. */
export function describeRecordedPython(python: RecordedPython): string {
  return `${python.path} (${python.source === 'OEP_PYTHON' ? 'OEP_PYTHON' : python.source === 'setting' ? 'oep config get python' : 'the default: python3 on PATH'})`;
}

/**
 * Import names whose distribution (pip) and Debian package names are not the import name; any
 * other module `m` is looked for as `pip install m` and `python3-m`.
 */
const PACKAGES: Record<string, { pip: string; debian: string }> = {
  sklearn: { pip: 'scikit-learn', debian: 'python3-sklearn' },
  skimage: { pip: 'scikit-image', debian: 'python3-skimage' },
  yaml: { pip: 'PyYAML', debian: 'python3-yaml' },
  PIL: { pip: 'Pillow', debian: 'python3-pil' },
  cv2: { pip: 'opencv-python', debian: 'python3-opencv' },
};

/** e.g. "/usr/bin/python3 (Python 3.11.2)"; a configured path that runs another (a wrapper script) is named with what it runs. */
export function describeInterpreter(python: PythonInterpreter): string {
  if (!python.executable) return python.configured;
  const version = python.version ? `Python ${python.version}` : undefined;
  if (python.configured.includes('/') && python.configured !== python.executable) {
    return `${python.configured} (${[python.executable, version].filter(Boolean).join(', ')})`;
  }
  return version ? `${python.executable} (${version})` : python.executable;
}

/**
 * What a deployment on the process runtime is told once per create or update: which interpreter
 * runs it, that its environment is not used, and how to choose another interpreter.
 */
export function processRuntimeNotice(spec: DeploymentSpec, python: PythonInterpreter): string {
  const unused = unusedEnvironment(spec);
  const environment = unused ? `: ${unused.text} ${unused.plural ? 'are' : 'is'} not used${unused.docker ? ` (--runtime docker uses ${unused.plural ? 'them' : 'it'})` : ''}` : '';
  return `deployment ${spec.name} runs on the process runtime with ${describeInterpreter(python)}${environment}. Another interpreter: ${otherInterpreter(spec, python)}`;
}

/**
 * The module a Python error says is missing ("ModuleNotFoundError: No module named 'joblib'",
 * also as the last line of a traceback), or undefined.
 */
export function missingModuleOf(text: string): string | undefined {
  return /\b(?:ModuleNotFoundError|ImportError): No module named '?([A-Za-z_][\w.]*)'?/.exec(text)?.[1];
}

/**
 * The hint of a replica on the process runtime that failed because `module` is missing: the
 * interpreter that ran it, how to install the package into it or choose another, and that the
 * environment the YAML names is not what ran.
 */
export function missingModuleHint(spec: DeploymentSpec, module: string, python: PythonInterpreter): string {
  const name = module.split('.')[0]!;
  const packages = PACKAGES[name] ?? { pip: name, debian: `python3-${name.toLowerCase().replace(/_/g, '-')}` };
  const command = python.executable ?? python.configured;
  // apt's python3-* packages are for the system's interpreter only.
  const apt = command.startsWith('/usr/bin/') ? ` (on Debian and Ubuntu: "apt install ${packages.debian}")` : '';
  const lines = [
    `The process runtime ran deployment ${spec.name} with ${describeInterpreter(python)}, which cannot import ${name}.`,
    `Install it there: "${command} -m pip install ${packages.pip}"${apt}, or use an interpreter that has it: ${otherInterpreter(spec, python)}.`,
  ];
  const unused = unusedEnvironment(spec);
  if (unused?.docker) {
    lines.push(`The process runtime does not use ${unused.text}; --runtime docker ${unused.plural ? 'uses them' : 'uses it'}.`);
  }
  lines.push(`See the whole log with: oep deployment get-logs -n ${spec.name} -e ${spec.endpoint_name}`);
  return lines.join(' ');
}

/**
 * How to choose another interpreter: an update resolves it again, OEP_PYTHON on that command
 * first, else the setting (so an update without OEP_PYTHON leaves one that OEP_PYTHON chose).
 */
function otherInterpreter(spec: DeploymentSpec, python: PythonInterpreter): string {
  const update = `OEP_PYTHON=/path/to/python3 oep deployment update -n ${spec.name} -e ${spec.endpoint_name}`;
  return python.source === 'OEP_PYTHON'
    ? `${update} (an update without OEP_PYTHON uses oep config get python)`
    : `${update} (or oep config set python /path/to/python3, then update)`;
}

/** What the deployment's environment names that the process runtime does not use, and whether the docker runtime would. */
function unusedEnvironment(spec: DeploymentSpec): { text: string; plural: boolean; docker: boolean } | undefined {
  const environment = spec.environment;
  if (environment === undefined) return undefined;
  // A reference left as it is (not resolved to an image): the docker runtime cannot run it either.
  if (typeof environment === 'string') return { text: `the environment ${environment}`, plural: false, docker: false };
  const parts = [
    ...(environment.image ? [`image ${environment.image}`] : []),
    ...(environment.conda_file ? [`conda file ${environment.conda_file}`] : []),
    ...(environment.build ? [`build context ${environment.build.path}`] : []),
  ];
  if (parts.length === 0) return undefined;
  return { text: `the environment's ${parts.join(' and ')}`, plural: parts.length > 1, docker: true };
}
