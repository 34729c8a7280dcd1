/**
 * The cluster router: every message goes through NATS, so an agent, service or topic subscriber
 * on any gateway of the cluster receives it.
 *
 * Subjects (P = `prefix`): `P.t.<topic>` topic messages, on core NATS (no JetStream), the
 * messages of one batch to one topic in one NATS message (topic-frames.ts; NATS wildcards are our
 * wildcards; queue groups are NATS queue subscriptions, one per member, so NATS balances across
 * gateways);
 * `P.i.<agent>` at-most-once inbox messages; `P.c.<agent>` request cancellations; `P.r.<router>`
 * replies to the router holding the request; `P.interest` subscription snapshots for receiver
 * counts. Durable messages go through JetStream (see durable-inbox.ts): `P.d.i.<agent>` for
 * inboxes, `P.d.t.<topic>` for durable topic messages.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import {
  gatewayError,
  invalidArgument,
  mayAcknowledge,
  REPLY_TOPIC_PREFIX,
  type AckItem,
  type AckOutcome,
  type AgentRecord,
  type CallerContext,
  type Delivery,
  type EventSink,
  type MessageEnvelope,
  type OutboundEvent,
  type PluginContext,
  type RegistryService,
  type RequestOptions,
  type RouterService,
  type SendOutcome,
  type SessionOptions,
  type SubscriptionSpec,
} from '../../kernel';
import { DedupeWindow } from './dedupe-window';
import { DurableInbox } from './durable-inbox';
import { decodeEnvelope, encodeEnvelope } from './envelope-codec';
import { InterestMap } from './interest-map';
import { PendingRequests } from './pending-requests';
import { PublishBuffer } from './publish-buffer';
import { createRouterMetrics, type DropReason, type RouterMetrics } from './router-metrics';
import type { NatsRouterOptions, OverflowPolicy } from './schema';
import { Session, type SessionHost } from './session';
import { admitRequest, checkEnvelope, deadLetterHeaders, describeTarget, targetField } from '../../kernel';
import { agentToken } from '../../support/nats/subjects';
import { InboxSessions } from './inbox-sessions';
import { InterestBroadcast } from './interest-broadcast';
import { InstancePicker } from './instance-picker';
import { ServiceRehoming } from './service-rehoming';
import { TopicSubscriptions } from './topic-subscriptions';
import { decodeTopicFrame } from './topic-frames';

const MAX_ID_LENGTH = 256;

export class NatsRouter implements RouterService, SessionHost {
  private readonly options: NatsRouterOptions;
  /** Names this router instance in delivery tags, reply topics and interest snapshots. */
  readonly bootId = randomBytes(6).toString('hex');
  private idCounter = 0;
  private readonly sessions = new Map<string, Session>();
  private readonly inboxSessions: InboxSessions;
  private readonly requests: PendingRequests;
  private readonly dedupe: DedupeWindow;
  private readonly interest: InterestMap;
  private readonly inbox: DurableInbox;
  private readonly metrics: RouterMetrics;
  private readonly picker: InstancePicker;
  private readonly interestBroadcast: InterestBroadcast;
  private readonly rehoming: ServiceRehoming;
  private readonly subscriptions: TopicSubscriptions;
  /** At-most-once publishes (topic frames, inbox messages, replies), bounded until NATS confirms them. */
  private readonly out: PublishBuffer;
  private nc?: NatsConnection;
  private ownSubs: Subscription[] = [];
  private timer?: NodeJS.Timeout;
  private interestTimer?: NodeJS.Timeout;
  private sentInterestVersion = -1;
  private lastInterestAt = 0;
  private accepting = true;
  private readonly p: string;

  constructor(
    private readonly ctx: PluginContext<NatsRouterOptions>,
    private readonly registry: RegistryService,
  ) {
    this.options = ctx.options;
    this.p = this.options.prefix;
    this.requests = new PendingRequests(this.options.maxPendingRequests);
    this.dedupe = new DedupeWindow(this.options.dedupe.windowMs, this.options.dedupe.maxEntries, () =>
      this.limitReached('router.dedupe.maxEntries', 'evict-oldest', 'dedupe window full'),
    );
    this.interest = new InterestMap(this.bootId, this.options.maxRemoteGateways, (id) =>
      this.limitReached('router.maxRemoteGateways', 'ignore', `gateway ${id}`),
    );
    this.inbox = new DurableInbox(this.options, this.bootId, {
      deliver: (session, delivery) => this.push(session, { kind: 'delivery', delivery }),
      deadLetter: (message, reason, attempts) => this.deadLetter(message, reason, attempts),
      limitReached: (limit, policy, detail) => this.limitReached(limit, policy, detail),
      redelivered: () => this.metrics.redeliveries.inc(),
      repulled: (reason) => this.metrics.durableRepulls.inc({ reason }),
      warn: (text, details) => this.ctx.logger.warn(details, text),
      consumerError: (agentId, error) => {
        this.metrics.natsErrors.inc();
        this.ctx.logger.warn({ err: error, agentId }, 'durable inbox consumer stopped');
      },
      setupRetry: (info) => {
        this.metrics.natsErrors.inc();
        this.ctx.logger.warn(info, 'JetStream not ready; retrying');
      },
    });
    this.out = new PublishBuffer(this.options.publishBuffer.maxBytes, this.options.publishBuffer.maxWaitMs, {
      prefix: this.p,
      connection: () => this.nc,
      waited: (outcome) => this.metrics.publishWaits.inc({ outcome }),
      lost: (messages, error) => {
        this.metrics.natsErrors.inc();
        this.ctx.logger.warn({ err: error, messages }, 'topic messages not published: NATS connection closed');
      },
    });
    this.metrics = createRouterMetrics(ctx.metrics, {
      sessions: () => this.sessions.size,
      pendingRequests: () => this.requests.size,
      unacked: () => this.inbox.unacked,
      queued: () => {
        let depth = 0;
        for (const session of this.sessions.values()) depth += session.queued;
        return depth;
      },
      remoteGateways: () => this.interest.remoteCount,
      publishBufferBytes: () => this.out.bytes,
    });
    this.interestBroadcast = new InterestBroadcast(this.interest, `${this.p}.interest`, this.options.interestIntervalMs, () => this.nc);
    this.inboxSessions = new InboxSessions({
      prefix: this.p,
      inbox: this.inbox,
      logger: ctx.logger,
      metrics: this.metrics,
      connection: () => this.connection(),
      push: (session, event) => this.push(session, event),
    });
    this.picker = new InstancePicker(registry, this.options, (limit, policy, detail) => this.limitReached(limit, policy, detail));
    this.rehoming = new ServiceRehoming(
      {
        registry,
        inbox: this.inbox,
        logger: ctx.logger,
        metrics: this.metrics,
        hasInboxSession: (agentId) => this.inboxSessions.has(agentId),
        connected: () => this.nc !== undefined,
        pickInstance: (message) => this.picker.pick(message),
        limitReached: (limit, policy, detail) => this.limitReached(limit, policy, detail),
      },
      { gatewayId: ctx.gateway.id, rehomeAfterMs: this.options.durable.rehomeAfterMs },
    );
    this.rehoming.tap(ctx.hooks, ctx.name);
    this.subscriptions = new TopicSubscriptions({
      options: this.options,
      prefix: this.p,
      inbox: this.inbox,
      interest: this.interest,
      logger: ctx.logger,
      metrics: this.metrics,
      connection: () => this.connection(),
      scheduleInterest: () => this.interestBroadcast.schedule(),
      onTopic: (data, pattern, sessions) => this.onTopic(data, pattern, sessions),
      limitReached: (limit, policy, detail) => this.limitReached(limit, policy, detail),
    });
  }

  get streamName(): string {
    return this.inbox.stream;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    await this.inbox.start(nc);
    this.ownSubs.push(
      nc.subscribe(`${this.p}.r.${this.bootId}`, { callback: (error, msg) => !error && this.onReply(msg.data) }),
      nc.subscribe(`${this.p}.interest`, { callback: (error, msg) => !error && this.interest.apply(msg.string(), Date.now()) }),
      nc.subscribe(`${this.p}.interest.ask`, { callback: (error) => !error && this.interestBroadcast.publish(true) }),
    );
    await nc.flush();
    nc.publish(`${this.p}.interest.ask`);
    this.timer = setInterval(() => this.tick(Date.now()), this.options.sweepIntervalMs);
    this.timer.unref();
    void this.followConnection(nc);
  }

  drain(): void {
    this.accepting = false;
    this.rehoming.quiesce();
  }

  async stop(): Promise<void> {
    this.accepting = false;
    this.out.publishQueued();
    clearInterval(this.timer);
    this.interestBroadcast.stop();
    this.requests.failAll(gatewayError('GW_UNAVAILABLE', 'the gateway is stopping'));
    for (const session of [...this.sessions.values()])
      session.fail(gatewayError('GW_UNAVAILABLE', 'the gateway is stopping'), 'gateway-stopping');
    for (const sub of this.ownSubs) sub.unsubscribe();
    this.ownSubs = [];
    this.inbox.stop();
  }

  // ---- RouterService -----------------------------------------------------------------------

  async send(message: MessageEnvelope, caller: CallerContext): Promise<SendOutcome> {
    this.checkAccepting();
    const error = checkEnvelope(message, 'message', this.options);
    if (error) throw error;
    if (this.out.full) await this.publishRoom();
    return this.route(message, caller);
  }

  /**
   * Routed in order. At-most-once topic messages take the fast path: nothing awaited, queued for
   * this event-loop turn and published as topic frames (one NATS message per run of messages to
   * one topic, each message encoded once into it; publish-buffer.ts). Durable ones are stored concurrently (JetStream acks them as one
   * flight). A batch of only topic messages is reported routed at once (`feedback.routed`), so a
   * PublishStream routes its next frame without waiting; while the publish buffer is full it
   * waits for NATS first (`feedback.ready`).
   */
  async sendBatch(messages: readonly MessageEnvelope[], caller: CallerContext): Promise<SendOutcome[]> {
    this.checkAccepting();
    for (let i = 0; i < messages.length; i++) {
      const error = checkEnvelope(messages[i], `messages[${i}]`, this.options);
      if (error) throw error;
    }
    if (this.out.full) await this.publishRoom();
    this.connection();
    const outcomes: Array<SendOutcome | Promise<SendOutcome>> = new Array<SendOutcome | Promise<SendOutcome>>(messages.length);
    // Receiver counts per topic of this batch (so bounded by it).
    let receivers: Map<string, number> | undefined;
    let awaited = false;
    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (message.topic === '' || message.durable || message.topic.startsWith(REPLY_TOPIC_PREFIX)) {
        outcomes[i] = this.route(message, caller);
        awaited = true;
        continue;
      }
      const clientId = message.id !== '' && message.id !== undefined;
      const early = this.admit(message, caller, now, clientId);
      if (early) {
        outcomes[i] = early;
        continue;
      }
      let count = (receivers ??= new Map<string, number>()).get(message.topic);
      if (count === undefined) receivers.set(message.topic, (count = this.interest.count(message.topic)));
      this.out.queueTopic(message);
      outcomes[i] = this.finish(message, now, clientId, { messageId: message.id, duplicate: false, receivers: count, stored: false });
    }
    if (awaited) return Promise.all(outcomes.map((outcome) => Promise.resolve(outcome)));
    if (caller.feedback) {
      caller.feedback.routed = true;
      if (this.out.full) caller.feedback.ready = this.out.room().then(() => undefined);
    }
    return outcomes as SendOutcome[];
  }

  async request(message: MessageEnvelope, caller: CallerContext, options: RequestOptions): Promise<MessageEnvelope> {
    this.checkAccepting();
    const error = checkEnvelope(message, 'message', this.options);
    if (error) throw error;
    admitRequest(message, options, this.requests, (limit, policy, detail) => this.limitReached(limit, policy, detail));
    const seq = (++this.idCounter).toString(36);
    message.correlationId = `${this.bootId}.${seq}`;
    message.replyTo = `${REPLY_TOPIC_PREFIX}${this.bootId}.${seq}`;
    let targetAgent = '';
    const reply = new Promise<MessageEnvelope>((resolve, reject) => {
      this.requests.add(
        {
          replyTo: message.replyTo,
          resolve,
          reject,
          cancelReceivers: (reason) => {
            const cancel = new TextEncoder().encode(JSON.stringify({ correlationId: message.correlationId, reason }));
            // Topic receivers are not told: they may be anywhere, and a cancel is only a hint.
            if (targetAgent && this.nc && !this.nc.isClosed()) this.nc.publish(`${this.p}.c.${agentToken(targetAgent)}`, cancel);
          },
        },
        options.deadline,
        options.signal,
      );
    });
    let outcome: SendOutcome;
    try {
      outcome = await this.route(message, caller, (agentId) => (targetAgent = agentId));
    } catch (routeError) {
      this.requests.reply(message.replyTo, message);
      throw routeError;
    }
    if (outcome.receivers === 0 && !outcome.stored) {
      this.requests.reply(message.replyTo, message);
      throw gatewayError('GW_UNAVAILABLE', `no receiver is available for ${describeTarget(message)}`, { field: targetField(message) });
    }
    return reply;
  }

  openSession(sink: EventSink, options: SessionOptions): Session {
    this.checkAccepting();
    if (this.sessions.size >= this.options.maxSessions) {
      this.limitReached('router.maxSessions', 'reject', `${this.sessions.size} sessions open`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `too many open sessions (${this.options.maxSessions})`);
    }
    if (options.agentId !== undefined && options.agentId.length > MAX_ID_LENGTH)
      throw invalidArgument('agentId', `is longer than ${MAX_ID_LENGTH} characters`);
    const session = new Session(`${this.bootId}-s${++this.idCounter}`, sink, options, this.options.subscriberQueue, this);
    this.sessions.set(session.id, session);
    if (session.agentId) this.inboxSessions.open(session, session.agentId);
    return session;
  }

  ack(acks: readonly AckItem[], caller: CallerContext): AckOutcome[] {
    const mayAck = (receiver: Session): boolean => mayAcknowledge(receiver.caller, caller);
    const outcomes: AckOutcome[] = new Array<AckOutcome>(acks.length);
    for (let i = 0; i < acks.length; i++) {
      const item = acks[i];
      if (typeof item.deliveryTag !== 'string' || item.deliveryTag.length === 0) {
        throw invalidArgument(`acks[${i}].deliveryTag`, 'must be the non-empty tag of a durable delivery');
      }
      outcomes[i] = { deliveryTag: item.deliveryTag, result: this.inbox.ack(item, mayAck) };
    }
    return outcomes;
  }

  notify(agentId: string, event: OutboundEvent): boolean {
    const session = this.inboxSessions.get(agentId);
    return session !== undefined && session.push(event);
  }

  // ---- SessionHost -------------------------------------------------------------------------

  subscribe(session: Session, spec: SubscriptionSpec): void {
    this.subscriptions.subscribe(session, spec);
  }

  unsubscribe(session: Session, pattern: string, queueGroup?: string): void {
    this.subscriptions.unsubscribe(session, pattern, queueGroup);
  }

  closed(session: Session): void {
    this.sessions.delete(session.id);
    for (const teardown of session.subscriptions.values()) teardown(false);
    session.subscriptions.clear();
    this.inboxSessions.closed(session);
    session.teardown?.();
    this.inbox.sessionClosed(session);
    if (session.agentId !== undefined) this.rehoming.sessionClosed(session.agentId);
  }

  dropped(_session: Session, event: OutboundEvent, policy: OverflowPolicy): void {
    this.metrics.dropped.inc({ reason: 'subscriber-queue-full' });
    if (event.kind === 'delivery' && this.ctx.hooks.messageDropped.isUsed())
      this.ctx.hooks.messageDropped.call(event.delivery.message, `subscriber-queue-full:${policy}`);
  }

  overflowed(session: Session, policy: OverflowPolicy): void {
    this.limitReached('router.subscriberQueue', policy, `session ${session.id}${session.agentId ? ` (agent ${session.agentId})` : ''}`);
  }

  // ---- routing -----------------------------------------------------------------------------

  private async route(message: MessageEnvelope, caller: CallerContext, onTarget?: (agentId: string) => void): Promise<SendOutcome> {
    const now = Date.now();
    const clientId = message.id !== '' && message.id !== undefined;
    const early = this.admit(message, caller, now, clientId);
    if (early) return early;
    let outcome: SendOutcome;
    if (message.topic) {
      if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) return this.routeReply(message);
      if (message.durable) return this.finish(message, now, clientId, await this.routeTopicDurable(message, clientId));
      const receivers = this.interest.count(message.topic);
      this.connection();
      this.out.queueTopic(message);
      outcome = { messageId: message.id, duplicate: false, receivers, stored: false };
    } else {
      const target = message.agentId ? this.requireAgent(message.agentId) : this.picker.pick(message);
      onTarget?.(target.agentId);
      outcome = await this.routeToAgent(message, target.agentId, clientId);
    }
    return this.finish(message, now, clientId, outcome);
  }

  /** Id, timestamp, sender and hops; an outcome when the message goes no further (a duplicate, too many hops). */
  private admit(message: MessageEnvelope, caller: CallerContext, now: number, clientId: boolean): SendOutcome | undefined {
    if (clientId && !message.durable) {
      if (this.dedupe.isDuplicate(message.id, now)) {
        this.metrics.duplicate.inc();
        // Only ids of messages someone took are remembered (see `finish`).
        return { messageId: message.id, duplicate: true, receivers: 0, stored: false, original: 'delivered' };
      }
    }
    if (!clientId) message.id = `${this.bootId}-${(++this.idCounter).toString(36)}`;
    message.createdAt = now;
    if (caller.agentId) {
      if (!message.senderId) message.senderId = caller.agentId;
      message.hops = (message.hops | 0) + 1;
      const maxHops = message.maxHops > 0 ? message.maxHops : this.options.maxHops;
      if (message.hops > maxHops) {
        this.deadLetter(message, 'max-hops', message.hops);
        return { messageId: message.id, duplicate: false, receivers: 0, stored: false };
      }
    }
    return undefined;
  }

  /** Waits for room in the publish buffer (bounded by publishBuffer.maxWaitMs), else refuses. */
  private async publishRoom(): Promise<void> {
    if (await this.out.room()) return;
    const { maxBytes, maxWaitMs } = this.options.publishBuffer;
    this.limitReached('router.publishBuffer.maxBytes', 'reject', `${this.out.bytes} bytes not confirmed by NATS after ${maxWaitMs} ms`);
    throw gatewayError(
      'GW_UNAVAILABLE',
      `NATS has not taken the messages published before (reconnecting, or publishBuffer.maxBytes ${maxBytes} not confirmed) within ${maxWaitMs} ms; retry later`,
    );
  }

  private finish(message: MessageEnvelope, now: number, clientId: boolean, outcome: SendOutcome): SendOutcome {
    // A message nobody took does not burn its id: its retry is routed like a first attempt.
    if (clientId && !message.durable && outcome.receivers > 0) this.dedupe.remember(message.id, now);
    if (outcome.duplicate) this.metrics.duplicate.inc();
    else {
      this.metrics.accepted.inc();
      if (outcome.stored) this.metrics.stored.inc();
      if (this.ctx.hooks.messageAccepted.isUsed()) this.ctx.hooks.messageAccepted.call(message);
    }
    return outcome;
  }

  private async routeToAgent(message: MessageEnvelope, agentId: string, clientId: boolean): Promise<SendOutcome> {
    if (!message.durable) {
      this.out.publish(this.connection(), `${this.p}.i.${agentToken(agentId)}`, encodeEnvelope(message));
      return { messageId: message.id, duplicate: false, receivers: 1, stored: false };
    }
    let ack;
    try {
      ack = await this.inbox.publish(agentId, message, clientId);
    } catch (error) {
      this.metrics.natsErrors.inc();
      // JetStream's reason is in api_error; the error message is only the status (e.g. "503").
      const text = (error as { api_error?: { description?: string } }).api_error?.description ?? String(error);
      if (/maximum messages per subject/i.test(text)) {
        this.limitReached('router.offlineInbox.maxMessages', 'reject', `agent ${agentId}`);
        throw gatewayError(
          'GW_RESOURCE_EXHAUSTED',
          `agentId: the inbox of "${agentId}" is full (offlineInbox.maxMessages ${this.options.offlineInbox.maxMessages}); retry later`,
          { field: 'agentId' },
        );
      }
      if (/maximum (bytes|messages)/i.test(text)) {
        this.limitReached('router.durable.maxBytes', 'reject', this.inbox.stream);
        throw gatewayError(
          'GW_RESOURCE_EXHAUSTED',
          `the durable store ${this.inbox.stream} is full (durable.maxBytes ${this.options.durable.maxBytes}); retry later`,
        );
      }
      throw gatewayError(
        'GW_UNAVAILABLE',
        `the durable store (JetStream stream ${this.inbox.stream}) did not accept the message: ${text}; retry`,
        { cause: error },
      );
    }
    // JetStream's window knows only that the first copy was stored (it may since have been acked).
    return ack.duplicate
      ? { messageId: message.id, duplicate: true, receivers: 0, stored: false, original: 'stored' }
      : { messageId: message.id, duplicate: false, receivers: 1, stored: true };
  }

  private async routeTopicDurable(message: MessageEnvelope, clientId: boolean): Promise<SendOutcome> {
    if (!this.options.durableTopics) {
      throw gatewayError(
        'GW_UNIMPLEMENTED',
        'message.durable: durable topic messages are off on this gateway (router-nats option durableTopics: false)',
        { field: 'message.durable' },
      );
    }
    const receivers = this.interest.count(message.topic);
    let ack;
    try {
      // No subscription consumer: interest retention keeps nothing, so the id must not enter
      // JetStream's duplicate window either, or the producer's retry would be a "duplicate" of a
      // message that was never stored.
      ack = await this.inbox.publishTopic(message, clientId && receivers > 0);
    } catch (error) {
      this.metrics.natsErrors.inc();
      const text = (error as { api_error?: { description?: string } }).api_error?.description ?? String(error);
      if (/maximum (bytes|messages)/i.test(text)) {
        this.limitReached('router.durable.maxBytes', 'reject', this.inbox.topicStream);
        throw gatewayError(
          'GW_RESOURCE_EXHAUSTED',
          `the durable store ${this.inbox.topicStream} is full (durable.maxBytes ${this.options.durable.maxBytes}); retry later`,
        );
      }
      throw gatewayError(
        'GW_UNAVAILABLE',
        `the durable store (JetStream stream ${this.inbox.topicStream}) did not accept the message: ${text}; retry`,
        { cause: error },
      );
    }
    // Interest retention: stored for every subscription consumer that exists; none → nothing kept.
    if (ack.duplicate) return { messageId: message.id, duplicate: true, receivers: 0, stored: false, original: 'stored' };
    return { messageId: message.id, duplicate: false, receivers, stored: receivers > 0 };
  }

  private routeReply(message: MessageEnvelope): SendOutcome {
    // `_INBOX.<router>.<seq>`: the router holding the request is named in the topic.
    const rest = message.topic.slice(REPLY_TOPIC_PREFIX.length);
    const dot = rest.indexOf('.');
    const owner = dot > 0 ? rest.slice(0, dot) : '';
    if (owner === this.bootId) return this.replyHere(message);
    if (owner === '' || !/^[0-9a-f]+$/.test(owner)) {
      this.drop(message, 'no-pending-request');
      return { messageId: message.id, duplicate: false, receivers: 0, stored: false };
    }
    this.out.publish(this.connection(), `${this.p}.r.${owner}`, encodeEnvelope(message));
    return { messageId: message.id, duplicate: false, receivers: 1, stored: false };
  }

  private replyHere(message: MessageEnvelope): SendOutcome {
    const matched = this.requests.reply(message.topic, message);
    if (matched) this.metrics.replies.inc();
    else this.drop(message, 'no-pending-request');
    return { messageId: message.id, duplicate: false, receivers: matched ? 1 : 0, stored: false };
  }

  private requireAgent(agentId: string): AgentRecord {
    const record = this.registry.get(agentId);
    if (!record) throw gatewayError('GW_NOT_FOUND', `agentId: no agent "${agentId}" is registered`, { field: 'agentId' });
    return record;
  }

  // ---- receiving ---------------------------------------------------------------------------

  private onTopic(data: Uint8Array, pattern: string, sessions: readonly Session[]): void {
    if (sessions.length === 0) return;
    let messages: MessageEnvelope[];
    try {
      messages = decodeTopicFrame(data);
    } catch {
      return;
    }
    // One Delivery for every session of the pattern: the transport encodes it once (`shared`).
    const shared = sessions.length > 1;
    for (const message of messages) {
      const delivery: Delivery = { message, deliveryTag: '', attempt: 1, subscription: pattern, ackDeadline: 0 };
      if (shared) delivery.shared = true;
      const event: OutboundEvent = { kind: 'delivery', delivery };
      for (let i = 0; i < sessions.length; i++) this.push(sessions[i], event);
    }
  }

  private onReply(data: Uint8Array): void {
    try {
      this.replyHere(decodeEnvelope(data).message);
    } catch {
      // Not a message: nothing waits for it.
    }
  }

  private push(session: Session, event: OutboundEvent): boolean {
    if (!session.push(event)) return false;
    this.metrics.delivered.inc();
    if (event.kind === 'delivery' && this.ctx.hooks.messageDelivered.isUsed())
      this.ctx.hooks.messageDelivered.call(event.delivery.message, event.delivery);
    return true;
  }

  private deadLetter(message: MessageEnvelope, reason: string, attempts: number): void {
    this.metrics.deadLettered.inc({ reason: reason.split(':')[0] });
    const at = Date.now();
    if (this.ctx.hooks.messageDeadLettered.isUsed()) this.ctx.hooks.messageDeadLettered.call({ message, reason, attempts, at });
    const dlq = this.options.deadLetterTopic;
    if (message.topic === dlq || message.topic.startsWith(`${dlq}.`) || !this.nc || this.nc.isClosed()) return;
    const headers = deadLetterHeaders(message, reason, attempts);
    const letter: MessageEnvelope = {
      ...message,
      topic: dlq,
      agentId: '',
      service: '',
      versionRange: '',
      durable: false,
      headers,
      createdAt: at,
    };
    this.nc.publish(`${this.p}.t.${dlq}`, encodeEnvelope(letter));
  }

  private drop(message: MessageEnvelope, reason: DropReason): void {
    this.metrics.dropped.inc({ reason });
    if (this.ctx.hooks.messageDropped.isUsed()) this.ctx.hooks.messageDropped.call(message, reason);
  }

  // ---- housekeeping ------------------------------------------------------------------------

  private tick(now: number): void {
    this.dedupe.sweep(now);
    this.rehoming.tick(now);
    this.inbox.sweep(now);
    this.interest.expire(now, this.options.interestIntervalMs * 3);
    this.interestBroadcast.publish(false);
  }

  /** Subscription changes reach the other gateways within ~20 ms, coalesced. */
  private async followConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.out.setConnected(false);
        this.ctx.logger.warn({ server: status.data }, 'router lost NATS; reconnecting with backoff');
      } else if (status.type === 'reconnect') {
        this.out.setConnected(true);
        this.ctx.logger.info({ server: status.data }, 'router reconnected to NATS');
        this.interestBroadcast.publish(true);
      }
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  private connection(): NatsConnection {
    const nc = this.nc;
    if (!nc || nc.isClosed()) throw gatewayError('GW_UNAVAILABLE', 'the router is not connected to NATS');
    return nc;
  }

  private checkAccepting(): void {
    if (!this.accepting) throw gatewayError('GW_DRAINING', 'the router is draining and accepts no new messages');
  }

  private limitReached(limit: string, policy: string, detail: string): void {
    this.metrics.limitHits.inc({ limit });
    if (this.ctx.hooks.limitReached.isUsed()) this.ctx.hooks.limitReached.call({ limit, policy, plugin: this.ctx.name, detail });
  }
}
