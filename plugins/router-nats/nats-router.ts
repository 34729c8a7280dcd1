/**
 * The cluster router: every message goes through NATS, so an agent, service or topic subscriber
 * on any gateway of the cluster receives it.
 *
 * Subjects (P = `prefix`): `P.t.<topic>` topic messages (NATS wildcards are our wildcards; queue
 * groups are NATS queue subscriptions, one per member, so NATS balances across gateways);
 * `P.i.<agent>` at-most-once inbox messages; `P.c.<agent>` request cancellations; `P.r.<router>`
 * replies to the router holding the request; `P.interest` subscription snapshots for receiver
 * counts. Durable messages go through JetStream (see durable-inbox.ts): `P.d.i.<agent>` for
 * inboxes, `P.d.t.<topic>` for durable topic messages.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import {
  gatewayError,
  invalidArgument,
  REPLY_TOPIC_PREFIX,
  type AckItem,
  type AckOutcome,
  type AgentRecord,
  type CallerContext,
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
} from '../../kernel';
import { DedupeWindow } from './dedupe-window';
import { DurableInbox } from './durable-inbox';
import { decodeEnvelope, encodeEnvelope } from './envelope-codec';
import { InterestMap } from './interest-map';
import { PendingRequests } from './pending-requests';
import { createRouterMetrics, type RouterMetrics } from './router-metrics';
import type { NatsRouterOptions, OverflowPolicy } from './schema';
import { Session, type SessionHost } from './session';
import { checkEnvelope, checkPattern, describeTarget, targetField } from '../../kernel';
import { agentToken } from '../../support/nats/subjects';

const MAX_ID_LENGTH = 256;
/** Departed agents whose service messages wait for an instance; beyond it the oldest is forgotten. */
const MAX_STRANDED = 10_000;
/** A pass that left messages behind is repeated after this long, or at once when an instance appears. */
const REHOME_RETRY_MS = 10_000;
/** Passes running at once on this gateway (a lost gateway strands all its agents together). */
const MAX_PARALLEL_REHOMES = 4;
/**
 * Another gateway's agent that deregistered is re-homed here too, later than by its own gateway
 * (which usually has done it: the pass then finds nothing), for when that gateway was stopping.
 */
const REMOTE_REHOME_DELAY_MS = 2_000;
const QUEUE_GROUP = /^[A-Za-z0-9_.:-]{1,128}$/;

interface StrandedInbox {
  service: string;
  /** End of the grace period a dropped instance gets to come back. */
  movableAt: number;
  /** After a pass that left messages behind. */
  nextTryAt: number;
}

interface PatternSubscription {
  sub: Subscription;
  sessions: Session[];
}

export class NatsRouter implements RouterService, SessionHost {
  private readonly options: NatsRouterOptions;
  /** Names this router instance in delivery tags, reply topics and interest snapshots. */
  readonly bootId = randomBytes(6).toString('hex');
  private idCounter = 0;
  private readonly sessions = new Map<string, Session>();
  private readonly inboxes = new Map<string, Session>();
  private readonly patterns = new Map<string, PatternSubscription>();
  private readonly requests: PendingRequests;
  private readonly dedupe: DedupeWindow;
  private readonly interest: InterestMap;
  private readonly inbox: DurableInbox;
  private readonly metrics: RouterMetrics;
  private readonly cursors = new Map<string, number>();
  /** Agents deregistered while their inbox session is open here: re-homed when it closes. */
  private readonly departing = new Map<string, { service: string; left: boolean }>();
  /** Departed agents whose inboxes may still hold service messages, and when to (re)try them. */
  private readonly stranded = new Map<string, StrandedInbox>();
  private readonly rehoming = new Set<string>();
  /** Shutting down: no re-homing passes start (the other gateways do them). */
  private quiesced = false;
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
    this.interest = new InterestMap(this.bootId, this.options.maxRemoteGateways, (id) => this.limitReached('router.maxRemoteGateways', 'ignore', `gateway ${id}`));
    this.inbox = new DurableInbox(this.options, this.bootId, {
      deliver: (session, delivery) => this.push(session, { kind: 'delivery', delivery }),
      deadLetter: (message, reason, attempts) => this.deadLetter(message, reason, attempts),
      limitReached: (limit, policy, detail) => this.limitReached(limit, policy, detail),
      redelivered: () => this.metrics.redeliveries.inc(),
      consumerError: (agentId, error) => {
        this.metrics.natsErrors.inc();
        this.ctx.logger.warn({ err: error, agentId }, 'durable inbox consumer stopped');
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
    });
    this.tapRegistry();
  }

  get streamName(): string {
    return this.inbox.stream;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    await this.inbox.start(nc.jetstream(), await nc.jetstreamManager());
    this.ownSubs.push(
      nc.subscribe(`${this.p}.r.${this.bootId}`, { callback: (error, msg) => !error && this.onReply(msg.data) }),
      nc.subscribe(`${this.p}.interest`, { callback: (error, msg) => !error && this.interest.apply(msg.string(), Date.now()) }),
      nc.subscribe(`${this.p}.interest.ask`, { callback: (error) => !error && this.publishInterest(true) }),
    );
    await nc.flush();
    nc.publish(`${this.p}.interest.ask`);
    this.timer = setInterval(() => this.tick(Date.now()), this.options.sweepIntervalMs);
    this.timer.unref();
    void this.followConnection(nc);
  }

  drain(): void {
    this.accepting = false;
    this.quiesced = true;
  }

  async stop(): Promise<void> {
    this.accepting = false;
    clearInterval(this.timer);
    clearTimeout(this.interestTimer);
    this.requests.failAll(gatewayError('GW_UNAVAILABLE', 'the gateway is stopping'));
    for (const session of [...this.sessions.values()]) session.fail(gatewayError('GW_UNAVAILABLE', 'the gateway is stopping'), 'gateway-stopping');
    for (const sub of this.ownSubs) sub.unsubscribe();
    this.ownSubs = [];
  }

  // ---- RouterService -----------------------------------------------------------------------

  async send(message: MessageEnvelope, caller: CallerContext): Promise<SendOutcome> {
    this.checkAccepting();
    const error = checkEnvelope(message, 'message', this.options);
    if (error) throw error;
    return this.route(message, caller);
  }

  async sendBatch(messages: readonly MessageEnvelope[], caller: CallerContext): Promise<SendOutcome[]> {
    this.checkAccepting();
    for (let i = 0; i < messages.length; i++) {
      const error = checkEnvelope(messages[i]!, `messages[${i}]`, this.options);
      if (error) throw error;
    }
    // Routed in order; durable ones are stored concurrently (JetStream acks them as one flight).
    const outcomes: Promise<SendOutcome>[] = new Array(messages.length);
    for (let i = 0; i < messages.length; i++) outcomes[i] = this.route(messages[i]!, caller);
    return Promise.all(outcomes);
  }

  async request(message: MessageEnvelope, caller: CallerContext, options: RequestOptions): Promise<MessageEnvelope> {
    this.checkAccepting();
    const error = checkEnvelope(message, 'message', this.options);
    if (error) throw error;
    if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) throw invalidArgument('message.topic', 'a request cannot be sent to a reply topic');
    if (this.requests.full) {
      this.limitReached('router.maxPendingRequests', 'reject', `${this.requests.size} requests pending`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `too many requests waiting for replies (${this.requests.maxPending}); retry later`);
    }
    if (!(options.deadline > Date.now())) throw gatewayError('GW_DEADLINE_EXCEEDED', 'the request deadline has already passed');
    if (options.signal?.aborted) throw gatewayError('GW_CANCELLED', 'the request was cancelled by the client');
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
    if (options.agentId !== undefined && options.agentId.length > MAX_ID_LENGTH) throw invalidArgument('agentId', `is longer than ${MAX_ID_LENGTH} characters`);
    const session = new Session(`${this.bootId}-s${++this.idCounter}`, sink, options, this.options.subscriberQueue, this);
    this.sessions.set(session.id, session);
    if (session.agentId) this.openInbox(session, session.agentId);
    return session;
  }

  ack(acks: readonly AckItem[], _caller: CallerContext): AckOutcome[] {
    const outcomes: AckOutcome[] = new Array(acks.length);
    for (let i = 0; i < acks.length; i++) {
      const item = acks[i]!;
      if (typeof item.deliveryTag !== 'string' || item.deliveryTag.length === 0) {
        throw invalidArgument(`acks[${i}].deliveryTag`, 'must be the non-empty tag of a durable delivery');
      }
      outcomes[i] = { deliveryTag: item.deliveryTag, result: this.inbox.ack(item) };
    }
    return outcomes;
  }

  notify(agentId: string, event: OutboundEvent): boolean {
    const session = this.inboxes.get(agentId);
    return session !== undefined && session.push(event);
  }

  // ---- SessionHost -------------------------------------------------------------------------

  subscribe(session: Session, spec: SubscriptionSpec): void {
    const error = checkPattern(spec.pattern, 'pattern', this.options.topics);
    if (error) throw error;
    if (spec.queueGroup !== undefined && spec.queueGroup !== '' && !QUEUE_GROUP.test(spec.queueGroup)) {
      throw invalidArgument('queueGroup', 'must be 1-128 characters of letters, digits, "_", "-", ".", ":"');
    }
    if (session.isClosed) throw gatewayError('GW_FAILED_PRECONDITION', 'the session is closed');
    const group = spec.queueGroup || undefined;
    const key = `${spec.pattern}\u0000${group ?? ''}`;
    if (session.subscriptions.has(key)) return;
    if (session.subscriptions.size >= this.options.maxSubscriptionsPerSession) {
      this.limitReached('router.maxSubscriptionsPerSession', 'reject', session.id);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `a session may hold at most ${this.options.maxSubscriptionsPerSession} subscriptions`, { field: 'pattern' });
    }
    const nc = this.connection();
    const subject = `${this.p}.t.${spec.pattern}`;
    const pattern = spec.pattern;
    const stopDurable = this.options.durableTopics ? this.consumeTopic(session, pattern, group) : undefined;
    if (group) {
      // One queue subscription per member: NATS picks the member, whichever gateway it is on.
      const sub = nc.subscribe(subject, { queue: group, callback: (err, msg) => !err && this.onTopic(msg.data, pattern, [session]) });
      this.interest.add(pattern, group);
      this.scheduleInterest();
      session.subscriptions.set(key, (explicit) => {
        sub.unsubscribe();
        stopDurable?.(explicit);
        this.interest.remove(pattern, group);
        this.scheduleInterest();
      });
      return;
    }
    let shared = this.patterns.get(pattern);
    if (!shared) {
      const sessions: Session[] = [];
      const sub = nc.subscribe(subject, { callback: (err, msg) => !err && this.onTopic(msg.data, pattern, sessions) });
      shared = { sub, sessions };
      this.patterns.set(pattern, shared);
    }
    shared.sessions.push(session);
    this.interest.add(pattern);
    this.scheduleInterest();
    session.subscriptions.set(key, (explicit) => {
      stopDurable?.(explicit);
      const current = this.patterns.get(pattern);
      if (!current) return;
      const index = current.sessions.indexOf(session);
      if (index >= 0) current.sessions.splice(index, 1);
      this.interest.remove(pattern);
      this.scheduleInterest();
      if (current.sessions.length === 0) {
        current.sub.unsubscribe();
        this.patterns.delete(pattern);
      }
    });
  }

  unsubscribe(session: Session, pattern: string, queueGroup?: string): void {
    const key = `${pattern}\u0000${queueGroup || ''}`;
    const teardown = session.subscriptions.get(key);
    if (!teardown) return;
    session.subscriptions.delete(key);
    teardown(true);
  }

  closed(session: Session): void {
    this.sessions.delete(session.id);
    for (const teardown of session.subscriptions.values()) teardown(false);
    session.subscriptions.clear();
    if (session.agentId && this.inboxes.get(session.agentId) === session) this.inboxes.delete(session.agentId);
    session.teardown?.();
    this.inbox.sessionClosed(session);
    const departing = session.agentId !== undefined ? this.departing.get(session.agentId) : undefined;
    if (departing !== undefined && !this.inboxes.has(session.agentId!)) {
      this.departing.delete(session.agentId!);
      this.strand(session.agentId!, departing.service, departing.left ? 0 : this.options.durable.rehomeAfterMs);
    }
  }

  dropped(_session: Session, event: OutboundEvent, policy: OverflowPolicy): void {
    this.metrics.dropped.inc({ reason: 'subscriber-queue-full' });
    if (event.kind === 'delivery' && this.ctx.hooks.messageDropped.isUsed()) this.ctx.hooks.messageDropped.call(event.delivery.message, `subscriber-queue-full:${policy}`);
  }

  overflowed(session: Session, policy: OverflowPolicy): void {
    this.limitReached('router.subscriberQueue', policy, `session ${session.id}${session.agentId ? ` (agent ${session.agentId})` : ''}`);
  }

  /**
   * The subscription's durable consumer on the topic stream: per queue group (shared by members on
   * every gateway), per agent and pattern (kept while the agent is away, like its inbox), or per
   * anonymous session (deleted with it). Returns what stops pulling.
   */
  private consumeTopic(session: Session, pattern: string, group: string | undefined): (explicit: boolean) => void {
    const kind = group ? 'g' : session.agentId ? 'a' : 's';
    const owner = group ? `${pattern}\u0000${group}` : session.agentId ? `${session.agentId}\u0000${pattern}` : `${session.id}\u0000${pattern}`;
    const name = `${kind}_${createHash('sha1').update(owner).digest('hex').slice(0, 24)}`;
    const stream = this.inbox.topicStream;
    let stop: (() => void) | undefined;
    let stopped = false;
    this.inbox
      .consume(session, {
        stream,
        name,
        filterSubject: this.inbox.topicSubject(pattern),
        subscription: pattern,
        // An anonymous session cannot come back: its consumer goes soon after it is gone.
        inactiveMs: kind === 's' ? Math.max(5_000, this.options.durable.ackTimeoutMs) : this.options.offlineInbox.maxAgeMs,
      })
      .then(
        (stopConsumer) => (stopped ? stopConsumer() : (stop = stopConsumer)),
        (error: unknown) => {
          this.metrics.natsErrors.inc();
          this.ctx.logger.warn({ err: error, pattern, group }, 'could not open a durable topic consumer; durable topic messages will not reach this subscription');
        },
      );
    return (explicit) => {
      stopped = true;
      stop?.();
      // A queue group's consumer may serve members elsewhere; JetStream drops it once idle.
      if (kind === 's' || (kind === 'a' && explicit)) void this.inbox.deleteConsumer(stream, name);
    };
  }

  // ---- routing -----------------------------------------------------------------------------

  private async route(message: MessageEnvelope, caller: CallerContext, onTarget?: (agentId: string) => void): Promise<SendOutcome> {
    const now = Date.now();
    const clientId = message.id !== '' && message.id !== undefined;
    if (clientId && !message.durable) {
      if (this.dedupe.isDuplicate(message.id, now)) {
        this.metrics.duplicate.inc();
        return { messageId: message.id, duplicate: true, receivers: 0, stored: false };
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
    let outcome: SendOutcome;
    if (message.topic) {
      if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) return this.routeReply(message);
      if (message.durable) return this.finish(message, now, clientId, await this.routeTopicDurable(message, clientId));
      const receivers = this.interest.count(message.topic);
      this.connection().publish(`${this.p}.t.${message.topic}`, encodeEnvelope(message));
      outcome = { messageId: message.id, duplicate: false, receivers, stored: false };
    } else {
      const target = message.agentId ? this.requireAgent(message.agentId) : this.pickInstance(message);
      onTarget?.(target.agentId);
      outcome = await this.routeToAgent(message, target.agentId, clientId);
    }
    return this.finish(message, now, clientId, outcome);
  }

  private finish(message: MessageEnvelope, now: number, clientId: boolean, outcome: SendOutcome): SendOutcome {
    if (clientId && !message.durable) this.dedupe.remember(message.id, now);
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
      this.connection().publish(`${this.p}.i.${agentToken(agentId)}`, encodeEnvelope(message));
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
        throw gatewayError('GW_RESOURCE_EXHAUSTED', `agentId: the inbox of "${agentId}" is full (offlineInbox.maxMessages ${this.options.offlineInbox.maxMessages}); retry later`, { field: 'agentId' });
      }
      if (/maximum (bytes|messages)/i.test(text)) {
        this.limitReached('router.durable.maxBytes', 'reject', this.inbox.stream);
        throw gatewayError('GW_RESOURCE_EXHAUSTED', `the durable store ${this.inbox.stream} is full (durable.maxBytes ${this.options.durable.maxBytes}); retry later`);
      }
      throw gatewayError('GW_UNAVAILABLE', `the durable store (JetStream stream ${this.inbox.stream}) did not accept the message: ${text}; retry`, { cause: error });
    }
    return { messageId: message.id, duplicate: ack.duplicate, receivers: ack.duplicate ? 0 : 1, stored: !ack.duplicate };
  }

  private async routeTopicDurable(message: MessageEnvelope, clientId: boolean): Promise<SendOutcome> {
    if (!this.options.durableTopics) {
      throw gatewayError('GW_UNIMPLEMENTED', 'message.durable: durable topic messages are off on this gateway (router-nats option durableTopics: false)', { field: 'message.durable' });
    }
    const receivers = this.interest.count(message.topic);
    let ack;
    try {
      ack = await this.inbox.publishTopic(message, clientId);
    } catch (error) {
      this.metrics.natsErrors.inc();
      const text = (error as { api_error?: { description?: string } }).api_error?.description ?? String(error);
      if (/maximum (bytes|messages)/i.test(text)) {
        this.limitReached('router.durable.maxBytes', 'reject', this.inbox.topicStream);
        throw gatewayError('GW_RESOURCE_EXHAUSTED', `the durable store ${this.inbox.topicStream} is full (durable.maxBytes ${this.options.durable.maxBytes}); retry later`);
      }
      throw gatewayError('GW_UNAVAILABLE', `the durable store (JetStream stream ${this.inbox.topicStream}) did not accept the message: ${text}; retry`, { cause: error });
    }
    // Interest retention: stored for every subscription consumer that exists; none → nothing kept.
    return { messageId: message.id, duplicate: ack.duplicate, receivers: ack.duplicate ? 0 : receivers, stored: !ack.duplicate && receivers > 0 };
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
    this.connection().publish(`${this.p}.r.${owner}`, encodeEnvelope(message));
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

  // ---- service messages of departed instances ----------------------------------------------

  /**
   * A durable service message is stored in the picked instance's inbox, but any instance may take
   * it. When an instance leaves the cluster, the gateway that held it (every survivor, for a lost
   * gateway) moves its waiting service messages to the service's other routable instances: at once
   * when it left on purpose, after `durable.rehomeAfterMs` when its stream dropped or its gateway
   * went silent (time to come back and keep them); with no instance to take them, again when one
   * appears or every REHOME_RETRY_MS.
   */
  private tapRegistry(): void {
    const hooks = this.ctx.hooks;
    const name = this.ctx.name;
    hooks.draining.tap({ name, stage: -100 }, () => {
      this.quiesced = true;
    });
    hooks.agentDeregistered.tap(name, (record, reason) => {
      if (this.inboxes.has(record.agentId)) {
        // Its session still pulls the inbox (an agent deregisters before it hangs up).
        const left = reason !== 'session-closed';
        if (this.departing.size < MAX_STRANDED || this.departing.has(record.agentId)) this.departing.set(record.agentId, { service: record.service, left });
        return;
      }
      const grace = this.options.durable.rehomeAfterMs;
      if (record.gatewayId === this.ctx.gateway.id) this.strand(record.agentId, record.service, reason === 'session-closed' ? grace : 0);
      else if (reason === 'gateway-lost') this.strand(record.agentId, record.service, grace);
      // Remote removals all read 'deregistered' (the registry entry is simply gone).
      else this.strand(record.agentId, record.service, grace + REMOTE_REHOME_DELAY_MS);
    });
    const instanceAppeared = (service: string) => {
      if (this.stranded.size === 0) return;
      for (const stranded of this.stranded.values()) if (stranded.service === service) stranded.nextTryAt = 0;
      this.rehomeDue(Date.now());
    };
    hooks.agentRegistered.tap(name, (record) => {
      // Back: its own (new) consumer takes its messages.
      this.departing.delete(record.agentId);
      this.stranded.delete(record.agentId);
      instanceAppeared(record.service);
    });
    hooks.agentStateChanged.tap(name, (change) => change.to === 'running' && instanceAppeared(change.service));
    hooks.healthChanged.tap(name, (change) => instanceAppeared(change.service));
  }

  private strand(agentId: string, service: string, afterMs: number): void {
    if (this.quiesced) return;
    const now = Date.now();
    if (!this.stranded.has(agentId) && this.stranded.size >= MAX_STRANDED) {
      this.stranded.delete(this.stranded.keys().next().value!);
      this.limitReached('router.rehome.stranded', 'forget-oldest', `${MAX_STRANDED} departed instances with service messages waiting`);
    }
    const movableAt = now + afterMs;
    const known = this.stranded.get(agentId);
    // Already known (from its own gateway's news and a remote one): the earlier time wins.
    if (known) known.movableAt = Math.min(known.movableAt, movableAt);
    else this.stranded.set(agentId, { service, movableAt, nextTryAt: 0 });
    this.rehomeDue(now);
  }

  private rehomeDue(now: number): void {
    if (this.quiesced) return;
    for (const [agentId, stranded] of this.stranded) {
      if (this.rehoming.size >= MAX_PARALLEL_REHOMES) return;
      if (stranded.movableAt <= now && stranded.nextTryAt <= now && !this.rehoming.has(agentId)) void this.rehome(agentId, stranded);
    }
  }

  private async rehome(agentId: string, stranded: StrandedInbox): Promise<void> {
    const gone = () => !this.registry.get(agentId);
    const forget = () => {
      // Only this entry: the agent may have come back and left again while the pass ran.
      if (this.stranded.get(agentId) === stranded) this.stranded.delete(agentId);
    };
    if (!this.nc || !gone()) {
      forget();
      return;
    }
    this.rehoming.add(agentId);
    stranded.nextTryAt = Date.now() + REHOME_RETRY_MS;
    try {
      const { moved, left } = await this.inbox.rehome(
        agentId,
        (message) => {
          const candidates = this.registry.discover({ service: message.service, versionRange: message.versionRange || undefined, routableOnly: true });
          return candidates.length === 0 ? undefined : this.pickInstance(message).agentId;
        },
        gone,
      );
      if (moved > 0) {
        this.metrics.rehomed.inc(moved);
        this.ctx.logger.info({ from: agentId, count: moved }, 'service messages re-homed from a departed instance');
      }
      if (left === 0 || !gone()) forget();
    } catch (error) {
      this.metrics.natsErrors.inc();
      this.ctx.logger.warn({ err: error, agentId }, 'could not re-home the service messages of a departed instance; retrying later');
    } finally {
      this.rehoming.delete(agentId);
      if (this.stranded.size > 0) this.rehomeDue(Date.now());
    }
  }

  /** Round-robin (or rendezvous hashing on `key`) over the cluster's routable instances. */
  private pickInstance(message: MessageEnvelope): AgentRecord {
    const { service, versionRange } = message;
    const candidates = this.registry.discover({ service, versionRange: versionRange || undefined, routableOnly: true });
    if (candidates.length === 0) {
      throw gatewayError('GW_NOT_FOUND', `service: no routable instance of "${service}"${versionRange ? ` matching "${versionRange}"` : ''}`, { field: 'service' });
    }
    if (this.options.strategy === 'consistent-hash' && message.key) {
      let best = candidates[0]!;
      let bestScore = -1;
      for (const candidate of candidates) {
        const score = createHash('sha1').update(message.key).update('\u0000').update(candidate.agentId).digest().readUInt32BE(0);
        if (score > bestScore) {
          bestScore = score;
          best = candidate;
        }
      }
      return best;
    }
    const cursorKey = `${service}\u0000${versionRange}`;
    const next = this.cursors.get(cursorKey) ?? 0;
    if (!this.cursors.has(cursorKey) && this.cursors.size >= this.options.balancerKeys) {
      this.cursors.delete(this.cursors.keys().next().value!);
      this.limitReached('router.balancerKeys', 'evict-oldest', 'round-robin cursor evicted');
    }
    this.cursors.set(cursorKey, next + 1);
    // Sorted so every gateway walks the instances in one order.
    candidates.sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
    return candidates[next % candidates.length]!;
  }

  // ---- receiving ---------------------------------------------------------------------------

  private onTopic(data: Uint8Array, pattern: string, sessions: readonly Session[]): void {
    if (sessions.length === 0) return;
    let message: MessageEnvelope;
    try {
      message = decodeEnvelope(data).message;
    } catch {
      return;
    }
    const event: OutboundEvent = { kind: 'delivery', delivery: { message, deliveryTag: '', attempt: 1, subscription: pattern, ackDeadline: 0 } };
    for (let i = 0; i < sessions.length; i++) this.push(sessions[i]!, event);
  }

  private onInbox(session: Session, data: Uint8Array): void {
    let message: MessageEnvelope;
    try {
      message = decodeEnvelope(data).message;
    } catch {
      return;
    }
    this.push(session, { kind: 'delivery', delivery: { message, deliveryTag: '', attempt: 1, subscription: message.service ? `service:${message.service}` : 'inbox', ackDeadline: 0 } });
  }

  private onCancel(session: Session, data: Uint8Array): void {
    let cancel: { correlationId?: unknown; reason?: unknown };
    try {
      cancel = JSON.parse(new TextDecoder().decode(data)) as typeof cancel;
    } catch {
      return;
    }
    if (typeof cancel.correlationId !== 'string') return;
    session.push({ kind: 'cancel', correlationId: cancel.correlationId, reason: String(cancel.reason ?? 'cancelled') });
  }

  private onReply(data: Uint8Array): void {
    try {
      this.replyHere(decodeEnvelope(data).message);
    } catch {
      // Not a message: nothing waits for it.
    }
  }

  private openInbox(session: Session, agentId: string): void {
    const previous = this.inboxes.get(agentId);
    if (previous && previous !== session) {
      previous.teardown?.();
      previous.teardown = undefined;
      this.inbox.sessionClosed(previous);
    }
    this.inboxes.set(agentId, session);
    const nc = this.connection();
    const token = agentToken(agentId);
    const subs = [
      nc.subscribe(`${this.p}.i.${token}`, { callback: (err, msg) => !err && this.onInbox(session, msg.data) }),
      nc.subscribe(`${this.p}.c.${token}`, { callback: (err, msg) => !err && this.onCancel(session, msg.data) }),
    ];
    let stopConsumer: (() => void) | undefined;
    let closed = false;
    session.teardown = () => {
      closed = true;
      for (const sub of subs) sub.unsubscribe();
      stopConsumer?.();
    };
    this.inbox.open(session, agentId).then(
      (stop) => {
        if (closed) stop();
        else stopConsumer = stop;
      },
      (error: unknown) => {
        this.metrics.natsErrors.inc();
        this.ctx.logger.error({ err: error, agentId }, 'could not open the durable inbox consumer');
        if (!closed) session.fail(gatewayError('GW_UNAVAILABLE', `the durable inbox of "${agentId}" could not be opened; reconnect`), 'inbox-unavailable');
      },
    );
  }

  private push(session: Session, event: OutboundEvent): boolean {
    if (!session.push(event)) return false;
    this.metrics.delivered.inc();
    if (event.kind === 'delivery' && this.ctx.hooks.messageDelivered.isUsed()) this.ctx.hooks.messageDelivered.call(event.delivery.message, event.delivery);
    return true;
  }

  private deadLetter(message: MessageEnvelope, reason: string, attempts: number): void {
    this.metrics.deadLettered.inc({ reason: reason.split(':')[0]! });
    const at = Date.now();
    if (this.ctx.hooks.messageDeadLettered.isUsed()) this.ctx.hooks.messageDeadLettered.call({ message, reason, attempts, at });
    const dlq = this.options.deadLetterTopic;
    if (message.topic === dlq || message.topic.startsWith(`${dlq}.`) || !this.nc || this.nc.isClosed()) return;
    const headers: Record<string, string> = { ...message.headers, 'x-dead-letter-reason': reason, 'x-dead-letter-attempts': String(attempts), 'x-original-id': message.id };
    if (message.topic) headers['x-original-topic'] = message.topic;
    if (message.agentId) headers['x-original-agent'] = message.agentId;
    if (message.service) headers['x-original-service'] = message.service;
    const letter: MessageEnvelope = { ...message, topic: dlq, agentId: '', service: '', versionRange: '', durable: false, headers, createdAt: at };
    this.nc.publish(`${this.p}.t.${dlq}`, encodeEnvelope(letter));
  }

  private drop(message: MessageEnvelope, reason: string): void {
    this.metrics.dropped.inc({ reason });
    if (this.ctx.hooks.messageDropped.isUsed()) this.ctx.hooks.messageDropped.call(message, reason);
  }

  // ---- housekeeping ------------------------------------------------------------------------

  private tick(now: number): void {
    this.dedupe.sweep(now);
    if (this.stranded.size > 0) this.rehomeDue(now);
    this.inbox.sweep(now);
    this.interest.expire(now, this.options.interestIntervalMs * 3);
    this.publishInterest(false);
  }

  /** Subscription changes reach the other gateways within ~20 ms, coalesced. */
  private scheduleInterest(): void {
    if (this.interestTimer) return;
    this.interestTimer = setTimeout(() => {
      this.interestTimer = undefined;
      this.publishInterest(false);
    }, 20);
    this.interestTimer.unref();
  }

  /** Sends our snapshot when it changed (at most once per tick) or the interval elapsed. */
  private publishInterest(force: boolean): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    const now = Date.now();
    if (!force && this.sentInterestVersion === this.interest.localVersion && now - this.lastInterestAt < this.options.interestIntervalMs) return;
    this.sentInterestVersion = this.interest.localVersion;
    this.lastInterestAt = now;
    nc.publish(`${this.p}.interest`, this.interest.snapshot());
  }

  private async followConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.ctx.logger.warn({ server: status.data }, 'router lost NATS; reconnecting with backoff');
      else if (status.type === 'reconnect') {
        this.ctx.logger.info({ server: status.data }, 'router reconnected to NATS');
        this.publishInterest(true);
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
