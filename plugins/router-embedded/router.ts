/**
 * The embedded router: topic fan-out with queue groups, point-to-point to agents and services,
 * request/reply, and at-least-once delivery through the durable store. Everything runs in the
 * gateway process; no external broker.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  gatewayError,
  invalidArgument,
  mayAcknowledge,
  REPLY_TOPIC_PREFIX,
  type AckItem,
  type AckOutcome,
  type CallerContext,
  type Delivery,
  type EventSink,
  type GatewayError,
  type MessageEnvelope,
  type OutboundEvent,
  type PluginContext,
  type RegistryService,
  type RequestOptions,
  type RouterService,
  type SendOutcome,
  type SessionOptions,
  type SubscriptionSpec,
  toGatewayError,
} from '../../kernel';
import { DedupeWindow } from './dedupe-window';
import { DurableDelivery } from './durable-delivery';
import type { DurableEntry } from './durable-entry';
import { DurableStore } from './durable-store';
import { LoadBalancer } from './load-balancer';
import { PendingRequests } from './pending-requests';
import { createRouterMetrics, type RouterMetrics } from './router-metrics';
import type { OverflowPolicy, RouterOptions } from './schema';
import { Session, type SessionHost } from './session';
import {
  admitRequest,
  admitSubscription,
  checkEnvelope,
  deadLetterHeaders,
  describeTarget,
  subscriptionKey,
  targetField,
} from '../../kernel';
import { durableMember, pickMember } from './group-members';
import { waitForRoom } from './publisher-waits';
import { followRegistry } from './registry-follower';
import { groupKey, TopicTrie } from './topic-trie';
import { KnownAgents } from './known-agents';
import { KnownGroups } from './known-groups';

const MAX_ID_LENGTH = 256;
const STRANDED_RETRY_COALESCE_MS = 20;

export class EmbeddedRouter implements RouterService, SessionHost {
  private readonly options: RouterOptions;
  private readonly bootId = randomBytes(4).toString('hex');
  private idCounter = 0;
  private readonly trie: TopicTrie<Session>;
  private readonly sessions = new Map<string, Session>();
  /** The newest session bound to each agent's inbox. */
  private readonly inboxes = new Map<string, Session>();
  private readonly balancer: LoadBalancer;
  private readonly requests: PendingRequests;
  private readonly knownAgents: KnownAgents;
  private readonly knownGroups: KnownGroups;
  private readonly dedupe: DedupeWindow;
  private readonly durable: DurableDelivery;
  private readonly metrics: RouterMetrics;
  private store?: DurableStore;
  private sweeper?: NodeJS.Timeout;
  private strandedRetry?: NodeJS.Timeout;
  private accepting = true;
  /**
   * While routing a batch for a publisher that can wait (`caller.feedback`): the sessions it fed
   * that are over their high-water mark. Undefined otherwise, so other sends pay one check.
   */
  private pressured?: Session[];
  private pressureRound = 0;
  /** Reused by the balancer on every pick: no closure per message. */
  private readonly probe = {
    reachable: (agentId: string) => {
      const session = this.inboxes.get(agentId);
      return session !== undefined && !session.full;
    },
    inFlight: (agentId: string) => (this.inboxes.get(agentId)?.queued ?? 0) + this.durable.inFlightFor(`a:${agentId}`),
  };
  private readonly anyInstance = { reachable: () => true, inFlight: () => 0 };

  constructor(
    private readonly ctx: PluginContext<RouterOptions>,
    private readonly registry: RegistryService,
  ) {
    this.options = ctx.options;
    this.trie = new TopicTrie<Session>(this.options.matchCacheSize);
    this.balancer = new LoadBalancer(registry, this.options.strategy, this.options.serviceCacheSize, () =>
      this.limitReached('router.serviceCacheSize', 'evict-oldest', 'service candidate cache full'),
    );
    this.knownAgents = new KnownAgents(
      this.options.offlineInbox.maxKnownAgents,
      () => this.limitReached('router.offlineInbox.maxKnownAgents', 'forget-least-recent', 'known agent ids full'),
      ctx.metrics,
    );
    this.knownGroups = new KnownGroups(this.options.groupBacklog.maxKnownGroups, () =>
      this.limitReached('router.groupBacklog.maxKnownGroups', 'forget-least-recent', 'known queue groups full'),
    );
    this.requests = new PendingRequests(this.options.maxPendingRequests);
    this.dedupe = new DedupeWindow(
      this.options.dedupe.windowMs,
      this.options.dedupe.maxEntries,
      () => this.store,
      () => this.limitReached('router.dedupe.maxEntries', 'evict-oldest', 'dedupe window full'),
    );
    this.durable = new DurableDelivery(this.options, this.bootId, {
      sessionFor: (key, avoid) => this.sessionForTarget(key, avoid),
      deliver: (session, delivery) => this.deliver(session, delivery),
      deadLetter: (message, reason, attempts) => this.deadLetter(message, reason, attempts),
      limitReached: (limit, policy, detail) => this.limitReached(limit, policy, detail),
      redelivered: () => this.metrics.redeliveries.inc(),
      serviceTarget: (ref) => {
        const instance = this.balancer.pick(ref.service, ref.versionRange, ref.key, this.probe);
        return instance ? `a:${instance.agentId}` : undefined;
      },
      settled: (id, outcome) => this.dedupe.settled(id, outcome, Date.now()),
      resumed: (session) => {
        this.ctx.logger.info({ session: session.id, agentId: session.agentId }, 'queue-group member acked again: resumed');
        for (const { pattern, queueGroup } of session.subscriptions.values()) {
          if (queueGroup) this.durable.reachable(`g:${groupKey(pattern, queueGroup)}`);
        }
      },
      paused: (session, moved) => {
        this.limitReached(
          'router.durable.pauseAfterTimeouts',
          'pause-member',
          `session ${session.id}${session.agentId ? ` (agent ${session.agentId})` : ''}: ${moved} in flight moved`,
        );
        this.ctx.logger.warn(
          { session: session.id, agentId: session.agentId, moved },
          'queue-group member keeps timing out: paused until it acks again',
        );
      },
      rehomed: (from, count) => {
        this.metrics.rehomed.inc(count);
        this.ctx.logger.info({ from: from.slice(2), count }, 'service messages re-homed from an instance without a session');
      },
    });
    this.metrics = createRouterMetrics(ctx.metrics, {
      queueDepth: () => {
        let depth = 0;
        for (const session of this.sessions.values()) depth += session.queued;
        return depth;
      },
      durablePending: () => this.durable.pending,
      storeBytes: () => this.durable.bytes,
      storeFileBytes: () => this.store?.fileBytes ?? 0,
      storeLimitBytes: () => this.options.durable.maxStoreBytes,
      pausedMembers: () => this.durable.members.pausedCount,
      sessions: () => this.sessions.size,
      pendingRequests: () => this.requests.size,
    });
    this.tapRegistry();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  start(): void {
    const directory = path.join(this.ctx.gateway.dataDir, this.ctx.name);
    const began = performance.now();
    this.store = new DurableStore(directory, this.options.storeMapSizeBytes);
    const now = Date.now();
    this.dedupe.load(this.store, now);
    this.durable.attach(this.store, (id) => this.dedupe.pendingAtStart(id, now));
    this.knownAgents.attach(this.store);
    this.knownGroups.attach(
      this.store,
      this.durable.groupTargets().map((key) => key.slice(2)),
      now,
    );
    this.sweeper = setInterval(() => {
      const now = Date.now();
      this.dedupe.sweep(now);
      this.durable.sweep(now);
      this.knownGroups.sweep(
        now,
        this.options.groupBacklog.forgetAfterMs,
        (key) => (this.trie.group(key)?.members.length ?? 0) > 0,
        (key) => this.durable.hasStored(`g:${key}`),
      );
      // Grace periods that ran out, and instances that were only too busy (queues full).
      this.durable.retryStranded(now);
    }, this.options.sweepIntervalMs);
    this.sweeper.unref();
    const openMs = Math.round(performance.now() - began);
    this.ctx.logger.info(
      {
        directory,
        pending: this.durable.pending,
        storedBytes: this.durable.bytes,
        dedupe: this.dedupe.size,
        groups: this.knownGroups.size,
        openMs,
      },
      'durable store open',
    );
  }

  drain(): void {
    this.accepting = false;
    this.durable.quiesce();
  }

  async stop(): Promise<void> {
    this.accepting = false;
    clearInterval(this.sweeper);
    clearTimeout(this.strandedRetry);
    this.requests.failAll(gatewayError('GW_UNAVAILABLE', 'the gateway is stopping'));
    // Before the sessions close: what they held stays where it is for the next start, instead of
    // being handed (and counted as an attempt) to sessions about to close too.
    this.durable.stop();
    for (const session of [...this.sessions.values()])
      session.fail(gatewayError('GW_UNAVAILABLE', 'the gateway is stopping'), 'gateway-stopping');
    // Coalesced known-agent writes go into the last transaction; none are scheduled after it.
    this.knownAgents.close();
    const store = this.store;
    this.store = undefined;
    if (store) {
      await store.synced();
      await store.close();
    }
  }

  // ---- RouterService -----------------------------------------------------------------------

  async send(message: MessageEnvelope, caller: CallerContext): Promise<SendOutcome> {
    this.checkAccepting();
    const error = this.validate(message, 'message');
    if (error) throw error;
    const entries: DurableEntry[] = [];
    const outcome = this.route(message, caller, entries, undefined);
    if (entries.length > 0) await this.durable.commit(entries);
    // A duplicate of a message still being written is answered once that write is on disk.
    else if (outcome.original === 'stored') await this.durable.synced();
    return outcome;
  }

  async sendBatch(messages: readonly MessageEnvelope[], caller: CallerContext): Promise<SendOutcome[]> {
    this.checkAccepting();
    // All or nothing on validation, so a client never has to guess which half was routed.
    for (let i = 0; i < messages.length; i++) {
      const error = this.validate(messages[i], `messages[${i}]`);
      if (error) throw error;
    }
    const entries: DurableEntry[] = [];
    const outcomes: SendOutcome[] = new Array<SendOutcome>(messages.length);
    const feedback = caller.feedback;
    const outer = this.pressured;
    const collect = feedback !== undefined && this.options.subscriberQueue.publisherWaitMs > 0;
    if (collect) {
      this.pressured = [];
      this.pressureRound++;
    }
    let pressured: Session[] | undefined;
    try {
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i];
        try {
          outcomes[i] = this.route(message, caller, entries, undefined);
        } catch (error) {
          // Refused (a limit, an unknown receiver): reported in place, the rest of the batch goes on.
          outcomes[i] = { messageId: message.id, duplicate: false, receivers: 0, stored: false, error: toGatewayError(error) };
        }
      }
    } finally {
      if (collect) pressured = this.pressured;
      this.pressured = outer;
    }
    if (feedback) {
      // Routed: a pipelining publisher may route its next batch while this one awaits its sync,
      // unless it fed a subscriber that is behind: then it waits for that one first.
      feedback.routed = true;
      if (pressured !== undefined && pressured.length > 0) feedback.ready = this.waitForRoom(pressured);
    }
    // One sync for the whole batch.
    if (entries.length > 0) await this.durable.commit(entries);
    else if (outcomes.some((outcome) => outcome.original === 'stored')) await this.durable.synced();
    return outcomes;
  }

  async request(message: MessageEnvelope, caller: CallerContext, options: RequestOptions): Promise<MessageEnvelope> {
    this.checkAccepting();
    const error = this.validate(message, 'message');
    if (error) throw error;
    admitRequest(message, options, this.requests, (limit, policy, detail) => this.limitReached(limit, policy, detail));
    const correlationId = this.nextId();
    message.correlationId = correlationId;
    message.replyTo = REPLY_TOPIC_PREFIX + correlationId;
    const receivers: Session[] = [];
    const entries: DurableEntry[] = [];
    const outcome = this.route(message, caller, entries, receivers);
    if (outcome.receivers === 0 && entries.length === 0) {
      throw gatewayError('GW_UNAVAILABLE', `no receiver is available for ${describeTarget(message)}`, { field: targetField(message) });
    }
    const durableTargets = message.durable && message.agentId ? [message.agentId] : [];
    const reply = new Promise<MessageEnvelope>((resolve, reject) => {
      this.requests.add(
        {
          correlationId,
          replyTo: message.replyTo,
          resolve,
          reject,
          cancelReceivers: (reason) => {
            const cancel: OutboundEvent = { kind: 'cancel', correlationId, reason };
            for (const session of receivers) session.push(cancel);
            for (const agentId of durableTargets) this.inboxes.get(agentId)?.push(cancel);
          },
        },
        options.deadline,
        options.signal,
      );
    });
    if (entries.length > 0) await this.durable.commit(entries);
    return reply;
  }

  openSession(sink: EventSink, options: SessionOptions): Session {
    this.checkAccepting();
    if (this.sessions.size >= this.options.maxSessions) {
      this.limitReached('router.maxSessions', 'reject', `${this.sessions.size} sessions open`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `too many open sessions (${this.options.maxSessions})`);
    }
    if (options.agentId !== undefined && options.agentId.length > MAX_ID_LENGTH) {
      throw invalidArgument('agentId', `is longer than ${MAX_ID_LENGTH} characters`);
    }
    const session = new Session(`${this.bootId}-s${++this.idCounter}`, sink, options, this.options.subscriberQueue, this);
    this.sessions.set(session.id, session);
    if (session.agentId) {
      this.inboxes.set(session.agentId, session);
      // Offline messages flow as soon as the inbox is back.
      this.durable.reachable(`a:${session.agentId}`);
      this.retryStrandedSoon();
    }
    return session;
  }

  ack(acks: readonly AckItem[], caller: CallerContext): AckOutcome[] {
    const outcomes: AckOutcome[] = new Array<AckOutcome>(acks.length);
    const mayAck = (receiver: Session): boolean => mayAcknowledge(receiver.caller, caller);
    for (let i = 0; i < acks.length; i++) {
      const item = acks[i];
      if (typeof item.deliveryTag !== 'string' || item.deliveryTag.length === 0) {
        throw invalidArgument(`acks[${i}].deliveryTag`, 'must be the non-empty tag of a durable delivery');
      }
      outcomes[i] = { deliveryTag: item.deliveryTag, result: this.durable.ack(item, mayAck) };
    }
    return outcomes;
  }

  notify(agentId: string, event: OutboundEvent): boolean {
    const session = this.inboxes.get(agentId);
    return session !== undefined && session.push(event);
  }

  // ---- SessionHost -------------------------------------------------------------------------

  subscribe(session: Session, spec: SubscriptionSpec): void {
    const admitted = admitSubscription(session, spec, this.options, (limit, policy, detail) => this.limitReached(limit, policy, detail));
    if (!admitted) return;
    const { key, group } = admitted;
    session.subscriptions.set(key, { pattern: spec.pattern, queueGroup: group });
    this.trie.add(session, spec.pattern, group);
    if (group) {
      const key = groupKey(spec.pattern, group);
      // Durable messages for it are kept while its members are away, also across restarts.
      this.knownGroups.touch(key, Date.now());
      // A new group member can take durable messages that waited for the group.
      this.durable.reachable(`g:${key}`);
    }
  }

  unsubscribe(session: Session, pattern: string, queueGroup?: string): void {
    const group = queueGroup || undefined;
    if (session.subscriptions.delete(subscriptionKey(pattern, group))) this.trie.remove(session, pattern, group);
  }

  closed(session: Session): void {
    this.sessions.delete(session.id);
    if (session.agentId && this.inboxes.get(session.agentId) === session) this.inboxes.delete(session.agentId);
    for (const { pattern, queueGroup } of session.subscriptions.values()) this.trie.remove(session, pattern, queueGroup);
    session.subscriptions.clear();
    this.durable.sessionClosed(session);
  }

  dropped(_session: Session, event: OutboundEvent, policy: OverflowPolicy): void {
    this.metrics.messages.dropped++;
    if (event.kind === 'delivery' && this.ctx.hooks.messageDropped.isUsed()) {
      this.ctx.hooks.messageDropped.call(event.delivery.message, `subscriber-queue-full:${policy}`);
    }
  }

  overflowed(session: Session, policy: OverflowPolicy): void {
    this.limitReached('router.subscriberQueue', policy, `session ${session.id}${session.agentId ? ` (agent ${session.agentId})` : ''}`);
  }

  // ---- routing -----------------------------------------------------------------------------

  private route(message: MessageEnvelope, caller: CallerContext, entries: DurableEntry[], receivers: Session[] | undefined): SendOutcome {
    const now = Date.now();
    const clientId = message.id;
    if (clientId) {
      const original = this.dedupe.duplicateOf(clientId, now);
      if (original !== false) {
        this.metrics.messages.duplicate++;
        return original === 'unknown'
          ? { messageId: clientId, duplicate: true, receivers: 0, stored: false }
          : { messageId: clientId, duplicate: true, receivers: 0, stored: false, original };
      }
    } else {
      message.id = this.nextId();
    }
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
    const firstEntry = entries.length;
    let delivered: number;
    try {
      if (message.topic) {
        if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) return this.routeReply(message);
        delivered = message.durable ? this.routeTopicDurable(message, entries, now, clientId) : this.fanOut(message, receivers);
      } else if (message.agentId) {
        delivered = this.routeToAgent(message, message.agentId, 'inbox', entries, receivers, now, clientId);
      } else {
        delivered = this.routeToService(message, entries, receivers, now, clientId);
      }
    } catch (error) {
      // All or nothing per message: a message refused for one receiver is stored for none.
      if (entries.length > firstEntry) this.durable.discard(entries.splice(firstEntry));
      throw error;
    }
    const copies = entries.length - firstEntry;
    const stored = copies > 0;
    // Only a message that was stored or taken by someone burns its id: a retry of one nobody took
    // (no receiver yet) or that was refused is routed again.
    if (clientId && stored) this.dedupe.stored(clientId, copies, now);
    else if (clientId && delivered > 0) this.dedupe.delivered(clientId, now);
    this.metrics.messages.accepted++;
    if (stored) this.metrics.messages.stored++;
    if (delivered === 0 && !stored) this.metrics.messages.unroutable++;
    if (this.ctx.hooks.messageAccepted.isUsed()) this.ctx.hooks.messageAccepted.call(message);
    return { messageId: message.id, duplicate: false, receivers: stored ? entries.length - firstEntry : delivered, stored };
  }

  private routeReply(message: MessageEnvelope): SendOutcome {
    const matched = this.requests.reply(message.topic, message.correlationId, message);
    if (matched) this.metrics.messages.reply++;
    else {
      // Late (after the deadline) or unknown: nobody waits for it any more.
      this.metrics.messages.dropped++;
      if (this.ctx.hooks.messageDropped.isUsed()) this.ctx.hooks.messageDropped.call(message, 'no-pending-request');
    }
    return { messageId: message.id, duplicate: false, receivers: matched ? 1 : 0, stored: false };
  }

  /** At-most-once fan-out: one Delivery per matched pattern, shared by all its subscribers. */
  private fanOut(message: MessageEnvelope, receivers: Session[] | undefined): number {
    const match = this.trie.match(message.topic);
    let count = 0;
    for (const { pattern, sessions } of match.byPattern) {
      // One object for every subscriber of the pattern: `shared` lets the transport encode it once.
      const event: OutboundEvent = {
        kind: 'delivery',
        delivery: { message, deliveryTag: '', attempt: 1, subscription: pattern, ackDeadline: 0, shared: sessions.length > 1 },
      };
      for (let i = 0; i < sessions.length; i++) {
        const session = sessions[i];
        if (this.push(session, event)) {
          count++;
          receivers?.push(session);
        }
      }
    }
    for (const group of match.groups) {
      const member = pickMember(group.members, group);
      if (!member) continue;
      if (
        this.push(member, {
          kind: 'delivery',
          delivery: { message, deliveryTag: '', attempt: 1, subscription: group.pattern, ackDeadline: 0 },
        })
      ) {
        count++;
        receivers?.push(member);
      }
    }
    return count;
  }

  /** `clientId`: the producer's id (dedupe), '' when the router generated one. */
  private routeTopicDurable(message: MessageEnvelope, entries: DurableEntry[], now: number, clientId: string): number {
    const match = this.trie.match(message.topic);
    const targets = new Map<string, string>();
    for (const { pattern, sessions } of match.byPattern) {
      for (const session of sessions) {
        const key = session.agentId ? `a:${session.agentId}` : `s:${session.id}`;
        if (!targets.has(key)) targets.set(key, pattern);
      }
    }
    for (const group of match.groups) targets.set(`g:${group.key}`, group.pattern);
    // Groups whose members are all away (e.g. reconnecting after a restart): stored for them.
    for (const [key, pattern] of this.knownGroups.match(message.topic)) if (!targets.has(`g:${key}`)) targets.set(`g:${key}`, pattern);
    for (const [key, subscription] of targets) entries.push(this.durable.admit(key, subscription, message, now, clientId));
    return 0;
  }

  private routeToAgent(
    message: MessageEnvelope,
    agentId: string,
    subscription: string,
    entries: DurableEntry[],
    receivers: Session[] | undefined,
    now: number,
    clientId: string,
  ): number {
    if (message.durable) {
      if (!this.inboxes.has(agentId) && !this.knownAgents.has(agentId) && !this.registry.get(agentId)) {
        throw gatewayError('GW_NOT_FOUND', `agentId: no agent "${agentId}" has ever registered here`, { field: 'agentId' });
      }
      entries.push(this.durable.admit(`a:${agentId}`, subscription, message, now, clientId));
      return 0;
    }
    const session = this.inboxes.get(agentId);
    if (!session) {
      if (!this.registry.get(agentId))
        throw gatewayError('GW_NOT_FOUND', `agentId: no agent "${agentId}" is registered`, { field: 'agentId' });
      this.metrics.messages.dropped++;
      if (this.ctx.hooks.messageDropped.isUsed()) this.ctx.hooks.messageDropped.call(message, 'receiver-offline');
      return 0;
    }
    if (session.full) {
      // One receiver: push back on its publisher instead of dropping silently.
      this.limitReached('router.subscriberQueue', 'reject', `agent ${agentId}`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `agent "${agentId}" is not keeping up (its queue is full); retry later`, {
        field: 'agentId',
      });
    }
    const delivered = this.push(session, {
      kind: 'delivery',
      delivery: { message, deliveryTag: '', attempt: 1, subscription, ackDeadline: 0 },
    });
    if (delivered) receivers?.push(session);
    return delivered ? 1 : 0;
  }

  private routeToService(
    message: MessageEnvelope,
    entries: DurableEntry[],
    receivers: Session[] | undefined,
    now: number,
    clientId: string,
  ): number {
    const { service, versionRange } = message;
    let instance = this.balancer.pick(service, versionRange, message.key, this.probe);
    if (!instance && message.durable) instance = this.balancer.pick(service, versionRange, message.key, this.anyInstance);
    if (!instance) {
      const known = this.balancer.candidates(service, versionRange).length > 0;
      if (known && !message.durable) {
        this.limitReached('router.subscriberQueue', 'reject', `service ${service}`);
        throw gatewayError('GW_RESOURCE_EXHAUSTED', `every instance of "${service}" is offline or not keeping up; retry later`, {
          field: 'service',
        });
      }
      throw gatewayError(
        'GW_NOT_FOUND',
        `service: no routable instance of "${service}"${versionRange ? ` matching "${versionRange}"` : ''}`,
        { field: 'service' },
      );
    }
    return this.routeToAgent(message, instance.agentId, `service:${service}`, entries, receivers, now, clientId);
  }

  private push(session: Session, event: OutboundEvent): boolean {
    const pushed = session.push(event);
    const pressured = this.pressured;
    if (pressured !== undefined && session.pressureRound !== this.pressureRound && !session.stalled && session.overHighWater) {
      session.pressureRound = this.pressureRound;
      pressured.push(session);
    }
    if (!pushed) return false;
    this.metrics.messages.delivered++;
    if (event.kind === 'delivery' && this.ctx.hooks.messageDelivered.isUsed())
      this.ctx.hooks.messageDelivered.call(event.delivery.message, event.delivery);
    return true;
  }

  /** Publisher backpressure (see publisher-waits.ts). */
  private waitForRoom(sessions: readonly Session[]): Promise<void> {
    return waitForRoom(sessions, this.options.subscriberQueue, this.metrics.publisherWaits, (limit, policy, detail) =>
      this.limitReached(limit, policy, detail),
    );
  }

  private deliver(session: Session, delivery: Delivery): void {
    this.push(session, { kind: 'delivery', delivery });
  }

  private sessionForTarget(key: string, avoid?: Session): Session | undefined {
    if (key.startsWith('a:')) return this.inboxes.get(key.slice(2));
    if (key.startsWith('s:')) return this.sessions.get(key.slice(2));
    const group = this.trie.group(key.slice(2));
    return group ? durableMember(group, avoid, this.durable.members) : undefined;
  }

  private deadLetter(message: MessageEnvelope, reason: string, attempts: number): void {
    this.metrics.messages.dead_lettered++;
    this.metrics.deadLetter(reason.split(':')[0]);
    const at = Date.now();
    if (this.ctx.hooks.messageDeadLettered.isUsed()) this.ctx.hooks.messageDeadLettered.call({ message, reason, attempts, at });
    const dlq = this.options.deadLetterTopic;
    // A dead letter of a dead letter would loop; the hook has it.
    if (message.topic === dlq || message.topic.startsWith(`${dlq}.`)) return;
    const headers = deadLetterHeaders(message, reason, attempts);
    this.fanOut({ ...message, topic: dlq, agentId: '', service: '', durable: false, headers, createdAt: at }, undefined);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private validate(message: MessageEnvelope, field: string): GatewayError | undefined {
    return checkEnvelope(message, field, this.options);
  }

  private checkAccepting(): void {
    if (!this.accepting) throw gatewayError('GW_DRAINING', 'the router is draining and accepts no new messages');
  }

  private nextId(): string {
    return `${this.bootId}-${(++this.idCounter).toString(36)}`;
  }

  private limitReached(limit: string, policy: string, detail: string): void {
    this.metrics.limit(limit);
    if (this.ctx.hooks.limitReached.isUsed()) this.ctx.hooks.limitReached.call({ limit, policy, plugin: this.ctx.name, detail });
  }

  /**
   * Registry events come in bursts (a fleet reconnecting): one retry of the stranded service
   * messages per short interval, not one scan per event.
   */
  private retryStrandedSoon(): void {
    if (this.strandedRetry || !this.durable.hasStranded) return;
    this.strandedRetry = setTimeout(() => {
      this.strandedRetry = undefined;
      this.durable.retryStranded(Date.now());
    }, STRANDED_RETRY_COALESCE_MS);
    this.strandedRetry.unref();
  }

  private tapRegistry(): void {
    followRegistry(this.ctx.hooks, this.ctx.name, {
      knownAgents: this.knownAgents,
      balancer: this.balancer,
      durable: this.durable,
      retryStrandedSoon: () => this.retryStrandedSoon(),
    });
  }
}
