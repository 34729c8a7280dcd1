/**
 * Every live Subscribe stream of this transport: opening one (limit, auth, registry binding, router
 * session), fanning registry events out to the streams that asked for them, re-checking
 * permissions when the auth policy changes, and closing them all on stop.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import {
  GatewayError,
  Status,
  toGatewayError,
  type AgentRecord,
  type AgentState,
  type AuthService,
  type GatewayHooks,
  type MetricsFactory,
  type RegistryService,
  type RouterService,
} from '../../kernel';
import { RegistryEvent_Kind, type RegistryEvent, type SubscribeRequest } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { peerOf, TRANSPORT_NAME, type CallGuard } from './call-guard';
import { toServiceError } from './error-status';
import { EventEncoder } from './event-encoding';
import { recordToProto, stateToProto } from './proto-mapping';
import { checkSubscribe } from './request-validation';
import type { IdentityQuotas } from './identity-quotas';
import { SubscribeStream } from './subscribe-stream';
import { refuseMalformed } from './strict-decoding';

/** Services a stream's `discover` decisions are remembered for, before the memory starts over. */
const MAX_VISIBILITY_ENTRIES = 1024;

export interface SessionStreamsOptions {
  pluginName: string;
  maxSubscribeStreams: number;
  maxTopicsPerSubscribe: number;
  maxRegistryEventsQueued: number;
  /** Largest Subscribe frame (the transport's `maxMessageBytes`). */
  maxFrameBytes: number;
}

export class SessionStreams {
  private readonly streams = new Set<SubscribeStream>();
  private readonly watchers = new Set<SubscribeStream>();
  private readonly encoder: EventEncoder;
  private readonly startedAt = new WeakMap<SubscribeStream, number>();
  /** Per stream: its quota release, and which services' registry events it may see. */
  private readonly quotaReleases = new WeakMap<SubscribeStream, () => void>();
  private readonly visibility = new WeakMap<SubscribeStream, Map<string, boolean>>();
  private readonly limitHits;
  private readonly droppedRegistryEvents;
  private unsubscribePolicy?: () => void;

  constructor(
    private readonly options: SessionStreamsOptions,
    private readonly deps: {
      guard: CallGuard;
      hooks: GatewayHooks;
      auth: AuthService;
      registry: RegistryService;
      router: RouterService;
      metrics: MetricsFactory;
      quotas: IdentityQuotas;
    },
  ) {
    this.encoder = new EventEncoder(options.maxFrameBytes);
    const { metrics } = deps;
    metrics.gauge({
      name: 'transport_grpc_subscribe_streams',
      help: 'Live Subscribe streams on the gRPC transport',
      collect: (() => {
        const streams = this.streams;
        return function (this: { set(value: number): void }) {
          this.set(streams.size);
        };
      })(),
    });
    this.limitHits = metrics.counter({
      name: 'transport_grpc_limit_hits_total',
      help: 'Times a gRPC transport limit was hit, by limit',
      labelNames: ['limit'] as const,
    });
    this.droppedRegistryEvents = metrics.counter({
      name: 'transport_grpc_registry_events_dropped_total',
      help: 'Registry events dropped because a Subscribe stream fell behind',
    });
  }

  get size(): number {
    return this.streams.size;
  }

  attach(): void {
    const { hooks, auth } = this.deps;
    const name = this.options.pluginName;
    hooks.agentRegistered.tap(name, (agent) => this.broadcast(RegistryEvent_Kind.KIND_UP, agent, 'registered'));
    hooks.agentDeregistered.tap(name, (agent, reason) => this.broadcast(RegistryEvent_Kind.KIND_DOWN, agent, reason));
    hooks.agentStateChanged.tap(name, (change) => {
      if (this.watchers.size === 0) return;
      const agent = this.deps.registry.get(change.agentId);
      if (agent) this.broadcast(RegistryEvent_Kind.KIND_STATE_CHANGED, agent, change.reason, change.from, change.to);
    });
    hooks.healthChanged.tap(name, (change) => {
      if (this.watchers.size === 0) return;
      const agent = this.deps.registry.get(change.agentId);
      if (agent) this.broadcast(RegistryEvent_Kind.KIND_HEALTH_CHANGED, agent, change.reason);
    });
    this.unsubscribePolicy = auth.onPolicyChange(() => this.recheckPermissions());
  }

  /** A limit hit: counted and announced, with the policy applied. */
  limitHit(limit: string, policy: string, detail?: string): void {
    this.limitHits.inc({ limit });
    this.deps.hooks.limitReached.call({ limit, policy, plugin: this.options.pluginName, detail });
  }

  /** The Subscribe handler. */
  handle = (call: ServerWritableStream<SubscribeRequest, Buffer>): void => {
    const startedAt = performance.now();
    this.open(call, startedAt).catch((error: unknown) => {
      const serviceError = toServiceError(error);
      call.emit('error', serviceError);
      this.deps.guard.completed('Subscribe', serviceError.code, startedAt);
    });
  };

  private async open(call: ServerWritableStream<SubscribeRequest, Buffer>, startedAt: number): Promise<void> {
    const { guard, registry, router, hooks } = this.deps;
    guard.admit();
    if (this.streams.size >= this.options.maxSubscribeStreams) {
      this.limitHit('transport.grpc.maxSubscribeStreams', 'reject', `${this.streams.size} streams`);
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `the gateway serves at most ${this.options.maxSubscribeStreams} Subscribe streams; retry later`,
      );
    }
    const request = call.request;
    refuseMalformed(request);
    checkSubscribe(request, this.options.maxTopicsPerSubscribe);
    const identity = await guard.authenticate(call);
    const peer = peerOf(call);
    for (let i = 0; i < request.topics.length; i++) {
      guard.authorize(identity, 'subscribe', request.topics[i].pattern, `topics[${i}].pattern`);
    }
    if (request.agentId !== '') {
      const agent = registry.get(request.agentId);
      if (!agent)
        throw new GatewayError('GW_NOT_FOUND', `agent_id: agent "${request.agentId}" is not registered; call RegisterAgent first`, {
          field: 'agent_id',
        });
      if (agent.identity !== undefined && agent.identity !== identity.id) {
        hooks.authFailed.call({
          stage: 'authorize',
          reason: 'inbox belongs to another identity',
          peer,
          identity: identity.id,
          action: 'subscribe',
          resource: request.agentId,
        });
        throw new GatewayError('GW_PERMISSION_DENIED', `agent_id: agent "${request.agentId}" was registered by another identity`, {
          field: 'agent_id',
        });
      }
    }
    if (call.cancelled) throw new GatewayError('GW_CANCELLED', 'the client went away before the session opened');
    const releaseQuota = this.deps.quotas.openStream(identity, request.topics.length);

    const stream = new SubscribeStream(call, identity, peer, {
      encoder: this.encoder,
      maxRegistryEventsQueued: this.options.maxRegistryEventsQueued,
      registryEventDropped: () => {
        this.droppedRegistryEvents.inc();
        this.limitHit('transport.grpc.maxRegistryEventsQueued', 'drop-oldest');
      },
      ended: (ended, code) => this.ended(ended, code),
    });
    this.streams.add(stream);
    this.startedAt.set(stream, startedAt);
    this.quotaReleases.set(stream, releaseQuota);
    hooks.sessionChanged.call({ kind: 'stream', change: 'opened', transport: TRANSPORT_NAME, method: 'Subscribe' });
    try {
      if (request.agentId !== '') registry.attachSession(request.agentId, stream.sessionId);
      stream.session = router.openSession(stream, {
        agentId: request.agentId || undefined,
        caller: { identity, agentId: request.agentId || undefined, peer },
        maxBatch: request.maxBatch,
      });
      for (const spec of stream.specs) stream.session.subscribe(spec);
    } catch (error) {
      stream.end(toGatewayError(error));
      return;
    }
    if (stream.wantsRegistryEvents) this.watchers.add(stream);
    stream.opened();
  }

  private ended(stream: SubscribeStream, code: number): void {
    if (!this.streams.delete(stream)) return;
    this.watchers.delete(stream);
    this.quotaReleases.get(stream)?.();
    stream.session?.close(code === Status.OK ? 'stream ended' : 'stream closed');
    if (stream.agentId !== '') this.deps.registry.sessionClosed(stream.sessionId);
    this.deps.hooks.sessionChanged.call({ kind: 'stream', change: 'closed', transport: TRANSPORT_NAME, method: 'Subscribe' });
    this.deps.guard.completed('Subscribe', code, this.startedAt.get(stream) ?? performance.now());
  }

  private broadcast(kind: RegistryEvent_Kind, agent: AgentRecord, reason: string, from?: AgentState, to?: AgentState): void {
    if (this.watchers.size === 0) return;
    const event: RegistryEvent = {
      kind,
      agent: recordToProto(agent),
      reason,
      fromState: from ? stateToProto(from) : 0,
      toState: to ? stateToProto(to) : 0,
    };
    // Encoded once for every watcher; each sees only the services it may discover.
    const frame = this.encoder.registry(event);
    for (const stream of this.watchers) if (this.maySee(stream, agent.service)) stream.pushRegistry(frame);
  }

  /** `discover` on the service, remembered per stream until the policy changes. */
  private maySee(stream: SubscribeStream, service: string): boolean {
    let decisions = this.visibility.get(stream);
    if (!decisions) {
      decisions = new Map();
      this.visibility.set(stream, decisions);
    }
    let allowed = decisions.get(service);
    if (allowed === undefined) {
      allowed = this.deps.auth.authorize({ identity: stream.identity, action: 'discover', resource: service }).allowed;
      if (decisions.size >= MAX_VISIBILITY_ENTRIES) decisions.clear();
      decisions.set(service, allowed);
    }
    return allowed;
  }

  private recheckPermissions(): void {
    const { auth, hooks } = this.deps;
    for (const stream of [...this.streams]) {
      this.visibility.delete(stream);
      for (const spec of stream.specs) {
        const decision = auth.authorize({ identity: stream.identity, action: 'subscribe', resource: spec.pattern });
        if (decision.allowed) continue;
        hooks.authFailed.call({
          stage: 'authorize',
          reason: decision.reason,
          peer: stream.peer,
          identity: stream.identity.id,
          action: 'subscribe',
          resource: spec.pattern,
        });
        stream.end(
          new GatewayError(
            'GW_PERMISSION_DENIED',
            `"${stream.identity.id}" may no longer subscribe to "${spec.pattern}" after a policy change: ${decision.reason}`,
          ),
        );
        break;
      }
    }
  }

  /** Ends every stream (stop). */
  closeAll(error: GatewayError): void {
    this.unsubscribePolicy?.();
    this.unsubscribePolicy = undefined;
    for (const stream of [...this.streams]) stream.end(error);
  }
}
