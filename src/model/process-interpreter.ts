import type { DeploymentSpec } from '../spec/types.js';

/**
 * The Python the process runtime runs a replica with. That runtime does not use the deployment's
 * environment (image, conda file, build context): a replica imports what this interpreter has.
 * What a user is told about it (the notice of a create or update, the hint of a missing module)
 * is computed here, as plain text.
 */
export interface PythonInterpreter {
  /** As configured: OEP_PYTHON, else `oep config set python` (python3 by default). */
  configured: string;
  /** OEP_PYTHON chose it (the daemon's own, read when it started; it wins over the setting). */
  fromEnvironment: boolean;
  /** What it runs as (its sys.executable), when it could be run. */
  executable?: string;
  /** Its version, e.g. "3.11.2". */
  version?: string;
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
  return `deployment ${spec.name} runs on the process runtime with ${describeInterpreter(python)}${environment}. Another interpreter: ${otherInterpreter(python)}`;
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
    `Install it there: "${command} -m pip install ${packages.pip}"${apt}, or use an interpreter that has it: ${otherInterpreter(python)}.`,
  ];
  const unused = unusedEnvironment(spec);
  if (unused?.docker) {
    lines.push(`The process runtime does not use ${unused.text}; --runtime docker ${unused.plural ? 'uses them' : 'uses it'}.`);
  }
  lines.push(`See the whole log with: oep deployment get-logs -n ${spec.name} -e ${spec.endpoint_name}`);
  return lines.join(' ');
}

/** How to choose another interpreter: OEP_PYTHON wins over the setting, and the daemon reads it when it starts. */
function otherInterpreter(python: PythonInterpreter): string {
  return python.fromEnvironment
    ? 'OEP_PYTHON=/path/to/python3 when the daemon starts (oep daemon stop first; OEP_PYTHON wins over oep config set python)'
    : 'oep config set python /path/to/python3 (or OEP_PYTHON)';
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
