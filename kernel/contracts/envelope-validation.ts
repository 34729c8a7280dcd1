/**
 * What every router checks on a message before routing it, in one place so all routers refuse the
 * same messages with the same field paths and words: exactly one target, a well-formed topic,
 * bounded ids, a parseable version range, bytes within `maxPayloadBytes`, no negative counters.
 */
import semver from 'semver';
import { invalidArgument, type GatewayError } from '../errors';
import type { MessageEnvelope } from './message';
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
    if (semver.validRange(message.versionRange) === null) return invalidArgument(`${field}.versionRange`, `"${message.versionRange}" is not a semver range`);
  }
  if (message.id && message.id.length > maxId) return invalidArgument(`${field}.id`, `is longer than ${maxId} characters`);
  if (!(message.payload instanceof Uint8Array)) return invalidArgument(`${field}.payload`, 'must be bytes');
  if (message.payload.length > limits.maxPayloadBytes) {
    return invalidArgument(`${field}.payload`, `is ${message.payload.length} bytes; the limit is ${limits.maxPayloadBytes}`);
  }
  if (message.ttlMs < 0 || message.maxHops < 0 || message.hops < 0) return invalidArgument(`${field}.ttlMs`, 'ttlMs, hops and maxHops must not be negative');
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
