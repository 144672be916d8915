import { OepError } from '../errors.js';
import type { AzRunner } from '../identity/token-sources.js';
import { hasSecretReferences } from '../model/secret-references.js';
import { injectionError, resolveSecretVariables, type InjectionResult, type KeyvaultSource } from '../registry/secret-injection.js';
import { rememberInjected } from '../runtimes/injected-values.js';
import type { DeploymentSpec } from '../spec/types.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentIntent, Reconciler } from '../supervisor/reconciler.js';
import { isBeingDeleted } from './restore-plan.js';

export interface SecretInjectionOptions {
  home: string;
  store: Pick<StateStore, 'snapshot' | 'mutate'>;
  /** The keyvault_source setting, read at each resolution so `oep config set` applies to the next update. */
  keyvaultSource: () => Promise<KeyvaultSource>;
  log: (line: string) => void;
  az?: AzRunner;
}

/**
 * The reconciler as the controller and restore see it, with secret injection: a configuration whose
 * environment_variables reference connections or Key Vault secrets is resolved right before it goes
 * to the reconciler (a create, an update, a daemon start), and the reconciler gets the values in
 * the spec it starts replicas with. State keeps the references as written; the values live in the
 * daemon's memory (the reconciler's configuration) and the replicas' environment only. They are
 * part of the configuration the runtimes hash (config hash), so a value changed by a rotation and
 * a `deployment update` (or a daemon start) gives new replicas, never an adopted old one; unchanged
 * values let a restarted daemon adopt what runs.
 *
 * At daemon start (`observe`, then an `apply` per deployment, all at once) the references are
 * resolved first, and the replicas left running are looked for only then, with every deployment
 * already wanted: a deployment whose secrets take a moment (the Azure CLI) must not see its running
 * replicas discarded as nobody's. Every other method is the reconciler's own.
 */
export function withSecretInjection<R extends Pick<Reconciler, 'apply' | 'observe' | 'waitForReplica'>>(reconciler: R, options: SecretInjectionOptions): R {
  /** Resolved at daemon start, by endpoint/deployment/generation, until its apply comes. */
  const prefetched = new Map<string, Promise<InjectionResult>>();
  /** While the daemon-start resolution runs: the applies that came meanwhile, in order. */
  let held: { intent: DeploymentIntent; resolve: (done: Promise<void>) => void }[] | undefined;
  /** Settles when the held applies have gone to the reconciler. */
  let released: Promise<void> | undefined;

  const keyOf = (endpoint: string, deployment: string, generation: number): string => `${endpoint}/${deployment}/${generation}`;

  const resolve = async (spec: DeploymentSpec): Promise<InjectionResult> =>
    resolveSecretVariables(spec.environment_variables, { home: options.home, keyvaultSource: await options.keyvaultSource(), ...(options.az && { az: options.az }) });

  const applyResolved = async (intent: DeploymentIntent, resolved: InjectionResult): Promise<void> => {
    const endpoint = intent.endpoint;
    const name = intent.spec.name;
    // A newer configuration (an update while this one resolved) must not be replaced by this one.
    const current = options.store.snapshot().endpoints[endpoint]?.deployments[name];
    if (!current || current.generation !== intent.generation) {
      throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${name}: configuration ${intent.generation} was replaced while its secrets were resolved.`);
    }
    if (resolved.failures.length > 0) {
      const failure = injectionError(name, resolved.failures, 'OEP_ERR_DEPLOYMENT_FAILED', 'secrets');
      options.log(`${endpoint}/${name}: ${failure.message} ${failure.details.join('; ')}`);
      if (intent.restore) {
        // A daemon start: nobody waits for this one, so the state says it failed, and why; what
        // an earlier daemon left of it is stopped, as for any failed deployment.
        const failed = reconciler.apply({ ...intent, restore: false, failed: true }).catch(() => undefined);
        await options.store.mutate((state) => {
          const record = state.endpoints[endpoint]?.deployments[name];
          if (!record || record.generation !== intent.generation) return;
          record.provisioning_state = 'Failed';
          record.failure = { phase: 'secrets', message: failure.message, details: failure.details };
        });
        await failed;
      }
      throw failure;
    }
    const variables = Object.keys(resolved.values);
    rememberInjected(
      endpoint,
      name,
      variables.map((variable) => ({ value: resolved.values[variable]!, reference: resolved.references[variable]! })),
    );
    const sources = [...new Set(Object.values(resolved.sources))].join(', ');
    options.log(`${endpoint}/${name}: generation ${intent.generation}: injected ${variables.length} secret reference(s) (${variables.join(', ')}) from ${sources}`);
    intent.emit?.({ phase: 'notice', message: `deployment ${name}: secret injection: ${variables.join(', ')} resolved from ${sources} (the values reach the replicas' environment only)` });
    return reconciler.apply({ ...intent, spec: { ...intent.spec, environment_variables: { ...intent.spec.environment_variables, ...resolved.values } } });
  };

  /** Applies now: a configuration without references as it is; one with references once resolved. */
  const applyNow = (intent: DeploymentIntent): Promise<void> => {
    if (intent.failed || !hasSecretReferences(intent.spec.environment_variables)) return reconciler.apply(intent);
    const key = keyOf(intent.endpoint, intent.spec.name, intent.generation);
    const early = prefetched.get(key);
    prefetched.delete(key);
    return (early ?? resolve(intent.spec)).then((resolved) => applyResolved(intent, resolved));
  };

  const apply = (intent: DeploymentIntent): Promise<void> => {
    if (!held) return applyNow(intent);
    const queue = held;
    return new Promise<Promise<void>>((resolveHeld) => queue.push({ intent, resolve: resolveHeld })).then((done) => done);
  };

  const observe = (): Promise<void> => {
    const waiting: Promise<unknown>[] = [];
    for (const owner of Object.values(options.store.snapshot().endpoints)) {
      for (const record of Object.values(owner.deployments)) {
        // A deployment being deleted (its own delete, or its endpoint's) does not run again.
        if (record.provisioning_state === 'Failed' || isBeingDeleted(owner, record)) continue;
        if (!hasSecretReferences(record.spec.environment_variables)) continue;
        const early = resolve(record.spec);
        early.catch(() => undefined);
        prefetched.set(keyOf(owner.spec.name, record.spec.name, record.generation), early);
        waiting.push(early.catch(() => undefined));
      }
    }
    if (waiting.length === 0) return reconciler.observe();
    const queue: NonNullable<typeof held> = [];
    held = queue;
    const observed = Promise.all(waiting).then(() => {
      held = undefined;
      released = undefined;
      // The replicas left running are looked for first, then every deployment is wanted, in the
      // order restore asked: as without secrets, none starts before it could adopt.
      const looking = reconciler.observe();
      for (const { intent, resolve: release } of queue) release(applyNow(intent));
      return looking;
    });
    released = observed.then(
      () => undefined,
      () => undefined,
    );
    return observed;
  };

  /**
   * A request that comes while the daemon-start resolution runs waits for it (within its timeout),
   * then for a replica as usual: it must not get 503 for a deployment the reconciler is about to know.
   */
  const waitForReplica = async (endpoint: string, deployment: string, timeoutMs: number): Promise<boolean> => {
    const holding = released;
    if (!holding) return reconciler.waitForReplica(endpoint, deployment, timeoutMs);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([holding, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    // Applied now: a resolved configuration reaches the reconciler a moment after the release.
    await new Promise((resolve) => setImmediate(resolve));
    return reconciler.waitForReplica(endpoint, deployment, Math.max(0, timeoutMs - (Date.now() - started)));
  };

  return new Proxy(reconciler, {
    get(target, property) {
      if (property === 'apply') return apply;
      if (property === 'observe') return observe;
      if (property === 'waitForReplica') return waitForReplica;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
