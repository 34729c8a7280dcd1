/**
 * The agent handle returned by `connect()`: registration with automatic lease renewal, the
 * agent's inbox session (re-registered and re-opened after a gateway restart, answering health
 * probes), topic subscriptions, messaging, request/reply, discovery and a clean close.
 */
import { randomUUID } from 'node:crypto';
import {
  AckKind,
  type AgentInfo,
  type AgentRecord,
  type BatchResult,
  type DiscoverResult,
  type Event,
  type HealthStatus,
  type Message,
  type RegistrationResult,
  type SendResult,
} from '../proto/gen/openclaw/gateway/v1/gateway';
import { GatewayConnection, type ConnectionOptions } from './connection';
import { AgentDelivery, type DeliveryHost, type Payload } from './delivery';
import { GatewayClientError } from './errors';
import { SessionStream } from './session-stream';
import { Subscription } from './subscription';

export interface AgentOptions extends ConnectionOptions {
  /** Deliveries buffered per subscription before the stream is paused. Default 1000. */
  maxBuffered?: number;
  /** Requests tracked for cancellation at once; the oldest is forgotten beyond it. Default 10000. */
  maxPendingRequests?: number;
  /** Called when a session breaks and is being re-established (for logs). */
  onReconnect?(error: GatewayClientError): void;
}

export interface RegisterInfo {
  service: string;
  version: string;
  agentId?: string;
  tags?: Record<string, string>;
  capabilities?: string[];
  leaseTtlMs?: number;
  /** Description and skills for the agent's A2A card (transport-a2a); skill fields default to empty. */
  profile?: {
    description?: string;
    skills?: Array<{ id: string; name: string; description?: string; tags?: string[]; examples?: string[] }>;
  };
}

export interface MessageOptions {
  id?: string;
  headers?: Record<string, string>;
  durable?: boolean;
  key?: string;
  contentType?: string;
  ttlMs?: number;
  maxHops?: number;
}

export type Target = string | { service: string; versionRange?: string } | { agentId: string } | { topic: string };

export interface TopicSpec {
  pattern: string;
  queueGroup?: string;
}

export interface SubscribeOptions {
  topics?: Array<string | TopicSpec>;
  /** Shared by every topic of this subscription unless a TopicSpec sets its own. */
  queueGroup?: string;
  /** Also receive registry events (see `registryEvents()`). */
  registryEvents?: boolean;
  maxBatch?: number;
}

export interface DiscoverQuery {
  service?: string;
  versionRange?: string;
  tags?: Record<string, string>;
  capabilities?: string[];
  routableOnly?: boolean;
  limit?: number;
}

export class Agent implements DeliveryHost {
  readonly connection: GatewayConnection;
  private info?: AgentInfo;
  private inboxStream?: SessionStream;
  private inboxSubscription?: Subscription<AgentDelivery>;
  private readonly streams = new Set<SessionStream>();
  /** Request deliveries that can still be cancelled, by correlation id (insertion-ordered, bounded). */
  private readonly cancellable = new Map<string, AbortController>();
  private heartbeat?: NodeJS.Timeout;
  private closed = false;
  private readonly maxBuffered: number;
  private readonly maxPendingRequests: number;
  private readonly neverCancelled = new AbortController().signal;

  constructor(
    targets: string | readonly string[],
    private readonly options: AgentOptions = {},
  ) {
    this.connection = new GatewayConnection(targets, options);
    this.maxBuffered = options.maxBuffered ?? 1000;
    this.maxPendingRequests = options.maxPendingRequests ?? 10_000;
  }

  /** The registered agent id (assigned by the gateway when none was given). */
  get agentId(): string | undefined {
    return this.info?.agentId || undefined;
  }

  /**
   * Registers and opens the agent's session (its inbox). The lease is renewed automatically and,
   * after a gateway restart, the agent registers again and re-opens its session.
   */
  async register(info: RegisterInfo): Promise<RegistrationResult> {
    if (this.info)
      throw new GatewayClientError('GW_FAILED_PRECONDITION', 9, 'this handle is already registered; connect() again for another agent');
    const request: AgentInfo = {
      agentId: info.agentId ?? '',
      service: info.service,
      version: info.version,
      tags: info.tags ?? {},
      capabilities: info.capabilities ?? [],
      leaseTtlMs: info.leaseTtlMs ?? 0,
      profile: undefined,
    };
    if (info.profile) {
      request.profile = {
        description: info.profile.description ?? '',
        skills: (info.profile.skills ?? []).map((skill) => ({
          id: skill.id,
          name: skill.name,
          description: skill.description ?? '',
          tags: skill.tags ?? [],
          examples: skill.examples ?? [],
        })),
      };
    }
    const result = await this.connection.unary<AgentInfo, RegistrationResult>('registerAgent', request);
    this.info = { ...request, agentId: result.agentId };
    this.startHeartbeat(result.leaseTtlMs);

    const subscription = new Subscription<AgentDelivery>(this.maxBuffered, {
      pause: () => stream.pause(),
      resume: () => stream.resume(),
      close: () => undefined,
    });
    const stream: SessionStream = new SessionStream(
      this.connection,
      { agentId: result.agentId, topics: [], registryEvents: false, maxBatch: 0 },
      {
        beforeOpen: async (reopen) => {
          if (reopen && this.info) await this.connection.unary<AgentInfo, RegistrationResult>('registerAgent', this.info);
        },
        onEvent: (event) => this.onEvent(event, subscription),
        onInterrupted: (error) => this.options.onReconnect?.(error),
        onEnd: (error) => (error ? subscription.fail(error) : subscription.end()),
      },
    );
    this.inboxStream = stream;
    this.inboxSubscription = subscription;
    await stream.start();
    return result;
  }

  /**
   * Deliveries as an async iterator. Without topics: the agent's inbox (messages and requests sent
   * to its id or service). With topics: a separate stream for those topic patterns.
   */
  async subscribe(options: SubscribeOptions | string | Array<string | TopicSpec> = {}): Promise<Subscription<AgentDelivery>> {
    const spec: SubscribeOptions =
      typeof options === 'string' ? { topics: [options] } : Array.isArray(options) ? { topics: options } : options;
    if (!spec.topics?.length && !spec.registryEvents) {
      if (!this.inboxSubscription)
        throw new GatewayClientError('GW_FAILED_PRECONDITION', 9, 'register() first: the inbox belongs to a registered agent');
      return this.inboxSubscription;
    }
    const subscription = new Subscription<AgentDelivery>(this.maxBuffered, {
      pause: () => stream.pause(),
      resume: () => stream.resume(),
      close: () => stream.close(),
    });
    const topics = (spec.topics ?? []).map((topic) =>
      typeof topic === 'string'
        ? { pattern: topic, queueGroup: spec.queueGroup ?? '' }
        : { pattern: topic.pattern, queueGroup: topic.queueGroup ?? spec.queueGroup ?? '' },
    );
    const stream: SessionStream = new SessionStream(
      this.connection,
      { agentId: '', topics, registryEvents: spec.registryEvents ?? false, maxBatch: spec.maxBatch ?? 0 },
      {
        onEvent: (event) => this.onEvent(event, subscription),
        onInterrupted: (error) => this.options.onReconnect?.(error),
        onEnd: (error) => {
          this.streams.delete(stream);
          if (error) subscription.fail(error);
          else subscription.end();
        },
      },
    );
    this.streams.add(stream);
    await stream.start();
    return subscription;
  }

  /** Sends one message (`message.topic`, `agentId` or `service`: exactly one). */
  send(message: Partial<Omit<Message, 'payload'>> & { payload?: Payload }): Promise<SendResult> {
    return this.connection.unary<Message, SendResult>('sendMessage', this.message(message));
  }

  publish(topic: string, payload: Payload, options: MessageOptions = {}): Promise<SendResult> {
    return this.send({ ...options, topic, payload });
  }

  /** Many messages in one frame; results in the same order (failed ones carry `errorCode`). */
  async publishBatch(messages: Array<Partial<Omit<Message, 'payload'>> & { payload?: Payload }>): Promise<SendResult[]> {
    const result = await this.connection.unary<{ messages: Message[] }, BatchResult>('publishBatch', {
      messages: messages.map((message) => this.message(message)),
    });
    return result.results;
  }

  /** Sends a request and waits for the reply. `target` as a plain string is a service name. */
  async request(
    target: Target,
    payload: Payload,
    options: MessageOptions & { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Message> {
    const { timeoutMs = 30_000, signal, ...messageOptions } = options;
    const destination = typeof target === 'string' ? { service: target } : target;
    return this.connection.unary<Message, Message>('request', this.message({ ...messageOptions, ...destination, payload }), {
      deadline: Date.now() + timeoutMs,
      signal,
      // A request may have side effects: never sent twice.
      retry: false,
    });
  }

  async discover(query: DiscoverQuery = {}): Promise<AgentRecord[]> {
    const result = await this.connection.unary<unknown, DiscoverResult>('discover', {
      service: query.service ?? '',
      versionRange: query.versionRange ?? '',
      tags: query.tags ?? {},
      capabilities: query.capabilities ?? [],
      routableOnly: query.routableOnly ?? false,
      limit: query.limit ?? 0,
    });
    return result.agents;
  }

  /** The gateway's status and, when registered, this agent's state and health. */
  status(): Promise<HealthStatus> {
    return this.connection.unary('healthCheck', { agentId: this.agentId ?? '', probeId: '' });
  }

  /**
   * Ends the session: stops renewing, deregisters (unless told not to), closes streams. Goodbye
   * before hanging up: the gateway then knows this agent left on purpose and hands the service
   * messages it had not acked to other instances at once, instead of waiting for it to reconnect.
   */
  async close(options: { deregister?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.agentId && options.deregister !== false) {
      await this.connection
        .unary('deregisterAgent', { agentId: this.agentId, reason: 'agent closed' }, { retry: false, deadline: Date.now() + 2000 })
        .catch(() => undefined);
    }
    for (const stream of this.streams) stream.close();
    this.inboxStream?.close();
    this.inboxSubscription?.end();
    for (const controller of this.cancellable.values()) controller.abort();
    this.cancellable.clear();
    this.connection.close();
  }

  // DeliveryHost ------------------------------------------------------------------------------

  async ack(deliveryTag: string, kind: AckKind, reason: string): Promise<void> {
    await this.connection.unary('ack', { agentId: this.agentId ?? '', acks: [{ deliveryTag, kind, reason }] });
  }

  async reply(request: Message, payload: Payload, options: { headers?: Record<string, string>; contentType?: string }): Promise<void> {
    this.cancellable.delete(request.correlationId);
    await this.send({
      topic: request.replyTo,
      correlationId: request.correlationId,
      payload,
      headers: options.headers,
      contentType: options.contentType,
    });
  }

  // Internals ---------------------------------------------------------------------------------

  private message(input: Partial<Omit<Message, 'payload'>> & { payload?: Payload }): Message {
    const payload = input.payload;
    return {
      // Ids let the router drop a retried message it already routed.
      id: input.id || randomUUID(),
      topic: input.topic ?? '',
      agentId: input.agentId ?? '',
      service: input.service ?? '',
      versionRange: input.versionRange ?? '',
      payload:
        payload === undefined
          ? Buffer.alloc(0)
          : typeof payload === 'string'
            ? Buffer.from(payload)
            : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      headers: input.headers ?? {},
      durable: input.durable ?? false,
      senderId: input.senderId ?? this.agentId ?? '',
      key: input.key ?? '',
      hops: input.hops ?? 0,
      maxHops: input.maxHops ?? 0,
      correlationId: input.correlationId ?? '',
      replyTo: input.replyTo ?? '',
      contentType: input.contentType ?? '',
      createdAtMs: 0,
      ttlMs: input.ttlMs ?? 0,
    };
  }

  private onEvent(event: Event, subscription: Subscription<AgentDelivery>): void {
    const kind = event.kind;
    if (!kind) return;
    switch (kind.$case) {
      case 'delivery':
        subscription.push(this.delivery(kind.value));
        return;
      case 'batch':
        for (const delivery of kind.value.deliveries) subscription.push(this.delivery(delivery));
        return;
      case 'cancelled': {
        const controller = this.cancellable.get(kind.value.correlationId);
        this.cancellable.delete(kind.value.correlationId);
        controller?.abort(new GatewayClientError('GW_CANCELLED', 1, kind.value.reason || 'the requester cancelled'));
        return;
      }
      case 'notice':
        // Active health probe: answering proves the process is not hung.
        if (kind.value.code === 'probe' && this.agentId) {
          void this.connection
            .unary('healthCheck', { agentId: this.agentId, probeId: kind.value.message }, { retry: false })
            .catch(() => undefined);
        }
        return;
      case 'registry':
        return;
    }
  }

  private delivery(delivery: import('../proto/gen/openclaw/gateway/v1/gateway').Delivery): AgentDelivery {
    const message = delivery.message;
    let signal = this.neverCancelled;
    if (message && message.replyTo !== '' && message.correlationId !== '') {
      if (this.cancellable.size >= this.maxPendingRequests) {
        const oldest = this.cancellable.keys().next().value;
        if (oldest !== undefined) this.cancellable.delete(oldest);
      }
      const controller = new AbortController();
      this.cancellable.set(message.correlationId, controller);
      signal = controller.signal;
    }
    return new AgentDelivery(delivery, this, signal);
  }

  private startHeartbeat(leaseTtlMs: number): void {
    const every = Math.max(200, Math.floor((leaseTtlMs || 10_000) / 3));
    this.heartbeat = setInterval(() => {
      if (!this.info || this.closed) return;
      this.connection.unary('heartbeat', { agentId: this.info.agentId }, { retry: false }).catch((error: unknown) => {
        // The gateway forgot the agent (restart, lease lapsed): re-open the session, which re-registers.
        if (error instanceof GatewayClientError && error.code === 'GW_NOT_FOUND') this.inboxStream?.reconnect();
      });
    }, every);
    this.heartbeat.unref();
  }
}
