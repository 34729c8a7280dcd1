/**
 * The supervisor service: the managed instances of every spec, the hook taps that connect them to
 * the registry (admission, probe answers, monitor anomalies), operator actions and shutdown.
 */
import type { Logger } from 'pino';
import {
  AGENT_STATES,
  GatewayError,
  type AgentRecord,
  type AgentState,
  type AnomalyEvent,
  type GatewayHooks,
  type ManagedInstanceStatus,
  type RegistryService,
  type RouterService,
  type SandboxService,
  type SupervisorService,
} from '../../kernel';
import { ManagedInstance, type InstanceHost } from './managed-instance';
import { rollingUpgrade, type UpgradeChange } from './rolling-upgrade';
import type { AgentSpecOptions, SupervisorOptions } from './schema';
import { supervisorMetrics, type SupervisorMetrics } from './supervisor-metrics';
import type { MetricsFactory } from '../../kernel';
import { valid as validSemver } from 'semver';

export interface SupervisorDeps {
  name: string;
  options: SupervisorOptions;
  hooks: GatewayHooks;
  logger: Logger;
  metrics: MetricsFactory;
  registry: RegistryService;
  router: RouterService;
  sandbox: SandboxService;
  gatewayId: string;
}

export class Supervisor implements SupervisorService {
  private readonly specs = new Map<string, AgentSpecOptions>();
  /** Every instance by agent id; bounded by `maxInstances` (checked when one is created). */
  private readonly instances = new Map<string, ManagedInstance>();
  private readonly upgrading = new Set<string>();
  private readonly metrics: SupervisorMetrics;
  private readonly host: InstanceHost;
  private shuttingDown = false;

  constructor(private readonly deps: SupervisorDeps) {
    this.metrics = supervisorMetrics(deps.metrics, () => this.countByState());
    this.host = {
      sandbox: deps.sandbox,
      registry: deps.registry,
      router: deps.router,
      hooks: deps.hooks,
      logger: deps.logger,
      metrics: this.metrics,
      gatewayId: deps.gatewayId,
      isShuttingDown: () => this.shuttingDown,
    };
    for (const spec of deps.options.agents) {
      this.specs.set(spec.id, spec);
      for (let number = 1; number <= spec.replicas; number++) this.createInstance(spec.id, number, spec);
    }
  }

  /** Where agents find the gateway: set once the transports listen, before anything is spawned. */
  setGatewayTarget(socket: string | undefined, fallback: string | undefined): void {
    this.host.gatewaySocket = socket;
    this.host.fallbackTarget = fallback;
  }

  attach(): void {
    const { hooks, name } = this.deps;
    hooks.admitAgent.tap(name, (admission) => {
      const agentId = admission.info.agentId;
      const instance = this.instances.get(agentId);
      const specId = instance?.specId ?? this.reservingSpec(agentId);
      if (specId === undefined) return admission;
      // Reserved for a managed instance: only the process we started for it may take the id, by
      // the secret we handed it. Any other local process (open mode: every caller is the same
      // anonymous identity) is refused, also while the instance is stopped or restarting.
      if (!instance?.expectsRegistration || !instance.presentsLaunchToken(admission.instanceToken)) {
        throw new GatewayError(
          'GW_PERMISSION_DENIED',
          `agent.agent_id: "${agentId}" is reserved for a managed instance of "${specId}"; only the process the supervisor started for it may register it (with its OPENCLAW_INSTANCE_TOKEN in the x-openclaw-instance-token metadata)`,
          { field: 'agent.agent_id' },
        );
      }
      // Started by us: not routable until its readiness probe is answered.
      const state: AgentState = instance.lifecycle.state === 'initializing' ? 'initializing' : instance.lifecycle.state;
      return { ...admission, state, managed: true };
    });
    hooks.probeAnswered.tap(name, (agentId, probeId) => this.instances.get(agentId)?.probeAnswered(probeId));
    hooks.anomaly.tap(name, (event) => this.onAnomaly(event));
  }

  /** Starts every instance not started yet (at gateway `ready`: the transports listen by then). */
  async startAll(): Promise<void> {
    const starting = [...this.instances.values()].filter((instance) => instance.lifecycle.state === 'created');
    await Promise.all(
      starting.map((instance) =>
        instance.launch('gateway ready').catch((error: unknown) => {
          this.deps.logger.error({ agentId: instance.agentId, err: error }, `managed agent ${instance.agentId} could not be started`);
        }),
      ),
    );
  }

  list(): AgentRecord[] {
    return [...this.instances.values()].map((instance) => instance.record());
  }

  status(agentId: string): ManagedInstanceStatus[] {
    return this.resolve(agentId).map((instance) => instance.status());
  }

  async start(agentId: string): Promise<void> {
    const instances = this.resolve(agentId);
    this.refuseWhileShuttingDown();
    await Promise.all(instances.map((instance) => instance.start(this.readyTimeoutMs(instance.spec))));
  }

  async stop(agentId: string): Promise<void> {
    const instances = this.resolve(agentId);
    await Promise.all(instances.map((instance) => instance.stop('operator stop')));
  }

  async restart(agentId: string): Promise<void> {
    const instances = this.resolve(agentId);
    this.refuseWhileShuttingDown();
    // All-or-nothing precondition: a spec with one terminated instance is refused before any restarts.
    for (const instance of instances) {
      if (!instance.lifecycle.can('initializing')) {
        throw new GatewayError(
          'GW_FAILED_PRECONDITION',
          `agent "${instance.agentId}" cannot restart from ${instance.lifecycle.state} (illegal transition ${instance.lifecycle.state}→initializing); use start`,
          {
            field: 'agent_id',
            details: { agentId: instance.agentId, from: instance.lifecycle.state, to: 'initializing' },
          },
        );
      }
    }
    await Promise.all(instances.map((instance) => instance.restart(this.readyTimeoutMs(instance.spec))));
  }

  async drain(agentId: string): Promise<void> {
    const instances = this.resolve(agentId);
    for (const instance of instances) {
      const state = instance.lifecycle.state;
      if (state !== 'maintenance' && !instance.lifecycle.can('maintenance')) {
        throw new GatewayError(
          'GW_FAILED_PRECONDITION',
          `agent "${instance.agentId}" cannot be drained from ${state} (illegal transition ${state}→maintenance)`,
          {
            field: 'agent_id',
            details: { agentId: instance.agentId, from: state, to: 'maintenance' },
          },
        );
      }
    }
    for (const instance of instances) instance.drain('operator drain');
  }

  async upgrade(agentId: string, change: UpgradeChange): Promise<void> {
    this.refuseWhileShuttingDown();
    const spec = this.specs.get(agentId) ?? this.specs.get(this.instances.get(agentId)?.specId ?? '');
    if (!spec) throw notFound(agentId);
    if (change.version !== undefined && validSemver(change.version) === null) {
      throw new GatewayError('GW_INVALID_ARGUMENT', `version: "${change.version}" is not a semantic version`, { field: 'version' });
    }
    if (this.upgrading.has(spec.id)) {
      throw new GatewayError('GW_FAILED_PRECONDITION', `agent "${spec.id}" is already being upgraded`, { field: 'agent_id' });
    }
    const next: AgentSpecOptions = {
      ...spec,
      command: change.command ?? spec.command,
      args: change.args ?? spec.args,
      version: change.version ?? spec.version,
    };
    this.upgrading.add(spec.id);
    this.deps.logger.info(
      { specId: spec.id, from: spec.version, to: next.version },
      `rolling upgrade of ${spec.id}: ${spec.version} → ${next.version}`,
    );
    try {
      // New instances (also restarts of replaced numbers) use the new spec from now on.
      this.specs.set(spec.id, next);
      await rollingUpgrade(
        {
          instancesOf: (specId) => this.instancesOf(specId),
          createInstance: (specId, number, instanceSpec) => this.createInstance(specId, number, instanceSpec),
          removeInstance: (instance) => {
            if (this.instances.get(instance.agentId) === instance) this.instances.delete(instance.agentId);
          },
          usedNumbers: (specId) => new Set(this.instancesOf(specId).map((instance) => instanceNumber(instance.agentId))),
          readyTimeoutMs: (instanceSpec) => this.readyTimeoutMs(instanceSpec),
        },
        spec,
        next,
      );
      this.deps.logger.info(
        { specId: spec.id, version: next.version },
        `rolling upgrade of ${spec.id} done: every instance runs ${next.version}`,
      );
    } finally {
      this.upgrading.delete(spec.id);
    }
  }

  /** Gateway draining: every instance stopped gracefully within the drain deadline, no restarts. */
  async shutdown(deadline: number): Promise<void> {
    this.shuttingDown = true;
    const instances = [...this.instances.values()];
    await Promise.all(
      instances.map((instance) => {
        // Leave a moment before the deadline for the SIGKILL and the exit to be seen.
        const timeoutMs = Math.max(0, Math.min(instance.spec.stopTimeoutMs, deadline - Date.now() - 200));
        return instance.stop('gateway draining', timeoutMs).catch((error: unknown) => {
          this.deps.logger.warn({ agentId: instance.agentId, err: error }, 'could not stop a managed agent gracefully');
        });
      }),
    );
  }

  /** Plugin stop: nothing may outlive the gateway. */
  async killAll(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.instances.values()].map((instance) => instance.kill()));
  }

  private onAnomaly(event: AnomalyEvent): void {
    if (event.action === 'alert') return;
    const reason = `anomaly ${event.rule}: ${event.value} ≥ ${event.threshold}`;
    const instance = this.instances.get(event.agentId);
    if (!instance) {
      // Not ours to restart, but still taken out of routing.
      const record = this.deps.registry.get(event.agentId);
      if (record && record.health !== 'degraded' && record.health !== 'unhealthy') {
        try {
          this.deps.registry.setHealth(event.agentId, 'degraded', reason);
        } catch {
          // Gone meanwhile.
        }
      }
      return;
    }
    instance.setHealth('degraded', reason);
    if (event.action === 'restart') instance.restartFor('anomaly', reason, 'SIGTERM');
  }

  private createInstance(specId: string, number: number, spec: AgentSpecOptions): ManagedInstance {
    const max = this.deps.options.maxInstances;
    if (this.instances.size >= max) {
      this.deps.hooks.limitReached.call({
        limit: 'supervisor.maxInstances',
        policy: 'reject',
        plugin: this.deps.name,
        detail: `${this.instances.size} instances`,
      });
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `the supervisor manages at most ${max} instances (maxInstances); raise it or lower replicas`,
        {
          details: { limit: 'supervisor.maxInstances', max },
        },
      );
    }
    const agentId = `${specId}-${number}`;
    const instance = new ManagedInstance(specId, agentId, spec, this.host);
    this.instances.set(agentId, instance);
    return instance;
  }

  private instancesOf(specId: string): ManagedInstance[] {
    return [...this.instances.values()]
      .filter((instance) => instance.specId === specId)
      .sort((a, b) => instanceNumber(a.agentId) - instanceNumber(b.agentId));
  }

  /** The spec whose instance ids (`<spec>-<n>`, n ≤ 2 × replicas for upgrades) include `agentId`. */
  private reservingSpec(agentId: string): string | undefined {
    const dash = agentId.lastIndexOf('-');
    if (dash <= 0) return undefined;
    const spec = this.specs.get(agentId.slice(0, dash));
    const number = Number(agentId.slice(dash + 1));
    if (!spec || !Number.isInteger(number) || number < 1 || number > 2 * spec.replicas) return undefined;
    return spec.id;
  }

  private resolve(agentId: string): ManagedInstance[] {
    const instance = this.instances.get(agentId);
    if (instance) return [instance];
    if (this.specs.has(agentId)) {
      const instances = this.instancesOf(agentId);
      if (instances.length > 0) return instances;
    }
    throw notFound(agentId);
  }

  private readyTimeoutMs(spec: AgentSpecOptions): number {
    // A stop of the old process, then a few starts with backoff in between.
    return spec.stopTimeoutMs + 3 * spec.health.readinessTimeoutMs;
  }

  private refuseWhileShuttingDown(): void {
    if (this.shuttingDown) throw new GatewayError('GW_DRAINING', 'the gateway is draining; managed agents are being stopped');
  }

  private countByState(): Record<AgentState, number> {
    const counts = Object.fromEntries(AGENT_STATES.map((state) => [state, 0])) as Record<AgentState, number>;
    for (const instance of this.instances.values()) counts[instance.lifecycle.state]++;
    return counts;
  }
}

function instanceNumber(agentId: string): number {
  return Number(agentId.slice(agentId.lastIndexOf('-') + 1));
}

function notFound(agentId: string): GatewayError {
  return new GatewayError('GW_NOT_FOUND', `agent_id: no managed agent or spec "${agentId}"`, { field: 'agent_id' });
}
