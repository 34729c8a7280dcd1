/**
 * One subscriber session (one Subscribe stream) of the embedded router: the kernel's shared
 * QueuedSession (subscriptions, bounded queue, unacked durable deliveries redelivered at once
 * when it closes, publisher backpressure), keeping each subscription's spec.
 */
import { QueuedSession, type QueuedSessionHost, type SubscriptionSpec } from '../../kernel';

export type { QueueSettings } from '../../kernel';

/** What a session needs from its router; keeps the session free of routing logic. */
export type SessionHost = QueuedSessionHost;

export class Session extends QueuedSession<SubscriptionSpec> {}
