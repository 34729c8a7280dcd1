/**
 * What every router checks on a message before routing it, in one place so all routers refuse the
 * same messages with the same field paths and words: exactly one target, a well-formed topic,
 * bounded ids, a parseable version range, bytes within `maxPayloadBytes`, no negative counters.
 */
import semver from 'semver';
import { gatewayError, invalidArgument, type GatewayError } from '../errors';
import type { MessageEnvelope } from './message';
import { REPLY_TOPIC_PREFIX, type RequestOptions } from './router';
import { checkTopic, type TopicLimits } from './topics';

/** Longest agent id, service name or client message id a router accepts. */
export const MAX_ENVELOPE_ID_LENGTH = 256;

export interface EnvelopeLimits {
  topics: TopicLimits;
  maxPayloadBytes: number;
}

/** Returns an error naming the offending `field.*`, or undefined when `message` may be routed. */
export function checkEnvelope(message: MessageEnvelope, field: string, limits: EnvelopeLimits): GatewayError | undefined {
  if (!message || typeof message !== 'object') return invalidArgument(field, 'must be a message');
  const targets = (message.topic ? 1 : 0) + (message.agentId ? 1 : 0) + (message.service ? 1 : 0);
  if (targets !== 1) return invalidArgument(`${field}.topic`, 'exactly one of topic, agentId or service must be set');
  if (message.topic) {
    const error = checkTopic(message.topic, `${field}.topic`, limits.topics);
    if (error) return error;
  }
  const maxId = MAX_ENVELOPE_ID_LENGTH;
  if (message.agentId && message.agentId.length > maxId) return invalidArgument(`${field}.agentId`, `is longer than ${maxId} characters`);
  if (message.service && message.service.length > maxId) return invalidArgument(`${field}.service`, `is longer than ${maxId} characters`);
  if (message.versionRange) {
    if (!message.service) return invalidArgument(`${field}.versionRange`, 'only applies to service targets');
    if (semver.validRange(message.versionRange) === null)
      return invalidArgument(`${field}.versionRange`, `"${message.versionRange}" is not a semver range`);
  }
  if (message.id && message.id.length > maxId) return invalidArgument(`${field}.id`, `is longer than ${maxId} characters`);
  if (!(message.payload instanceof Uint8Array)) return invalidArgument(`${field}.payload`, 'must be bytes');
  if (message.payload.length > limits.maxPayloadBytes) {
    return invalidArgument(`${field}.payload`, `is ${message.payload.length} bytes; the limit is ${limits.maxPayloadBytes}`);
  }
  if (message.ttlMs < 0 || message.maxHops < 0 || message.hops < 0)
    return invalidArgument(`${field}.ttlMs`, 'ttlMs, hops and maxHops must not be negative');
  return undefined;
}

/** `topic "x"`, `agent "y"` or `service "z"`, for error messages. */
export function describeTarget(message: MessageEnvelope): string {
  if (message.topic) return `topic "${message.topic}"`;
  if (message.agentId) return `agent "${message.agentId}"`;
  return `service "${message.service}"`;
}

/** The envelope field that names the message's target. */
export function targetField(message: MessageEnvelope): string {
  return message.topic ? 'topic' : message.agentId ? 'agentId' : 'service';
}

/**
 * What every router checks before it routes a request (after `checkEnvelope`): not to a reply
 * topic, room among the pending requests (`maxPendingRequests`, reported as
 * `router.maxPendingRequests` before refusing), a deadline still ahead, not already cancelled.
 */
export function admitRequest(
  message: MessageEnvelope,
  options: RequestOptions,
  pending: { readonly full: boolean; readonly size: number; readonly maxPending: number },
  limitReached: (limit: string, policy: string, detail: string) => void,
): void {
  if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) throw invalidArgument('message.topic', 'a request cannot be sent to a reply topic');
  if (pending.full) {
    limitReached('router.maxPendingRequests', 'reject', `${pending.size} requests pending`);
    throw gatewayError('GW_RESOURCE_EXHAUSTED', `too many requests waiting for replies (${pending.maxPending}); retry later`);
  }
  if (!(options.deadline > Date.now())) throw gatewayError('GW_DEADLINE_EXCEEDED', 'the request deadline has already passed');
  if (options.signal?.aborted) throw gatewayError('GW_CANCELLED', 'the request was cancelled by the client');
}
