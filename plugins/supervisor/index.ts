/**
 * # supervisor
 *
 * Runs the agents declared in its `agents` option like a process manager: starts each instance in
 * the configured sandbox when the gateway is ready, watches it, restarts it, and upgrades it
 * without losing messages. Agents that connect on their own are registered as usual and never
 * supervised (`managed: false`). Full guide: docs/supervisor.md.
 *
 * - **Lifecycle**: created → initializing (process spawned) → running (registered over gRPC *and*
 *   answered its readiness probe) → maintenance / upgrade → terminated; restart goes back to
 *   initializing. Illegal transitions are GW_FAILED_PRECONDITION. Every transition fires
 *   `agentStateChanged` once (through the registry while it holds the agent, so Subscribe watchers
 *   see a registry event), counts in `openclaw_managed_agent_transitions_total{from,to}` and logs.
 * - **Health**: crashes are seen from the exit event; hangs by active probes (a `probe` notice on
 *   the agent's session, answered with `HealthCheck{probe_id}`), the first miss degrades (out of
 *   routing), `failureThreshold` misses SIGKILL and restart; passive signals (monitor anomalies,
 *   `maxRssBytes`) degrade, and restart when the rule says so.
 * - **Self-healing**: capped exponential backoff with jitter, reset after `resetAfterMs` of stable
 *   uptime; crash-loop detection quarantines (terminated, `hooks.anomaly` alert `crash-loop`).
 * - **Operator actions** (AdminService / `openclaw-gateway agents ...`): start, stop, restart, drain,
 *   rolling upgrade.
 * - **Bounds**: `maxInstances`; agent output at most `logs.maxLineBytes` per line and
 *   `logs.maxLinesPerSecond` per instance (the rest dropped and counted); restart history only
 *   within the crash-loop window.
 *
 * Each instance gets `OPENCLAW_AGENT_ID`, `OPENCLAW_SERVICE`, `OPENCLAW_AGENT_VERSION`,
 * `OPENCLAW_INCARNATION`, `OPENCLAW_TARGET` (`unix:<gateway socket>`) and, from the sandbox,
 * `OPENCLAW_GATEWAY_SOCKET`, on top of its spec's `env`.
 *
 * ```ts
 * plugins: ['sandbox-process', { use: 'supervisor', options: { agents: [
 *   { id: 'worker', command: 'node', args: ['worker.js'], version: '1.0.0', replicas: 2 },
 * ] } }]
 * ```
 */
import { definePlugin, GatewayError, type SupervisorService } from '../../kernel';
import { schema, type SupervisorOptions } from './schema';
import { Supervisor } from './supervisor';

export default definePlugin<SupervisorOptions, SupervisorService>({
  name: 'supervisor',
  kind: 'supervisor',
  version: '0.1.0',
  description: 'Managed agents: lifecycle, sandboxed processes, health probes, self-healing and rolling upgrades.',
  schema,
  // Not on transport: transport-grpc depends (optionally) on the supervisor for AdminService. The
  // transports are read through `services.transports()` at `ready`, when they listen.
  dependencies: [{ kind: 'registry' }, { kind: 'router' }, { kind: 'sandbox' }],
  setup(ctx) {
    checkSpecs(ctx.options);
    const supervisor = new Supervisor({
      name: ctx.name,
      options: ctx.options,
      hooks: ctx.hooks,
      logger: ctx.logger,
      metrics: ctx.metrics,
      registry: ctx.services.get('registry'),
      router: ctx.services.get('router'),
      sandbox: ctx.services.get('sandbox'),
      gatewayId: ctx.gateway.id,
    });
    supervisor.attach();
    ctx.hooks.ready.tap(ctx.name, () => {
      const transports = ctx.services.transports();
      const socket =
        ctx.options.gatewaySocket ?? transports.map((transport) => transport.unixSocketPath()).find((path) => path !== undefined);
      const tcp = transports.flatMap((transport) => transport.addresses()).find((address) => !address.startsWith('unix:'));
      if (!socket && ctx.options.agents.length > 0) {
        ctx.logger.warn(
          { target: tcp },
          'no gateway Unix socket: managed agents get a TCP target, which a sandbox without network cannot reach',
        );
      }
      supervisor.setGatewayTarget(socket, tcp);
      void supervisor.startAll();
    });
    // The draining hook runs before any plugin drains, so agents still reach the transport and the
    // router to ack and deregister while they stop.
    ctx.hooks.draining.tapPromise(ctx.name, (drain) => supervisor.shutdown(drain.deadline));
    return {
      service: supervisor,
      async stop() {
        await supervisor.killAll();
      },
    };
  },
});

/** Cross-spec checks JSON schema cannot express. */
function checkSpecs(options: SupervisorOptions): void {
  const ids = new Set(options.agents.map((spec) => spec.id));
  if (ids.size !== options.agents.length) {
    throw new GatewayError('GW_PLUGIN_OPTIONS_INVALID', 'agents: two specs share one id', { field: 'agents' });
  }
  let total = 0;
  for (const spec of options.agents) {
    total += spec.replicas;
    for (let number = 1; number <= 2 * spec.replicas; number++) {
      if (ids.has(`${spec.id}-${number}`)) {
        throw new GatewayError(
          'GW_PLUGIN_OPTIONS_INVALID',
          `agents: spec id "${spec.id}-${number}" collides with an instance id of spec "${spec.id}"`,
          { field: 'agents' },
        );
      }
    }
  }
  if (total > options.maxInstances) {
    throw new GatewayError('GW_PLUGIN_OPTIONS_INVALID', `agents: ${total} replicas in all exceed maxInstances (${options.maxInstances})`, {
      field: 'maxInstances',
    });
  }
}
