/**
 * Every extension point of the gateway, declared once with its argument types.
 *
 * The hook kind is chosen on purpose: AsyncSeries for lifecycle stages (each plugin finishes before
 * the next runs), Sync for notifications on hot paths (no promise per message), SyncBail /
 * AsyncSeriesBail for decisions where the first plugin with an answer wins.
 *
 * Tap with the plugin's name (`hooks.agentRegistered.tap(ctx.name, ...)`) so traces show who did what.
 * Hot-path callers check `hook.isUsed()` before building arguments.
 *
 * ## Hook reference
 * | hook | kind | fired when |
 * |---|---|---|
 * | configLoaded | Sync(config) | the config file was read and its top level validated |
 * | pluginsValidated | Sync(plugins) | every plugin resolved and its options validated |
 * | pluginsInitialized | AsyncSeries(plugins) | every plugin's setup ran, in dependency order |
 * | started | AsyncSeries() | every plugin's start ran |
 * | ready | Sync() | the gateway accepts traffic |
 * | draining | AsyncSeries(drain) | shutdown began: stop accepting, finish in-flight work |
 * | stopped | Sync() | every plugin stopped, in reverse order |
 * | admitAgent | SyncWaterfall(admission) | a registry is about to add an agent: taps set its initial state / managed flag, or throw to refuse it |
 * | agentRegistered | Sync(agent) | an agent registered (or re-registered) |
 * | agentDeregistered | Sync(agent, reason) | an agent left: deregister, lease lapse, session end |
 * | agentStateChanged | Sync(change) | a lifecycle transition happened |
 * | healthChanged | Sync(change) | an agent's health changed |
 * | probeAnswered | Sync(agentId, probeId) | an agent answered an active health probe (HealthCheck with probe_id) |
 * | messageAccepted | Sync(message) | a router accepted a message |
 * | messageDelivered | Sync(message, delivery) | a message was written to a subscriber |
 * | messageDropped | Sync(message, reason) | a message was dropped by a limit or a policy |
 * | messageDeadLettered | Sync(deadLetter) | a message went to the dead-letter topic |
 * | authenticate | AsyncSeriesBail(request) → Identity | a transport needs the caller's identity |
 * | authorize | SyncBail(request) → decision | an action needs a decision |
 * | authFailed | Sync(event) | authentication or authorization was refused |
 * | policyChanged | Sync(event) | an auth policy was swapped |
 * | rpcCompleted | Sync(observation) | a transport finished a call (for metrics) |
 * | sessionChanged | Sync(event) | a connection or stream opened or closed |
 * | limitReached | Sync(event) | a bounded queue, map or loop hit its limit |
 * | anomaly | Sync(event) | a monitor rule fired for an agent |
 * | audit | Sync(event) | an admin action happened |
 */
import { AsyncSeriesBailHook, AsyncSeriesHook, SyncBailHook, SyncHook, SyncWaterfallHook } from 'tapable';
import type { AgentInfo, AgentRecord, AgentState, AgentStateChange, HealthChange, Identity } from './contracts/agent';
import type { AuthRequest, AuthzDecision, AuthzRequest } from './contracts/auth';
import type { DeadLetter, Delivery, MessageEnvelope } from './contracts/message';

export interface PluginSummary {
  name: string;
  kind: string;
  version: string;
  source: string;
}

export interface DrainContext {
  /** Epoch ms by which draining must be done; the kernel stops plugins after it regardless. */
  deadline: number;
  reason: string;
}

export interface RpcObservation {
  /** e.g. `SendMessage`. Bounded by the service definition, so safe as a metric label. */
  method: string;
  /** gRPC status name, e.g. `OK`, `INVALID_ARGUMENT`. */
  code: string;
  durationSeconds: number;
  transport: string;
  /** The client's `x-request-id`, when it sent one: for logs only, never a metric label. */
  requestId?: string;
  /** The agent the call acts for (registering, renewing, sending as), when the request names one. */
  agentId?: string;
  /** Remote address, for logs. */
  peer?: string;
}

export interface SessionEvent {
  kind: 'connection' | 'stream';
  change: 'opened' | 'closed';
  transport: string;
  method?: string;
}

export interface LimitEvent {
  /** Stable limit name, e.g. `router.subscriberQueue`, `registry.maxInstances`. */
  limit: string;
  /** What was done about it, e.g. `drop-oldest`, `reject`, `disconnect`. */
  policy: string;
  plugin: string;
  detail?: string;
}

export interface AnomalyEvent {
  rule: string;
  agentId: string;
  value: number;
  threshold: number;
  action: 'degrade' | 'restart' | 'alert';
  at: number;
}

export interface AuthFailure {
  stage: 'authenticate' | 'authorize';
  reason: string;
  peer: string;
  identity?: string;
  action?: string;
  resource?: string;
}

export interface AuditEvent {
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'denied' | 'failed';
  detail?: string;
  at: number;
}

export interface PolicyChangeEvent {
  source: 'file' | 'admin' | 'startup';
  version: string;
  at: number;
}

/**
 * Passed through `admitAgent` before a registry adds an agent. Self-connecting agents are admitted
 * as `running`; a supervisor taps this to admit the agents it started as `initializing` (they
 * become `running` only after their readiness check) and to mark them managed.
 */
export interface AgentAdmission {
  readonly info: Readonly<AgentInfo>;
  readonly identity?: Identity;
  state: AgentState;
  managed: boolean;
  /**
   * The per-launch secret the registering caller presented, if any (`RegisterContext.instanceToken`).
   * A supervisor refuses (throws GW_PERMISSION_DENIED) an id reserved for its managed instances
   * unless this is the secret it gave that instance's current process.
   */
  readonly instanceToken?: string;
}

export function createHooks() {
  return {
    // Lifecycle stages
    configLoaded: new SyncHook<[config: Readonly<Record<string, unknown>>]>(['config']),
    pluginsValidated: new SyncHook<[plugins: readonly PluginSummary[]]>(['plugins']),
    pluginsInitialized: new AsyncSeriesHook<[plugins: readonly PluginSummary[]]>(['plugins']),
    started: new AsyncSeriesHook<[]>([]),
    ready: new SyncHook<[]>([]),
    draining: new AsyncSeriesHook<[drain: DrainContext]>(['drain']),
    stopped: new SyncHook<[]>([]),

    // Registry
    admitAgent: new SyncWaterfallHook<[admission: AgentAdmission]>(['admission']),
    agentRegistered: new SyncHook<[agent: AgentRecord]>(['agent']),
    agentDeregistered: new SyncHook<[agent: AgentRecord, reason: string]>(['agent', 'reason']),
    agentStateChanged: new SyncHook<[change: AgentStateChange]>(['change']),
    healthChanged: new SyncHook<[change: HealthChange]>(['change']),
    probeAnswered: new SyncHook<[agentId: string, probeId: string]>(['agentId', 'probeId']),

    // Messages
    messageAccepted: new SyncHook<[message: MessageEnvelope]>(['message']),
    messageDelivered: new SyncHook<[message: MessageEnvelope, delivery: Delivery]>(['message', 'delivery']),
    messageDropped: new SyncHook<[message: MessageEnvelope, reason: string]>(['message', 'reason']),
    messageDeadLettered: new SyncHook<[deadLetter: DeadLetter]>(['deadLetter']),

    // Security: first plugin with an answer wins.
    authenticate: new AsyncSeriesBailHook<[request: AuthRequest], Identity | undefined>(['request']),
    authorize: new SyncBailHook<[request: AuthzRequest], AuthzDecision | undefined>(['request']),
    authFailed: new SyncHook<[failure: AuthFailure]>(['failure']),
    policyChanged: new SyncHook<[event: PolicyChangeEvent]>(['event']),

    // Observability
    rpcCompleted: new SyncHook<[observation: RpcObservation]>(['observation']),
    sessionChanged: new SyncHook<[event: SessionEvent]>(['event']),
    limitReached: new SyncHook<[event: LimitEvent]>(['event']),
    anomaly: new SyncHook<[event: AnomalyEvent]>(['event']),
    audit: new SyncHook<[event: AuditEvent]>(['event']),
  };
}

export type GatewayHooks = ReturnType<typeof createHooks>;
export type HookName = keyof GatewayHooks;
