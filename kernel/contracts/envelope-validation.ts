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

/**
 * The last topic found valid and the limits it met: a batch repeats one topic, and comparing two
 * equal strings costs less than scanning one.
 */
let validTopic = '';
let validTopicLimits: TopicLimits | undefined;

/**
 * Returns an error naming the offending `field.*` (`field[index].*` when an index is given, for a
 * batch), or undefined when `message` may be routed. Field names are only built for an error: this
 * runs for every routed message.
 */
export function checkEnvelope(message: MessageEnvelope, field: string, limits: EnvelopeLimits, index = -1): GatewayError | undefined {
  if (!message || typeof message !== 'object') return invalidArgument(at(field, index), 'must be a message');
  const targets = (message.topic ? 1 : 0) + (message.agentId ? 1 : 0) + (message.service ? 1 : 0);
  if (targets !== 1) return invalidArgument(`${at(field, index)}.topic`, 'exactly one of topic, agentId or service must be set');
  // Checked against a fixed name first; only a refusal is checked again to get its field name.
  const topic = message.topic;
  if (topic && (topic !== validTopic || limits.topics !== validTopicLimits)) {
    if (checkTopic(topic, 'topic', limits.topics) !== undefined) return checkTopic(topic, `${at(field, index)}.topic`, limits.topics);
    validTopic = topic;
    validTopicLimits = limits.topics;
  }
  const maxId = MAX_ENVELOPE_ID_LENGTH;
  if (message.agentId && message.agentId.length > maxId)
    return invalidArgument(`${at(field, index)}.agentId`, `is longer than ${maxId} characters`);
  if (message.service && message.service.length > maxId)
    return invalidArgument(`${at(field, index)}.service`, `is longer than ${maxId} characters`);
  if (message.versionRange) {
    if (!message.service) return invalidArgument(`${at(field, index)}.versionRange`, 'only applies to service targets');
    if (semver.validRange(message.versionRange) === null)
      return invalidArgument(`${at(field, index)}.versionRange`, `"${message.versionRange}" is not a semver range`);
  }
  if (message.id && message.id.length > maxId) return invalidArgument(`${at(field, index)}.id`, `is longer than ${maxId} characters`);
  if (!(message.payload instanceof Uint8Array)) return invalidArgument(`${at(field, index)}.payload`, 'must be bytes');
  if (message.payload.length > limits.maxPayloadBytes) {
    return invalidArgument(`${at(field, index)}.payload`, `is ${message.payload.length} bytes; the limit is ${limits.maxPayloadBytes}`);
  }
  if (message.ttlMs < 0 || message.maxHops < 0 || message.hops < 0)
    return invalidArgument(`${at(field, index)}.ttlMs`, 'ttlMs, hops and maxHops must not be negative');
  return undefined;
}

/** `messages[3]` for a batch's message, `message` for a single one. */
function at(field: string, index: number): string {
  return index < 0 ? field : `${field}[${index}]`;
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
