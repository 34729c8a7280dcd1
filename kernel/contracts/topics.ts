/**
 * Topic and pattern rules shared by every router: topics are dot-separated tokens; patterns may
 * use `*` (exactly one token) and `>` (one or more trailing tokens). The syntax is NATS's, so a
 * valid topic is usable as a subject as is. Checked once at the boundary so tries, interest maps
 * and the hot path can assume well-formed input.
 */
import { invalidArgument, type GatewayError } from '../errors';
import { REPLY_TOPIC_PREFIX } from './router';

export interface TopicLimits {
  maxLength: number;
  maxDepth: number;
}

/** Characters that would make a token ambiguous in logs, configs or NATS bridges. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this must find
const FORBIDDEN = /[\s\u0000]/;

/** Returns an error naming `field`, or undefined when `topic` is a valid concrete topic. */
export function checkTopic(topic: string, field: string, limits: TopicLimits): GatewayError | undefined {
  return check(topic, field, limits, false);
}

/** Returns an error naming `field`, or undefined when `pattern` is a valid subscription pattern. */
export function checkPattern(pattern: string, field: string, limits: TopicLimits): GatewayError | undefined {
  const error = check(pattern, field, limits, true);
  if (error) return error;
  // Replies are routed by correlation, never by subscription: nobody may listen in on them.
  if (pattern.startsWith(REPLY_TOPIC_PREFIX)) {
    return invalidArgument(field, `"${REPLY_TOPIC_PREFIX}" topics are reserved for replies and cannot be subscribed to`);
  }
  return undefined;
}

function check(value: string, field: string, limits: TopicLimits, wildcards: boolean): GatewayError | undefined {
  if (typeof value !== 'string' || value.length === 0) return invalidArgument(field, 'must be a non-empty topic like "orders.created"');
  if (value.length > limits.maxLength) {
    return invalidArgument(field, `is ${value.length} characters long; the limit is ${limits.maxLength}`);
  }
  if (FORBIDDEN.test(value)) return invalidArgument(field, `"${value}" contains whitespace or NUL`);
  // One pass over char codes: no token strings are allocated for a valid topic (the hot path).
  let depth = 1;
  let tokenStart = 0;
  let wildcard = 0; // char code of a wildcard seen in the current token, 0 if none
  for (let i = 0; i <= value.length; i++) {
    const code = i < value.length ? value.charCodeAt(i) : 46;
    if (code === 42 /* * */ || code === 62 /* > */) {
      if (!wildcards) return invalidArgument(field, `"${value}": wildcards "*" and ">" are only allowed in subscriptions`);
      wildcard = code;
      continue;
    }
    if (code !== 46 /* . */) continue;
    const tokenLength = i - tokenStart;
    if (tokenLength === 0) return invalidArgument(field, `"${value}" has an empty token (leading, trailing or double dot)`);
    if (wildcard !== 0) {
      if (tokenLength !== 1) {
        return invalidArgument(field, `"${value}": a wildcard must be a whole token, got "${value.slice(tokenStart, i)}"`);
      }
      if (wildcard === 62 && i !== value.length) return invalidArgument(field, `"${value}": ">" must be the last token`);
    }
    wildcard = 0;
    tokenStart = i + 1;
    if (i < value.length) depth++;
  }
  if (depth > limits.maxDepth) return invalidArgument(field, `"${value}" has ${depth} tokens; the limit is ${limits.maxDepth}`);
  return undefined;
}

/**
 * True when `topic` matches `pattern`, both split into tokens. For routers that match against a
 * few patterns at a time (interest snapshots); a router matching many keeps a trie.
 */
export function topicMatches(pattern: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token === '>') return topic.length > i;
    if (i >= topic.length) return false;
    if (token !== '*' && token !== topic[i]) return false;
  }
  return pattern.length === topic.length;
}
