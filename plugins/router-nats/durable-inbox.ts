/**
 * At-least-once inboxes on JetStream. Every agent's durable messages live in one work-queue stream
 * (`<prefix>_inbox`, subject `<prefix>.d.i.<agent token>`, file storage); the gateway holding the
 * agent's inbox session pulls them through a durable consumer named after the agent, so whichever
 * gateway the agent connects to next picks up what is pending. JetStream does the bookkeeping:
 * unacked messages come back after `ackTimeoutMs` (also when the gateway that held them died),
 * `nak(delay)` gives backoff, `working()` extends, `Nats-Msg-Id` dedupes within the window.
 * This module adds the contract's parts: delivery tags unique per attempt, stale-tag detection,
 * attempt limits and dead letters, and a bound on what this gateway holds unacked.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type ConsumerMessages,
  type ConsumerStatus,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type JsMsg,
  type PubAck,
  type StoredMsg,
  type Subscription,
} from 'nats';
import { gatewayError, TagSecrets, type AckItem, type AckOutcome, type Delivery, type MessageEnvelope } from '../../kernel';
import { decodeEnvelope, encodeEnvelope } from './envelope-codec';
import type { NatsRouterOptions } from './schema';
import { ensureConsumer, ensureStream, openJetStreamManager, type RetryContext } from '../../support/nats/jetstream-ensure';
import type { Session } from './session';
import { agentToken } from '../../support/nats/subjects';

/** Checks (and waits) between attempts to recreate a consumer deleted under a live session, doubling. */
const RECREATE_CHECK_MS = 100;
const RECREATE_ATTEMPTS = 6;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** JetStream announces every consumer leader election on this subject + `.<stream>.<consumer>`. */
const LEADER_ELECTED = '$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED';

/** Why a session's pull was sent again (label of `openclaw_router_nats_durable_repulls_total`). */
export type RepullReason = 'leader-elected' | 'leadership-change' | 'heartbeats-missed';

/**
 * nats.js re-sends a consume()'s pull only on its own triggers (missed heartbeats, reconnect);
 * with `bind: true` this method does it blind (no consumer info, no backoff). It is not in the
 * exported types, so it is looked up and, if a nats.js upgrade dropped it, the caller replaces the
 * whole pull instead.
 */
interface ResettablePull {
  resetPending?: () => Promise<boolean>;
}

/** nats.js implements direct get on its JetStreamManager but leaves it out of the exported type. */
interface DirectGet {
  direct: { getMessage(stream: string, query: { seq: number; next_by_subj: string }): Promise<StoredMsg> };
}

interface Held {
  msg: JsMsg;
  message: MessageEnvelope;
  session: Session;
  attempt: number;
  extensions: number;
  /** When JetStream will have given up on this attempt (moved by in-progress acks). */
  deadline: number;
}

export interface InboxHost {
  deliver(session: Session, delivery: Delivery): boolean;
  deadLetter(message: MessageEnvelope, reason: string, attempts: number): void;
  limitReached(limit: string, policy: string, detail: string): void;
  redelivered(): void;
  consumerError(agentId: string, error: unknown): void;
  /** A session's pull was sent again after a JetStream leader change (or a silent pull). */
  repulled(reason: RepullReason): void;
  /** Something an operator should fix (logged once). */
  warn(message: string, details: Record<string, unknown>): void;
  /** A JetStream creation attempt failed and will be retried (jetstreamSetup). */
  setupRetry(info: { operation: string; attempt: number; delayMs: number; error: string }): void;
}

/** One durable consumer a session pulls from. */
export interface ConsumerSpec {
  stream: string;
  name: string;
  filterSubject: string;
  /** Reported as `Delivery.subscription`; undefined derives it from the message (`inbox`/`service:x`). */
  subscription?: string;
  /** The consumer is deleted by JetStream after this long without a puller. */
  inactiveMs: number;
}

export class DurableInbox {
  readonly stream: string;
  /** Durable topic messages: interest retention, kept until every subscription's consumer acked. */
  readonly topicStream: string;
  private readonly held = new Map<string, Held>();
  /** `consumer/sequence` → tag of its newest delivery here (one topic message reaches many consumers). */
  private readonly current = new Map<string, string>();
  private readonly secrets = new TagSecrets();
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  /** `<stream>.<consumer>` → what re-pulls each live session's consume() of it (removed when it stops). */
  private readonly repullers = new Map<string, Set<(reason: RepullReason) => void>>();
  private leaderWatches: Subscription[] = [];

  constructor(
    private readonly options: NatsRouterOptions,
    private readonly bootId: string,
    private readonly host: InboxHost,
  ) {
    this.stream = `${options.prefix}_inbox`;
    this.topicStream = `${options.prefix}_topics`;
  }

  topicSubject(topic: string): string {
    return `${this.options.prefix}.d.t.${topic}`;
  }

  get unacked(): number {
    return this.held.size;
  }

  subject(agentId: string): string {
    return `${this.options.prefix}.d.i.${agentToken(agentId)}`;
  }

  private setup?: RetryContext;

  async start(nc: NatsConnection): Promise<void> {
    this.setup = { nc, options: this.options.jetstreamSetup, onRetry: (info) => this.host.setupRetry(info) };
    const jsm = await openJetStreamManager(this.setup);
    this.js = nc.jetstream();
    this.jsm = jsm;
    const { durable, offlineInbox, dedupe, prefix } = this.options;
    const common = {
      storage: durable.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: durable.replicas,
      max_age: nanos(offlineInbox.maxAgeMs),
      max_bytes: durable.maxBytes,
      duplicate_window: nanos(dedupe.windowMs),
    };
    await ensureStream(this.setup, jsm, {
      ...common,
      name: this.stream,
      subjects: [`${prefix}.d.i.>`],
      retention: RetentionPolicy.Workqueue,
      max_msgs_per_subject: offlineInbox.maxMessages,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
      // Re-homing reads a departed agent's messages by subject; a work-queue stream allows no
      // second consumer on a subject its agent consumer already filters.
      allow_direct: true,
    });
    await ensureStream(this.setup, jsm, {
      ...common,
      name: this.topicStream,
      subjects: [`${prefix}.d.t.>`],
      retention: RetentionPolicy.Interest,
      discard: DiscardPolicy.New,
    });
    // A pull waits at the consumer's leader; a new leader knows nothing of it, and nats.js does not
    // pull again when told (it waits for missed heartbeats). The election advisory names the
    // consumer: its sessions here pull again at once. One subscription per durable stream.
    this.leaderWatches = [this.stream, this.topicStream].map((stream) =>
      nc.subscribe(`${LEADER_ELECTED}.${stream}.*`, {
        callback: (error, msg) => {
          if (error) return;
          const key = msg.subject.slice(LEADER_ELECTED.length + 1);
          for (const repull of this.repullers.get(key) ?? []) repull('leader-elected');
        },
      }),
    );
    if (durable.replicas === 1 && nc.info?.cluster !== undefined)
      this.host.warn(
        'durable.replicas is 1 on a NATS cluster: the durable streams live on one node, and while it is down durable sends fail and deliveries stop; set durable.replicas: 3',
        { cluster: nc.info.cluster, streams: [this.stream, this.topicStream] },
      );
  }

  stop(): void {
    for (const watch of this.leaderWatches.splice(0)) watch.unsubscribe();
  }

  /** Stores a durable topic message for every subscription consumer whose filter matches. */
  publishTopic(message: MessageEnvelope, clientId: boolean): Promise<PubAck> {
    return this.js!.publish(this.topicSubject(message.topic), encodeEnvelope(message), clientId ? { msgID: message.id } : undefined);
  }

  /** Removes a consumer (an anonymous session's, or an explicit unsubscribe). */
  async deleteConsumer(stream: string, name: string): Promise<void> {
    await this.jsm?.consumers.delete(stream, name).catch(() => undefined);
  }

  /** Stores a message for an agent; resolves once JetStream acknowledged (stored) it. */
  publish(agentId: string, message: MessageEnvelope, clientId: boolean): Promise<PubAck> {
    return this.js!.publish(this.subject(agentId), encodeEnvelope(message), clientId ? { msgID: message.id } : undefined);
  }

  /**
   * Moves the service messages waiting in a departed agent's inbox to other instances of their
   * service: each is stored for the instance `pick` names, then deleted here. Messages sent to the
   * agent's own id stay. The copy carries `Nats-Msg-Id` `rehome:<stream>:<seq>`, so gateways
   * re-homing the same inbox at once store it once; a crash between copy and delete can deliver a
   * message twice (at-least-once), never lose it. Scans at most `offlineInbox.maxMessages`. Attempt
   * counts start again for moved messages and for direct ones when the agent returns.
   */
  async rehome(
    agentId: string,
    pick: (message: MessageEnvelope) => string | undefined,
    stillGone: () => boolean,
  ): Promise<{ moved: number; left: number }> {
    const subject = this.subject(agentId);
    // The departed agent's consumer goes first: JetStream (2.9) may deliver a message again as a
    // first attempt when messages its consumer holds nak'ed are deleted under it. The agent's direct
    // messages stay in the stream; a new consumer (deliver all) picks them up if it comes back.
    await this.deleteConsumer(this.stream, `i_${agentToken(agentId)}`);
    let moved = 0;
    let left = 0;
    let seq = 1;
    for (let scanned = 0; scanned < this.options.offlineInbox.maxMessages; scanned++) {
      // A long pass: the agent may be back (its new consumer then takes what is left).
      if (scanned % 50 === 49 && !stillGone()) break;
      let stored: StoredMsg;
      try {
        stored = await (this.jsm as JetStreamManager & DirectGet).direct.getMessage(this.stream, { seq, next_by_subj: subject });
      } catch (error) {
        if (isNoMessage(error)) break;
        throw error;
      }
      seq = stored.seq + 1;
      let message: MessageEnvelope;
      try {
        message = decodeEnvelope(stored.data).message;
      } catch {
        continue;
      }
      if (!message.service || message.agentId) continue;
      const to = pick(message);
      if (to === undefined || to === agentId) {
        left++;
        continue;
      }
      try {
        await this.js!.publish(this.subject(to), stored.data, { msgID: `rehome:${this.stream}:${stored.seq}` });
      } catch {
        // The other inbox is full or JetStream refused: it stays here for the next pass.
        left++;
        continue;
      }
      const deleted = await this.jsm!.streams.deleteMessage(this.stream, stored.seq, false).catch(() => false);
      // Not deleted: left for the next pass, whose copy the msg id then dedupes.
      if (deleted) moved++;
      else left++;
    }
    return { moved, left };
  }

  /** Starts pulling an agent's pending messages into a session; returns what stops it. */
  open(session: Session, agentId: string): Promise<() => void> {
    return this.consume(session, {
      stream: this.stream,
      name: `i_${agentToken(agentId)}`,
      filterSubject: this.subject(agentId),
      inactiveMs: this.options.offlineInbox.maxAgeMs,
    });
  }

  /**
   * Creates (or binds) a durable consumer and pulls it into a session; returns what stops it.
   *
   * A consumer can vanish under a live session: an operator, its inactivity threshold, or a
   * re-homing pass on a gateway that took this one for lost. nats.js then reports
   * `consumer_deleted` but does not pull again soon, so the session recreates the consumer and
   * pulls afresh instead of stalling until the agent reconnects.
   */
  async consume(session: Session, spec: ConsumerSpec): Promise<() => void> {
    const { maxInFlightPerReceiver, pullHeartbeatMs } = this.options.durable;
    let current: ConsumerMessages | undefined;
    let consumer: Consumer | undefined;
    let stopped = false;
    let checkingGone = false;
    const pull = async (messages: ConsumerMessages) => {
      try {
        for await (const msg of messages) {
          if (session.isClosed) {
            msg.nak();
            continue;
          }
          this.receive(session, msg, spec.subscription);
        }
      } catch (error) {
        if (!session.isClosed && !stopped && current === messages) this.host.consumerError(spec.name, error);
      }
    };
    // `bind`: nats.js then re-pulls blind on missed heartbeats and reconnects. Without it, it first
    // asks for the consumer's info, which fails while JetStream elects a leader, and then waits
    // 15-45 s (its 30 s `expires`, jittered) before it tries again. Deletion is noticed here (below).
    const open = (from: Consumer) => from.consume({ max_messages: maxInFlightPerReceiver, idle_heartbeat: pullHeartbeatMs, bind: true });
    const begin = (messages: ConsumerMessages) => {
      current = messages;
      void pull(messages);
      void watch(messages);
    };
    const gone = async (messages: ConsumerMessages) => {
      current = undefined;
      void messages.close();
      await recreate();
    };
    const repull = (reason: RepullReason) => {
      const messages = current;
      if (!messages || stopped || session.isClosed) return;
      this.host.repulled(reason);
      const reset = (messages as unknown as ResettablePull).resetPending;
      if (typeof reset === 'function') {
        void reset.call(messages).catch(() => undefined);
        return;
      }
      // No blind reset in this nats.js: a fresh pull replaces the old one.
      void open(consumer!).then(
        (fresh) => {
          if (stopped || session.isClosed || current !== messages) return void fresh.close();
          begin(fresh);
          void messages.close();
        },
        () => undefined,
      );
    };
    // No responder for a pull: no leader yet (an election, nothing to do) or no consumer any more.
    const checkGone = async (messages: ConsumerMessages) => {
      if (checkingGone) return;
      checkingGone = true;
      try {
        await this.jsm!.consumers.info(spec.stream, spec.name);
      } catch (error) {
        if (isConsumerNotFound(error) && !stopped && !session.isClosed && current === messages) await gone(messages);
      } finally {
        checkingGone = false;
      }
    };
    const onStatus = async (messages: ConsumerMessages, status: ConsumerStatus) => {
      switch (status.type) {
        case 'consumer_deleted':
        case 'consumer_not_found':
          return gone(messages);
        case 'no_responders':
          // Not awaited: during an election the info call waits for its timeout.
          void checkGone(messages);
          return;
        case 'heartbeats_missed':
          // nats.js has already pulled again (bind); counted, as the pull sat on a dead leader.
          return this.host.repulled('heartbeats-missed');
        case 'debug':
          // The leader that held the pull stepped down (409): pull again, nats.js does not.
          if (/leadership change/i.test(String(status.data))) repull('leadership-change');
      }
    };
    const watch = async (messages: ConsumerMessages) => {
      try {
        for await (const status of await messages.status()) {
          if (stopped || session.isClosed || current !== messages) return;
          await onStatus(messages, status);
        }
      } catch {
        // The status iterator ends with the messages.
      }
    };
    const key = `${spec.stream}.${spec.name}`;
    const start = async () => {
      await this.addConsumer(spec);
      consumer = await this.js!.consumers.get(spec.stream, spec.name);
      const messages = await open(consumer);
      if (stopped || session.isClosed) {
        void messages.close();
        return;
      }
      begin(messages);
    };
    // A re-add can race the deletion it answers (and find the dying consumer): checked, retried.
    const recreate = async () => {
      for (let attempt = 0; attempt < RECREATE_ATTEMPTS; attempt++) {
        await delay(RECREATE_CHECK_MS * 2 ** attempt);
        if (stopped || session.isClosed) return;
        try {
          await start();
          await delay(RECREATE_CHECK_MS);
          if (stopped || session.isClosed || current === undefined) return;
          await this.jsm!.consumers.info(spec.stream, spec.name);
          return;
        } catch {
          const stale = current;
          current = undefined;
          void stale?.close();
        }
      }
      // Without a consumer the session would wait for nothing: the agent reconnects and opens anew.
      this.host.consumerError(spec.name, new Error(`consumer ${spec.name} could not be recreated after ${RECREATE_ATTEMPTS} attempts`));
      if (!stopped && !session.isClosed)
        session.fail(
          gatewayError('GW_UNAVAILABLE', `the durable inbox consumer ${spec.name} was deleted and could not be recreated; reconnect`),
          'inbox-unavailable',
        );
    };
    await start();
    let repullers = this.repullers.get(key);
    if (!repullers) this.repullers.set(key, (repullers = new Set()));
    repullers.add(repull);
    return () => {
      stopped = true;
      void current?.close();
      current = undefined;
      repullers.delete(repull);
      if (repullers.size === 0 && this.repullers.get(key) === repullers) this.repullers.delete(key);
    };
  }

  private async addConsumer(spec: ConsumerSpec): Promise<void> {
    const { durable } = this.options;
    await ensureConsumer(this.setup!, this.jsm!, spec.stream, {
      durable_name: spec.name,
      filter_subject: spec.filterSubject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(durable.ackTimeoutMs),
      max_ack_pending: durable.maxInFlightPerReceiver,
      max_deliver: -1,
      inactive_threshold: nanos(spec.inactiveMs),
    });
  }

  /**
   * `mayAck` says whether the caller may settle a delivery made to `receiver`; when it says no, the
   * answer is `unknown`, the same as for a tag that never existed.
   */
  ack(item: AckItem, mayAck?: (receiver: Session) => boolean): AckOutcome['result'] {
    const held = this.held.get(item.deliveryTag);
    if (!held) return this.isOurs(item.deliveryTag) ? 'stale' : 'unknown';
    if (mayAck !== undefined && !mayAck(held.session)) return 'unknown';
    if (item.kind === 'ack') {
      this.settle(item.deliveryTag, held);
      held.msg.ack();
      return 'acked';
    }
    if (item.kind === 'in-progress') {
      if (held.extensions >= this.options.durable.maxExtensions) {
        this.host.limitReached('router.durable.maxExtensions', 'ignore', item.deliveryTag);
        return 'stale';
      }
      held.extensions++;
      held.deadline = Date.now() + this.options.durable.ackTimeoutMs;
      held.msg.working();
      return 'extended';
    }
    this.settle(item.deliveryTag, held);
    this.retry(held, item.reason ? `nack: ${item.reason}` : 'nack', false);
    return 'requeued';
  }

  /** The session ended: what it held goes back to JetStream at once (for its next session). */
  sessionClosed(session: Session): void {
    for (const tag of session.unacked) {
      const held = this.held.get(tag);
      if (!held) continue;
      this.settle(tag, held);
      held.msg.nak();
    }
    session.unacked.clear();
  }

  /** Forgets attempts JetStream has already given up on (their tags are stale from now on). */
  sweep(now: number): void {
    for (const [tag, held] of this.held) if (now > held.deadline) this.settle(tag, held);
  }

  private receive(session: Session, msg: JsMsg, subscription: string | undefined): void {
    const { durable } = this.options;
    let message: MessageEnvelope;
    try {
      message = decodeEnvelope(msg.data).message;
    } catch {
      msg.term();
      return;
    }
    const attempt = msg.info.deliveryCount;
    if (attempt > durable.maxAttempts) {
      // Timed out on its last attempt (JetStream redelivered it): attempts are used up.
      this.host.limitReached('router.durable.maxAttempts', 'dead-letter', `${msg.info.stream}#${msg.seq}`);
      this.host.deadLetter(message, 'ack-timeout', attempt - 1);
      msg.ack();
      return;
    }
    const now = Date.now();
    const ttl = message.ttlMs;
    if (ttl > 0 && now - message.createdAt > ttl) {
      this.host.deadLetter(message, 'expired', attempt - 1);
      msg.ack();
      return;
    }
    if (this.held.size >= durable.maxUnacked) {
      this.host.limitReached('router.durable.maxUnacked', 'delay', `${this.held.size} unacked here`);
      msg.nak(durable.backoffBaseMs || 100);
      return;
    }
    if (attempt > 1) this.host.redelivered();
    const key = attemptKey(msg);
    const previous = this.current.get(key);
    if (previous) this.held.delete(previous);
    // The random suffix makes tags unguessable: only the receiver can name its delivery.
    const tag = `${this.bootId}.${msg.seq}.${attempt}.${this.secrets.next()}`;
    this.current.set(key, tag);
    const held: Held = { msg, message, session, attempt, extensions: 0, deadline: now + durable.ackTimeoutMs };
    this.held.set(tag, held);
    session.unacked.add(tag);
    const delivered = this.host.deliver(session, {
      message,
      deliveryTag: tag,
      attempt,
      subscription: subscription ?? (message.service ? `service:${message.service}` : 'inbox'),
      ackDeadline: now + durable.ackTimeoutMs,
    });
    if (!delivered) {
      // Dropped by the session's overflow policy: let JetStream try again after a pause.
      this.settle(tag, held);
      msg.nak(durable.backoffBaseMs || 100);
    }
  }

  private retry(held: Held, reason: string, immediately: boolean): void {
    const { durable } = this.options;
    if (held.attempt >= durable.maxAttempts) {
      this.host.limitReached('router.durable.maxAttempts', 'dead-letter', `${held.msg.info.stream}#${held.msg.seq}`);
      this.host.deadLetter(held.message, reason, held.attempt);
      held.msg.ack();
      return;
    }
    const delay = immediately ? 0 : Math.min(durable.backoffMaxMs, durable.backoffBaseMs * 2 ** (held.attempt - 1));
    held.msg.nak(delay);
  }

  private settle(tag: string, held: Held): void {
    this.held.delete(tag);
    held.session.unacked.delete(tag);
    const key = attemptKey(held.msg);
    if (this.current.get(key) === tag) this.current.delete(key);
  }

  private isOurs(tag: string): boolean {
    return tag.startsWith(`${this.bootId}.`);
  }
}

function isConsumerNotFound(error: unknown): boolean {
  const { api_error, message } = error as { api_error?: { err_code?: number }; message?: unknown };
  return api_error?.err_code === 10014 || /consumer not found/i.test(String(message));
}

/** Direct get answers 404 when no message matches. */
function isNoMessage(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '404' || code === 404 || /no message found|not found/i.test(String(message));
}

function attemptKey(msg: JsMsg): string {
  return `${msg.info.stream}/${msg.info.consumer}/${msg.seq}`;
}
