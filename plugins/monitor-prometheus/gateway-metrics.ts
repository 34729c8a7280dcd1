/**
 * The cross-cutting `openclaw_gateway_*` metrics, derived from kernel hooks so that no plugin has to
 * know about Prometheus to be observable. Plugin-specific metrics (router queue depths, durable
 * store size, ...) are registered by those plugins through `ctx.metrics` and served alongside.
 *
 * Hot-path taps (messages, RPCs) only pick a pre-bound child and increment it: no label objects,
 * no string keys, no closures per event. Label values that come from free text are capped.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import {
  AGENT_STATES,
  type AgentHealth,
  type AgentState,
  type GatewayHooks,
  type GatewayInfo,
  type MessageEnvelope,
  type MetricsFactory,
  type RegistryService,
} from '../../kernel';
import { BoundedChildren, PairedChildren } from './bounded-labels';
import type { MonitorOptions } from './schema';

const AGENT_HEALTHS: readonly AgentHealth[] = ['unknown', 'healthy', 'degraded', 'unhealthy'];

type CounterChild = Counter.Internal;

/** One pre-bound child per message target kind; chosen without allocating. */
interface ByTargetKind<Child> {
  topic: Child;
  agent: Child;
  service: Child;
}

function byTargetKind<Child>(bind: (kind: string) => Child): ByTargetKind<Child> {
  return { topic: bind('topic'), agent: bind('agent'), service: bind('service') };
}

function pick<Child>(children: ByTargetKind<Child>, message: MessageEnvelope): Child {
  if (message.topic) return children.topic;
  if (message.agentId) return children.agent;
  return children.service;
}

export interface GatewayMetricsContext {
  name: string;
  hooks: GatewayHooks;
  metrics: MetricsFactory;
  gateway: GatewayInfo;
  registry: RegistryService | undefined;
  options: MonitorOptions['metrics'];
  /** Counts agent restarts (running/maintenance/upgrade → initializing) for the dashboard. */
  onRestart?: (agentId: string) => void;
}

/** Running totals the dashboard turns into rates; plain numbers so reading them costs nothing. */
export interface TrafficTotals {
  accepted: number;
  delivered: number;
  dropped: number;
  deadLettered: number;
}

export function tapGatewayMetrics(context: GatewayMetricsContext): TrafficTotals {
  const { name, hooks, metrics, gateway, registry, options } = context;
  const totals: TrafficTotals = { accepted: 0, delivered: 0, dropped: 0, deadLettered: 0 };
  const labelLimit = options.maxLabelValues;
  const reportOverflow = (metric: string) => (value: string) =>
    hooks.limitReached.call({
      limit: 'monitor.metricLabelValues',
      policy: 'fold-into-other',
      plugin: name,
      detail: `${metric}: more than ${labelLimit} distinct label values (first folded: ${JSON.stringify(value.slice(0, 80))})`,
    });

  const accepted = metrics.counter<'target_kind'>({
    name: 'gateway_messages_accepted_total',
    help: 'Messages accepted by the router, by target kind (topic, agent, service).',
    labelNames: ['target_kind'],
  });
  const delivered = metrics.counter<'target_kind' | 'guarantee'>({
    name: 'gateway_messages_delivered_total',
    help: 'Messages written to a subscriber, by target kind and delivery guarantee.',
    labelNames: ['target_kind', 'guarantee'],
  });
  const redelivered = metrics.counter({
    name: 'gateway_messages_redelivered_total',
    help: 'Durable messages delivered again after a nack, a lost session or an ack timeout.',
  });
  const dropped = metrics.counter<'reason'>({
    name: 'gateway_messages_dropped_total',
    help: 'Messages dropped by a limit or a policy, by reason.',
    labelNames: ['reason'],
  });
  const deadLettered = metrics.counter<'reason'>({
    name: 'gateway_messages_dead_lettered_total',
    help: 'Messages moved to the dead-letter topic, by reason.',
    labelNames: ['reason'],
  });
  const rpcDuration = metrics.histogram<'method' | 'code'>({
    name: 'gateway_rpc_duration_seconds',
    help: 'Duration of completed RPCs, by method and status code.',
    labelNames: ['method', 'code'],
    buckets: options.rpcBuckets,
  });
  const connectionsOpen = metrics.gauge<'transport'>({
    name: 'gateway_connections_open',
    help: 'Open client connections, by transport.',
    labelNames: ['transport'],
  });
  const streamsOpen = metrics.gauge<'transport'>({
    name: 'gateway_streams_open',
    help: 'Open streaming calls (Subscribe, PublishStream), by transport.',
    labelNames: ['transport'],
  });
  const restarts = metrics.counter({
    name: 'gateway_agent_restarts_total',
    help: 'Agent restarts (a transition back to initializing).',
  });
  const stateChanges = metrics.counter<'to'>({
    name: 'gateway_agent_state_changes_total',
    help: 'Agent lifecycle transitions, by target state.',
    labelNames: ['to'],
  });
  const authFailures = metrics.counter<'stage' | 'reason'>({
    name: 'gateway_auth_failures_total',
    help: 'Refused authentications and authorizations (denials), by stage and reason.',
    labelNames: ['stage', 'reason'],
  });
  const policyChanges = metrics.counter<'source'>({
    name: 'gateway_policy_changes_total',
    help: 'Auth policy swaps, by source.',
    labelNames: ['source'],
  });
  const limitsReached = metrics.counter<'limit' | 'policy'>({
    name: 'gateway_limits_reached_total',
    help: 'Times a bounded queue, map or loop hit its limit, by limit name and the policy applied.',
    labelNames: ['limit', 'policy'],
  });
  const anomalies = metrics.counter<'rule' | 'action'>({
    name: 'gateway_anomalies_total',
    help: 'Anomaly rules fired, by rule and requested action.',
    labelNames: ['rule', 'action'],
  });
  metrics.gauge<'state' | 'health'>({
    name: 'gateway_agents',
    help: 'Registered agents, by lifecycle state and health.',
    labelNames: ['state', 'health'],
    collect(this: Gauge<'state' | 'health'>) {
      if (!registry) return;
      const counts = new Map<string, number>();
      for (const agent of registry.discover({ limit: Math.max(1, registry.size()) })) {
        const key = `${agent.state}|${agent.health}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      // Every combination is set, including zeros, so a series never goes stale when it empties.
      for (const state of AGENT_STATES) {
        for (const health of AGENT_HEALTHS) this.set({ state, health }, counts.get(`${state}|${health}`) ?? 0);
      }
    },
  });
  metrics.gauge({
    name: 'gateway_ready',
    help: '1 when every plugin has started and the gateway is not draining, else 0.',
    collect(this: Gauge) {
      this.set(gateway.stage() === 'ready' ? 1 : 0);
    },
  });
  const info = metrics.gauge<'version' | 'gateway_id'>({
    name: 'gateway_build_info',
    help: 'Constant 1, labelled with the gateway version and instance id.',
    labelNames: ['version', 'gateway_id'],
  });
  info.set({ version: gateway.version, gateway_id: gateway.id }, 1);
  metrics.gauge({
    name: 'gateway_uptime_seconds',
    help: 'Seconds since the gateway started.',
    collect(this: Gauge) {
      this.set((Date.now() - gateway.startedAt) / 1000);
    },
  });

  // inc(0) makes each series exist from the first scrape, so rate() sees the very first message.
  const acceptedBy = byTargetKind((kind) => zero(accepted.labels(kind)));
  const deliveredDurable = byTargetKind((kind) => zero(delivered.labels(kind, 'at_least_once')));
  const deliveredOnce = byTargetKind((kind) => zero(delivered.labels(kind, 'at_most_once')));
  const droppedBy = new BoundedChildren<CounterChild>(labelLimit, (v) => dropped.labels(v), reportOverflow('dropped'));
  const deadBy = new BoundedChildren<CounterChild>(labelLimit, (v) => deadLettered.labels(v), reportOverflow('dead_lettered'));
  const rpcBy = new PairedChildren<Histogram.Internal<'method' | 'code'>>(
    labelLimit,
    (method, code) => rpcDuration.labels(method, code),
    reportOverflow('rpc_duration'),
  );
  const connectionsBy = new BoundedChildren<Gauge.Internal<'transport'>>(
    labelLimit,
    (v) => connectionsOpen.labels(v),
    reportOverflow('connections_open'),
  );
  const streamsBy = new BoundedChildren<Gauge.Internal<'transport'>>(
    labelLimit,
    (v) => streamsOpen.labels(v),
    reportOverflow('streams_open'),
  );
  const stateBy = new BoundedChildren<CounterChild>(
    AGENT_STATES.length + 1,
    (v) => stateChanges.labels(v),
    reportOverflow('state_changes'),
  );
  const authBy = new PairedChildren<CounterChild>(labelLimit, (s, r) => authFailures.labels(s, r), reportOverflow('auth_failures'));
  const anomalyBy = new PairedChildren<CounterChild>(labelLimit, (r, a) => anomalies.labels(r, a), reportOverflow('anomalies'));
  const limitBy = new PairedChildren<CounterChild>(
    labelLimit,
    (l, p) => limitsReached.labels(l, p),
    () => undefined,
  );

  hooks.messageAccepted.tap(name, (message) => {
    totals.accepted += 1;
    pick(acceptedBy, message).inc();
  });
  hooks.messageDelivered.tap(name, (message, delivery) => {
    totals.delivered += 1;
    pick(delivery.deliveryTag ? deliveredDurable : deliveredOnce, message).inc();
    if (delivery.attempt > 1) redelivered.inc();
  });
  hooks.messageDropped.tap(name, (_message, reason) => {
    totals.dropped += 1;
    droppedBy.get(reason).inc();
  });
  hooks.messageDeadLettered.tap(name, (deadLetter) => {
    totals.deadLettered += 1;
    deadBy.get(deadLetter.reason).inc();
  });
  hooks.rpcCompleted.tap(name, (observation) => {
    rpcBy.get(observation.method, observation.code).observe(observation.durationSeconds);
  });
  hooks.sessionChanged.tap(name, (event) => {
    const gauge = (event.kind === 'connection' ? connectionsBy : streamsBy).get(event.transport);
    if (event.change === 'opened') gauge.inc();
    else gauge.dec();
  });
  hooks.agentStateChanged.tap(name, (change) => {
    stateBy.get(change.to).inc();
    if (isRestart(change.from, change.to)) {
      restarts.inc();
      context.onRestart?.(change.agentId);
    }
  });
  hooks.authFailed.tap(name, (failure) => authBy.get(failure.stage, failure.reason).inc());
  hooks.policyChanged.tap(name, (event) => policyChanges.labels(event.source).inc());
  hooks.limitReached.tap(name, (event) => limitBy.get(event.limit, event.policy).inc());
  hooks.anomaly.tap(name, (event) => anomalyBy.get(event.rule, event.action).inc());
  return totals;
}

function zero<Child extends { inc(value?: number): void }>(child: Child): Child {
  child.inc(0);
  return child;
}

/** The lifecycle restarts an agent by sending it from an active state back to initializing. */
export function isRestart(from: AgentState, to: AgentState): boolean {
  return to === 'initializing' && (from === 'running' || from === 'maintenance' || from === 'upgrade');
}
