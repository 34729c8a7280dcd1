/**
 * The agents whose inbox session is on this gateway: one session per agent (a newer one takes
 * over), reached on the agent's inbox and cancel subjects for at-most-once messages and through its
 * durable inbox consumer for durable ones. Bounded by the router's sessions.
 */
import type { Logger } from 'pino';
import type { NatsConnection } from 'nats';
import { gatewayError, type MessageEnvelope, type OutboundEvent } from '../../kernel';
import { agentToken } from '../../support/nats/subjects';
import type { DurableInbox } from './durable-inbox';
import { decodeEnvelope } from './envelope-codec';
import type { RouterMetrics } from './router-metrics';
import type { Session } from './session';

/** What the inbox sessions need from the router. */
export interface InboxSessionHost {
  readonly prefix: string;
  readonly inbox: Pick<DurableInbox, 'open' | 'sessionClosed'>;
  readonly logger: Logger;
  readonly metrics: Pick<RouterMetrics, 'natsErrors'>;
  connection(): NatsConnection;
  push(session: Session, event: OutboundEvent): boolean;
}

export class InboxSessions {
  private readonly inboxes = new Map<string, Session>();

  constructor(private readonly host: InboxSessionHost) {}

  has(agentId: string): boolean {
    return this.inboxes.has(agentId);
  }

  get(agentId: string): Session | undefined {
    return this.inboxes.get(agentId);
  }

  /** Forgets `session` as its agent's inbox, unless a newer session took over. */
  closed(session: Session): void {
    if (session.agentId && this.inboxes.get(session.agentId) === session) this.inboxes.delete(session.agentId);
  }

  /** Makes `session` the agent's inbox here: its subjects and its durable inbox consumer. */
  open(session: Session, agentId: string): void {
    const previous = this.inboxes.get(agentId);
    if (previous && previous !== session) {
      previous.teardown?.();
      previous.teardown = undefined;
      this.host.inbox.sessionClosed(previous);
    }
    this.inboxes.set(agentId, session);
    const nc = this.host.connection();
    const token = agentToken(agentId);
    const subs = [
      nc.subscribe(`${this.host.prefix}.i.${token}`, { callback: (err, msg) => !err && this.onInbox(session, msg.data) }),
      nc.subscribe(`${this.host.prefix}.c.${token}`, { callback: (err, msg) => !err && this.onCancel(session, msg.data) }),
    ];
    let stopConsumer: (() => void) | undefined;
    let closed = false;
    session.teardown = () => {
      closed = true;
      for (const sub of subs) sub.unsubscribe();
      stopConsumer?.();
    };
    this.host.inbox.open(session, agentId).then(
      (stop) => {
        if (closed) stop();
        else stopConsumer = stop;
      },
      (error: unknown) => {
        this.host.metrics.natsErrors.inc();
        this.host.logger.error({ err: error, agentId }, 'could not open the durable inbox consumer');
        if (!closed)
          session.fail(
            gatewayError('GW_UNAVAILABLE', `the durable inbox of "${agentId}" could not be opened; reconnect`),
            'inbox-unavailable',
          );
      },
    );
  }

  private onInbox(session: Session, data: Uint8Array): void {
    let message: MessageEnvelope;
    try {
      message = decodeEnvelope(data).message;
    } catch {
      return;
    }
    this.host.push(session, {
      kind: 'delivery',
      delivery: {
        message,
        deliveryTag: '',
        attempt: 1,
        subscription: message.service ? `service:${message.service}` : 'inbox',
        ackDeadline: 0,
      },
    });
  }

  private onCancel(session: Session, data: Uint8Array): void {
    let cancel: { correlationId?: unknown; reason?: unknown };
    try {
      cancel = JSON.parse(new TextDecoder().decode(data)) as typeof cancel;
    } catch {
      return;
    }
    if (typeof cancel.correlationId !== 'string') return;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a peer gateway's reason, bounded by the NATS message
    session.push({ kind: 'cancel', correlationId: cancel.correlationId, reason: String(cancel.reason ?? 'cancelled') });
  }
}
