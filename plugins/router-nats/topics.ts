/**
 * Topic and pattern rules (dot-separated tokens; `*` one token, `>` the rest) and matching. Our
 * syntax is NATS's, so a valid topic is used as a subject as is; matching here is only needed to
 * count receivers from interest snapshots.
 */
import { invalidArgument, REPLY_TOPIC_PREFIX, type GatewayError } from '../../kernel';

export interface TopicLimits {
  maxLength: number;
  maxDepth: number;
}

const FORBIDDEN = /[\s\u0000]/;

export function checkTopic(topic: string, field: string, limits: TopicLimits): GatewayError | undefined {
  return check(topic, field, limits, false);
}

export function checkPattern(pattern: string, field: string, limits: TopicLimits): GatewayError | undefined {
  const error = check(pattern, field, limits, true);
  if (error) return error;
  if (pattern.startsWith(REPLY_TOPIC_PREFIX)) return invalidArgument(field, `"${REPLY_TOPIC_PREFIX}" topics are reserved for replies and cannot be subscribed to`);
  return undefined;
}

function check(value: string, field: string, limits: TopicLimits, wildcards: boolean): GatewayError | undefined {
  if (typeof value !== 'string' || value.length === 0) return invalidArgument(field, 'must be a non-empty topic like "orders.created"');
  if (value.length > limits.maxLength) return invalidArgument(field, `is ${value.length} characters long; the limit is ${limits.maxLength}`);
  if (FORBIDDEN.test(value)) return invalidArgument(field, `"${value}" contains whitespace or NUL`);
  const tokens = value.split('.');
  if (tokens.length > limits.maxDepth) return invalidArgument(field, `"${value}" has ${tokens.length} tokens; the limit is ${limits.maxDepth}`);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.length === 0) return invalidArgument(field, `"${value}" has an empty token (leading, trailing or double dot)`);
    if (token.includes('*') || token.includes('>')) {
      if (!wildcards) return invalidArgument(field, `"${value}": wildcards "*" and ">" are only allowed in subscriptions`);
      if (token.length !== 1) return invalidArgument(field, `"${value}": a wildcard must be a whole token, got "${token}"`);
      if (token === '>' && i !== tokens.length - 1) return invalidArgument(field, `"${value}": ">" must be the last token`);
    }
  }
  return undefined;
}

/** True when `topic` (split in tokens) matches `pattern` (split in tokens). */
export function matches(pattern: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i]!;
    if (token === '>') return topic.length > i;
    if (i >= topic.length) return false;
    if (token !== '*' && token !== topic[i]) return false;
  }
  return pattern.length === topic.length;
}

/**
 * Subject-safe token for an agent id (ids may hold `.` and `:`): base64url, which NATS subjects,
 * consumer names and queue names all accept.
 */
export function agentToken(agentId: string): string {
  return Buffer.from(agentId, 'utf8').toString('base64url');
}
