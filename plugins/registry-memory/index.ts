/**
 * # registry-memory
 *
 * The default registry: which agents exist, which service and version each implements, in which
 * lifecycle state and health, all in this process's memory (lost on restart; agents re-register).
 *
 * - **Registration** validates what the agent says (semver version, bounded tags and capabilities),
 *   assigns an id when the agent left it empty, clamps the requested lease to
 *   [`minLeaseTtlMs`, `maxLeaseTtlMs`] (0 takes `defaultLeaseTtlMs`) and asks `hooks.admitAgent`
 *   for the initial state (a supervisor admits the agents it started as `initializing`).
 * - **Duplicate ids**: `duplicateIdPolicy: 'replace-same-identity'` (default) lets the identity
 *   that registered an id replace its own registration (a restarted agent) and refuses others with
 *   GW_ALREADY_EXISTS; `'reject'` refuses every duplicate. `register` reports `replaced`.
 * - **Leases** are renewed by heartbeats. One timer wheel swept every `sweepIntervalMs` notices a
 *   lapse: the agent is marked `unhealthy` (out of routing) and removed `leaseExpiry.removeAfterMs`
 *   later unless it renews first. An agent bound to a transport session is removed at once when
 *   that session closes (reason `session-closed`).
 * - **Discovery** is indexed by service and version, filters by semver range, tags, capabilities
 *   and routability, and returns at most `limit` (capped by `maxDiscoverResults`).
 * - **Limits**: `maxInstances` agents (then GW_RESOURCE_EXHAUSTED and `limitReached`), `maxTags`,
 *   `maxCapabilities`, `maxNameLength`, `maxTagValueLength`, `rangeCacheSize` (LRU).
 *
 * ```ts
 * plugins: [{ use: 'registry-memory', options: { defaultLeaseTtlMs: 15000, leaseExpiry: { removeAfterMs: 30000 } } }]
 * ```
 */
import { definePlugin, GatewayError, type RegistryService } from '../../kernel';
import { MemoryRegistry } from './memory-registry';
import { RegistryMetrics } from './registry-metrics';
import { schema, type MemoryRegistryOptions } from './schema';

export default definePlugin<MemoryRegistryOptions, RegistryService>({
  name: 'registry-memory',
  kind: 'registry',
  version: '0.1.0',
  description: 'In-memory agent registry with leases, semver discovery and session binding.',
  schema,
  setup(ctx) {
    checkLeaseBounds(ctx.options);
    const registry = new MemoryRegistry({
      name: ctx.name,
      options: ctx.options,
      hooks: ctx.hooks,
      logger: ctx.logger,
      metrics: new RegistryMetrics(ctx.metrics),
      gatewayId: ctx.gateway.id,
      isDraining: () => ctx.gateway.isDraining(),
    });
    return {
      service: registry,
      start() {
        registry.start(ctx.signal);
      },
      stop() {
        registry.stop();
      },
    };
  },
});

/** Cross-field checks JSON schema cannot express. */
function checkLeaseBounds(options: MemoryRegistryOptions): void {
  const { minLeaseTtlMs, defaultLeaseTtlMs, maxLeaseTtlMs } = options;
  if (minLeaseTtlMs > maxLeaseTtlMs || defaultLeaseTtlMs < minLeaseTtlMs || defaultLeaseTtlMs > maxLeaseTtlMs) {
    throw new GatewayError(
      'GW_PLUGIN_OPTIONS_INVALID',
      `defaultLeaseTtlMs (${defaultLeaseTtlMs}) must lie within minLeaseTtlMs (${minLeaseTtlMs}) and maxLeaseTtlMs (${maxLeaseTtlMs})`,
      { field: 'defaultLeaseTtlMs' },
    );
  }
}
