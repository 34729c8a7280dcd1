/**
 * One subscriber session (one Subscribe stream) of the NATS router: the kernel's shared
 * QueuedSession, the same local delivery as the embedded router's (bounded queue drained into the
 * sink, overflow policy, unacked durable deliveries), keeping for each subscription what tears it
 * down (`explicit`: unsubscribed, not disconnected).
 */
import { QueuedSession, type QueuedSessionHost } from '../../kernel';

export type SessionHost = QueuedSessionHost;

export class Session extends QueuedSession<(explicit: boolean) => void> {
  /** Set by the router: stops the session's inbox consumers. */
  teardown?: () => void;
}
