import { basename, join, resolve } from 'node:path';
import { isOepError } from '../errors.js';
import type { DeploymentSpec } from '../spec/types.js';
import { applyDeployment, type DeploymentApplyOptions } from './deployment-apply.js';
import type { EngineDeps } from './deps.js';
import type { UserSettings } from '../state/settings.js';

/**
 * Watch mode: the deployment's YAML, code folder, scoring script and model stay watched; each save
 * (debounced, editor temp files ignored) validates the YAML again and replaces the replicas the
 * way `deployment update` does (new ones start, take traffic once ready, then the old ones stop),
 * so no request fails. Code and model are mounted, so they never cause an image build; an
 * environment change builds as any update would. A failed reload leaves the previous version
 * serving; the next good save recovers by itself. Ends when `signal` aborts (Ctrl-C); the
 * deployment keeps running.
 *
 * The watcher is chokidar (maintained, runs on Node >= 14): Node 20's recursive fs.watch on Linux
 * misses files in folders created after the watch starts and reports renames (how editors save)
 * inconsistently.
 */
export interface WatchOptions extends DeploymentApplyOptions {
  name: string;
  endpointName: string;
}

export interface WatchDeps extends EngineDeps {
  /** The watching command's environment: every reload uses the interpreter it names (OEP_PYTHON, else the setting). */
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** One line per reload, and the watch's own notices. */
  say: (line: string) => void;
  /** How long a burst of saves must be quiet before a reload (ms). */
  debounceMs?: number;
}

/** Files editors write beside the one being saved, and Python's own output: never a reason to reload. */
const IGNORED = /(^|[/\\])(\.[^/\\]*\.sw[a-p]x?|[^/\\]*~|#[^/\\]*#|\.#[^/\\]*|4913|[^/\\]*\.tmp|__pycache__|[^/\\]*\.py[co]|\.git|\.ipynb_checkpoints|\.DS_Store)([/\\]|$)/;

export async function watchDeployment(options: WatchOptions, deps: WatchDeps): Promise<void> {
  const { default: chokidar } = await import('chokidar');
  const spec = await deps.client.call('deployment.spec', { endpoint: options.endpointName, name: options.name });
  const paths = watchedPaths(spec, join(deps.client.paths.home, 'registry'), options.file ? [resolve(deps.cwd, options.file)] : []);
  const watcher = chokidar.watch(paths, { ignoreInitial: true, ignored: (path) => IGNORED.test(path), persistent: true });
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  deps.say(`watching ${options.name} of ${options.endpointName} (${paths.map((path) => basename(path) || path).join(', ')}); Ctrl-C stops watching, the deployment keeps running`);

  // Opened once: conf reads the file again on every get, so a changed setting still applies.
  let settings: Promise<UserSettings> | undefined;
  const pythonSetting = async (): Promise<string> => {
    settings ??= import('../state/settings.js').then(({ openSettings }) => openSettings(deps.env));
    try {
      return (await settings).get('python');
    } catch (error) {
      settings = undefined;
      throw error;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  // Save-to-serving time: from the first change of a burst to the new replicas taking traffic.
  let firstChange: number | undefined;
  const reload = async (): Promise<void> => {
    const started = firstChange ?? performance.now();
    firstChange = undefined;
    try {
      await applyDeployment(
        'update',
        // Without a file, update replays the stored spec: the replicas still restart on the new code.
        // A named inline model whose files were edited: its registered version keeps the old ones, with a warning.
        { ...options, allTraffic: false, wait: true, modelVersionConflict: 'warn' },
        { ...deps, pythonSetting, onEvent: (event) => event.phase === 'notice' || event.phase === 'warning' ? deps.say(`${event.phase}: ${event.message}`) : undefined },
      );
      deps.say(`reloaded ${options.name} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      if (!isOepError(error)) throw error;
      // The message and the traceback; the log tail repeats them (get-logs shows it whole).
      const cut = error.details.findIndex((line) => line.startsWith('Last lines of the log'));
      const details = cut < 0 ? error.details : error.details.slice(0, cut);
      const lines = [`reload of ${options.name} failed: ${error.message}`, ...details.map((line) => `  ${line}`)];
      lines.push(`still serving the previous version of ${options.name}; the next save tries again`);
      deps.say(lines.join('\n'));
    }
  };
  const schedule = (): void => {
    firstChange ??= performance.now();
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          await reload();
        } while (again && !deps.signal.aborted);
        running = undefined;
      })();
    }, deps.debounceMs ?? 80);
  };
  watcher.on('all', schedule);

  await new Promise<void>((resolve) => {
    if (deps.signal.aborted) return resolve();
    deps.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearTimeout(timer);
  await watcher.close();
  await running;
}

/** What a reload depends on: the YAML, the code folder (the script is in it), a local model, the conda file and build context. */
function watchedPaths(spec: DeploymentSpec, registry: string, extra: string[]): string[] {
  const paths = new Set(extra);
  if (spec.code_configuration) paths.add(spec.code_configuration.code);
  // A registered model is a snapshot: it never changes, so only inline local models are watched.
  if (spec.model && typeof spec.model === 'object' && !spec.model.path.startsWith(`${registry}/`) && !/^[a-z][a-z0-9+.-]+:/i.test(spec.model.path)) {
    paths.add(spec.model.path);
  }
  if (spec.environment && typeof spec.environment === 'object') {
    if (spec.environment.conda_file) paths.add(spec.environment.conda_file);
    if (spec.environment.build) paths.add(spec.environment.build.path);
  }
  return [...paths];
}


