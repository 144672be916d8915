import { OepError } from '../../errors.js';
import { developerSubject } from '../../identity/developer.js';
import { ML_RESOURCE } from '../../identity/issuer.js';
import { makeEndpointIdentity } from '../../model/identity.js';
import { dropZeroTraffic } from '../../model/traffic.js';
import { exportSourceOf } from '../../export/kubernetes.js';
import { generateKey, generateSecret, issueToken } from '../../router/auth.js';
import { findFreePort } from '../../runtimes/free-port.js';
import { homeUuid, identityIds } from '../../state/secrets.js';
import type { EndpointRecord } from '../../state/types.js';
import { assertEndpointAbsent, assertFixedAtCreate, assertKeysRegenerable, assertKeyType, assertNoTrafficYet, assertTraffic, refuseWhileDeleting, requireEndpoint } from '../rules.js';
import type { Handlers } from '../server.js';
import { endpointListItem, endpointView, routeOf } from '../views.js';
import type { HandlerContext } from './context.js';

export type EndpointHandlers = Pick<
  Handlers,
  | 'endpoint.list'
  | 'endpoint.show'
  | 'endpoint.spec'
  | 'endpoint.create'
  | 'endpoint.update'
  | 'endpoint.delete'
  | 'endpoint.export'
  | 'endpoint.credentials'
  | 'endpoint.regenerateKeys'
>;

/** The endpoint methods: each checks the rules (src/daemon/rules.ts) against the state, then changes it. */
export function endpointHandlers(ctx: HandlerContext): EndpointHandlers {
  const { deps, now, views } = ctx;
  const { store, router } = deps;
  /** Ports chosen for endpoints being created and not recorded yet. */
  const choosing = new Set<number>();

  /**
   * A free port no endpoint has or is being given: creates run concurrently (many commands racing
   * a cold start), and the kernel may hand the same free port to two of them before either binds.
   */
  async function newEndpointPort(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const port = await findFreePort();
      const taken = choosing.has(port) || Object.values(store.snapshot().endpoints).some((endpoint) => endpoint.port === port);
      if (!taken) {
        choosing.add(port);
        return port;
      }
      if (attempt >= 50) throw new OepError('OEP_ERR_INTERNAL', 'No free port for the endpoint: the kernel kept offering ports other endpoints have.');
    }
  }

  return {
    async 'endpoint.list'() {
      const state = store.snapshot();
      return Object.keys(state.endpoints)
        .sort()
        .map((name) => endpointListItem(state.endpoints[name]!, views));
    },

    async 'endpoint.show'(params) {
      return endpointView(requireEndpoint(store.snapshot(), params.name), views);
    },

    async 'endpoint.spec'(params) {
      return requireEndpoint(store.snapshot(), params.name).spec;
    },

    async 'endpoint.create'(params) {
      const spec = params.spec;
      const tls = params.tls ?? (await deps.defaultTls?.()) ?? false;
      const port = await newEndpointPort();
      const created = await store.mutate((state) => {
        assertEndpointAbsent(state, spec);
        assertNoTrafficYet(spec);
        const stamp = new Date(now()).toISOString();
        const record: EndpointRecord = {
          spec: { ...spec, traffic: {}, mirror_traffic: {} },
          port,
          ...(tls && { tls: true }),
          ...(params.local === true && { local: true }),
          keys: { primary: generateKey(), secondary: generateKey() },
          token_secret: generateSecret(),
          identity: makeEndpointIdentity(spec.identity, identityIds(deps.paths.home)),
          provisioning_state: 'Succeeded',
          created_at: stamp,
          updated_at: stamp,
          deployments: {},
        };
        state.endpoints[spec.name] = record;
        return record;
      }).finally(() => choosing.delete(port));
      try {
        await router.upsert(routeOf(created, views));
      } catch (error) {
        await store.mutate((state) => void delete state.endpoints[spec.name]);
        throw error;
      }
      return endpointView(created, views);
    },

    async 'endpoint.update'(params) {
      const name = params.name;
      // --tls on: the certificate first, so a CA that cannot be used changes nothing.
      const existing = store.snapshot().endpoints[name];
      if (existing) refuseWhileDeleting(existing, undefined, 'updated');
      if (params.tls === true && existing) views.certificate(name);
      const updated = await store.mutate((state) => {
        const record = requireEndpoint(state, name);
        refuseWhileDeleting(record, undefined, 'updated');
        if (params.spec) assertFixedAtCreate(record, params.spec);
        const spec = params.spec ?? record.spec;
        // A file that does not mention traffic leaves the current traffic alone (as az does).
        const fileTraffic = params.keepTraffic === true ? record.spec.traffic : spec.traffic;
        const fileMirror = params.keepMirror === true ? record.spec.mirror_traffic : spec.mirror_traffic;
        const traffic = dropZeroTraffic(params.traffic ?? fileTraffic);
        const mirror = dropZeroTraffic(params.mirror ?? fileMirror);
        assertTraffic(traffic, mirror, Object.keys(record.deployments), spec.kind === 'kubernetes', spec.name);
        record.spec = { ...spec, traffic, mirror_traffic: mirror };
        // --tls on|off: the router makes the listener again on the same port with that protocol.
        if (params.tls === true) record.tls = true;
        else if (params.tls === false) delete record.tls;
        record.updated_at = new Date(now()).toISOString();
        return record;
      });
      await ctx.syncRoute(name);
      return endpointView(updated, views);
    },

    async 'endpoint.delete'(params, context) {
      const name = params.name;
      // Again on an endpoint already Deleting (a delete interrupted, or one under way): it finishes.
      const purge = await store.mutate((state) => {
        const record = requireEndpoint(state, name);
        record.provisioning_state = 'Deleting';
        if (params.purge === true) record.purge_on_delete = true;
        return record.purge_on_delete === true;
      });
      context.accept();
      await ctx.pause('endpoint.delete:marked');
      await ctx.deleter.endpoint(name, { purge });
      return null;
    },

    /** What `oep endpoint export` turns into Kubernetes objects: the endpoint, its keys, its deployments. */
    async 'endpoint.export'(params) {
      return exportSourceOf(requireEndpoint(store.snapshot(), params.name));
    },

    async 'endpoint.credentials'(params) {
      const record = requireEndpoint(store.snapshot(), params.name);
      if (record.spec.auth_mode === 'key') {
        return { primaryKey: record.keys.primary, secondaryKey: record.keys.secondary };
      }
      if (record.spec.auth_mode === 'aad_token') {
        // As azure-ai-ml does: the caller's own Entra ID token for https://ml.azure.com (here the
        // home's developer, from the local issuer), not one the endpoint issues.
        if (!deps.issuer) throw new OepError('OEP_ERR_INTERNAL', 'This daemon has no token issuer.');
        const tenant = record.identity?.tenant_id ?? homeUuid(deps.paths.home, 'tenant');
        const issued = await deps.issuer.issue(ML_RESOURCE, developerSubject(deps.paths.home, tenant), now());
        return { accessToken: issued.token, expiryTimeUtc: issued.expires_on };
      }
      return issueToken(record.spec.name, record.token_secret, now());
    },

    async 'endpoint.regenerateKeys'(params) {
      const name = params.name;
      const keyType = params.keyType ?? 'primary';
      assertKeyType(keyType);
      assertKeysRegenerable(requireEndpoint(store.snapshot(), name));
      await store.mutate((state) => {
        const record = requireEndpoint(state, name);
        if (record.spec.auth_mode === 'key') record.keys[keyType] = generateKey();
        // Token endpoints: a new signing secret invalidates every token issued so far.
        else record.token_secret = generateSecret();
      });
      await ctx.syncRoute(name);
      return null;
    },
  };
}
