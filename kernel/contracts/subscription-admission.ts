/**
 * How every router admits a subscription to a session, so all routers refuse the same patterns
 * and queue groups with the same words and apply the per-session limit the same way.
 */
import { gatewayError, invalidArgument } from '../errors';
import type { SubscriptionSpec } from './router';
import { checkPattern, type TopicLimits } from './topics';

/** Queue group names: short, and safe as a NATS queue name and in logs. */
export const QUEUE_GROUP_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A session's key for one subscription (pattern and group). */
export function subscriptionKey(pattern: string, queueGroup: string | undefined): string {
  return `${pattern}\u0000${queueGroup || ''}`;
}

export interface AdmittedSubscription {
  key: string;
  /** The queue group, undefined for a plain subscription. */
  group: string | undefined;
}

/**
 * Validates `spec` for `session` and applies `maxSubscriptionsPerSession` (reporting
 * `router.maxSubscriptionsPerSession` through `limitReached` before refusing). Throws a
 * GatewayError; returns undefined when the session already holds this subscription.
 */
export function admitSubscription(
  session: {
    readonly id: string;
    readonly isClosed: boolean;
    readonly subscriptions: { has(key: string): boolean; readonly size: number };
  },
  spec: SubscriptionSpec,
  limits: { topics: TopicLimits; maxSubscriptionsPerSession: number },
  limitReached: (limit: string, policy: string, detail: string) => void,
): AdmittedSubscription | undefined {
  const error = checkPattern(spec.pattern, 'pattern', limits.topics);
  if (error) throw error;
  if (spec.queueGroup !== undefined && spec.queueGroup !== '' && !QUEUE_GROUP_NAME.test(spec.queueGroup)) {
    throw invalidArgument('queueGroup', 'must be 1-128 characters of letters, digits, "_", "-", ".", ":"');
  }
  if (session.isClosed) throw gatewayError('GW_FAILED_PRECONDITION', 'the session is closed');
  const group = spec.queueGroup || undefined;
  const key = subscriptionKey(spec.pattern, group);
  if (session.subscriptions.has(key)) return undefined;
  if (session.subscriptions.size >= limits.maxSubscriptionsPerSession) {
    limitReached('router.maxSubscriptionsPerSession', 'reject', session.id);
    throw gatewayError('GW_RESOURCE_EXHAUSTED', `a session may hold at most ${limits.maxSubscriptionsPerSession} subscriptions`, {
      field: 'pattern',
    });
  }
  return { key, group };
}
