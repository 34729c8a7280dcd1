/**
 * router-nats's topic subscriptions: every plain subscription of a pattern on this gateway shares
 * one NATS subscription (its sessions fan out locally); a queue-group member gets its own queue
 * subscription, so NATS picks the member whichever gateway it is on. With `durableTopics`, each
 * subscription also pulls its durable consumer on the topic stream. Interest (for receiver counts)
 * follows every change.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { NatsConnection, Subscription } from 'nats';
import { admitSubscription, subscriptionKey, type SubscriptionSpec } from '../../kernel';
import type { DurableInbox } from './durable-inbox';
import type { InterestMap } from './interest-map';
import type { RouterMetrics } from './router-metrics';
import type { NatsRouterOptions } from './schema';
import type { Session } from './session';

interface PatternSubscription {
  sub: Subscription;
  sessions: Session[];
}

/** What the subscriptions need from the router. */
export interface SubscriptionHost {
  readonly options: NatsRouterOptions;
  readonly prefix: string;
  readonly inbox: Pick<DurableInbox, 'consume' | 'deleteConsumer' | 'topicStream' | 'topicSubject'>;
  readonly interest: Pick<InterestMap, 'add' | 'remove'>;
  readonly logger: Logger;
  readonly metrics: Pick<RouterMetrics, 'natsErrors'>;
  connection(): NatsConnection;
  scheduleInterest(): void;
  onTopic(data: Uint8Array, pattern: string, sessions: readonly Session[]): void;
  limitReached(limit: string, policy: string, detail: string): void;
}

export class TopicSubscriptions {
  private readonly patterns = new Map<string, PatternSubscription>();

  constructor(private readonly host: SubscriptionHost) {}

  subscribe(session: Session, spec: SubscriptionSpec): void {
    const admitted = admitSubscription(session, spec, this.host.options, (limit, policy, detail) =>
      this.host.limitReached(limit, policy, detail),
    );
    if (!admitted) return;
    const { key, group } = admitted;
    const nc = this.host.connection();
    const subject = `${this.host.prefix}.t.${spec.pattern}`;
    const pattern = spec.pattern;
    const stopDurable = this.host.options.durableTopics ? this.consumeTopic(session, pattern, group) : undefined;
    if (group) {
      // One queue subscription per member: NATS picks the member, whichever gateway it is on.
      const sub = nc.subscribe(subject, { queue: group, callback: (err, msg) => !err && this.host.onTopic(msg.data, pattern, [session]) });
      this.host.interest.add(pattern, group);
      this.host.scheduleInterest();
      session.subscriptions.set(key, (explicit) => {
        sub.unsubscribe();
        stopDurable?.(explicit);
        this.host.interest.remove(pattern, group);
        this.host.scheduleInterest();
      });
      return;
    }
    let shared = this.patterns.get(pattern);
    if (!shared) {
      const sessions: Session[] = [];
      const sub = nc.subscribe(subject, { callback: (err, msg) => !err && this.host.onTopic(msg.data, pattern, sessions) });
      shared = { sub, sessions };
      this.patterns.set(pattern, shared);
    }
    shared.sessions.push(session);
    this.host.interest.add(pattern);
    this.host.scheduleInterest();
    session.subscriptions.set(key, (explicit) => {
      stopDurable?.(explicit);
      const current = this.patterns.get(pattern);
      if (!current) return;
      const index = current.sessions.indexOf(session);
      if (index >= 0) current.sessions.splice(index, 1);
      this.host.interest.remove(pattern);
      this.host.scheduleInterest();
      if (current.sessions.length === 0) {
        current.sub.unsubscribe();
        this.patterns.delete(pattern);
      }
    });
  }

  unsubscribe(session: Session, pattern: string, queueGroup?: string): void {
    const key = subscriptionKey(pattern, queueGroup);
    const teardown = session.subscriptions.get(key);
    if (!teardown) return;
    session.subscriptions.delete(key);
    teardown(true);
  }

  /**
   * The subscription's durable consumer on the topic stream: per queue group (shared by members on
   * every gateway), per agent and pattern (kept while the agent is away, like its inbox), or per
   * anonymous session (deleted with it). Returns what stops pulling.
   */
  private consumeTopic(session: Session, pattern: string, group: string | undefined): (explicit: boolean) => void {
    const kind = group ? 'g' : session.agentId ? 'a' : 's';
    const owner = group
      ? `${pattern}\u0000${group}`
      : session.agentId
        ? `${session.agentId}\u0000${pattern}`
        : `${session.id}\u0000${pattern}`;
    const name = `${kind}_${createHash('sha1').update(owner).digest('hex').slice(0, 24)}`;
    const stream = this.host.inbox.topicStream;
    let stop: (() => void) | undefined;
    let stopped = false;
    this.host.inbox
      .consume(session, {
        stream,
        name,
        filterSubject: this.host.inbox.topicSubject(pattern),
        subscription: pattern,
        // An anonymous session cannot come back: its consumer goes soon after it is gone.
        inactiveMs: kind === 's' ? Math.max(5_000, this.host.options.durable.ackTimeoutMs) : this.host.options.offlineInbox.maxAgeMs,
      })
      .then(
        (stopConsumer) => (stopped ? stopConsumer() : (stop = stopConsumer)),
        (error: unknown) => {
          this.host.metrics.natsErrors.inc();
          this.host.logger.warn(
            { err: error, pattern, group },
            'could not open a durable topic consumer; durable topic messages will not reach this subscription',
          );
        },
      );
    return (explicit) => {
      stopped = true;
      stop?.();
      // A queue group's consumer may serve members elsewhere; JetStream drops it once idle.
      if (kind === 's' || (kind === 'a' && explicit)) void this.host.inbox.deleteConsumer(stream, name);
    };
  }
}
