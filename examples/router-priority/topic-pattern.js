'use strict';
/**
 * Topic patterns: dot-separated tokens where `*` matches one token and `>` (last only) one or more.
 * Patterns are split once when subscribed, so matching a topic walks tokens without a regex.
 */
const { invalidArgument } = require('openclaw-gateway');

const MAX_PATTERN_LENGTH = 256;
const BAD_TOKEN = /[\s]/;

/**
 * Checks a subscription pattern and returns its tokens.
 * @param {string} pattern
 * @param {string} field request field to name in the error
 * @returns {string[]}
 */
function parsePattern(pattern, field) {
  if (typeof pattern !== 'string' || pattern === '') throw invalidArgument(field, 'is required');
  if (pattern.length > MAX_PATTERN_LENGTH) throw invalidArgument(field, `is longer than ${MAX_PATTERN_LENGTH} characters`);
  const tokens = pattern.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '' || BAD_TOKEN.test(token)) throw invalidArgument(field, `"${pattern}" has an empty token or whitespace`);
    if (token === '>' && i !== tokens.length - 1) throw invalidArgument(field, `"${pattern}": \`>\` may only be the last token`);
    if (token !== '*' && token !== '>' && /[*>]/.test(token)) throw invalidArgument(field, `"${pattern}": wildcards must be whole tokens`);
  }
  return tokens;
}

/**
 * @param {readonly string[]} patternTokens
 * @param {readonly string[]} topicTokens
 */
function matchesTokens(patternTokens, topicTokens) {
  for (let i = 0; i < patternTokens.length; i++) {
    const want = patternTokens[i];
    if (want === '>') return topicTokens.length > i;
    if (i >= topicTokens.length) return false;
    if (want !== '*' && want !== topicTokens[i]) return false;
  }
  return patternTokens.length === topicTokens.length;
}

/**
 * A bounded cache: when full, the oldest entry is forgotten (Map keeps insertion order).
 * @template V
 */
class BoundedCache {
  /** @param {number} capacity */
  constructor(capacity) {
    this.capacity = capacity;
    /** @type {Map<string, V>} */
    this.entries = new Map();
  }
  /** @param {string} key */
  get(key) {
    return this.entries.get(key);
  }
  /** @param {string} key @param {V} value */
  set(key, value) {
    if (this.capacity === 0) return;
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value);
    this.entries.set(key, value);
  }
  clear() {
    this.entries.clear();
  }
}

module.exports = { parsePattern, matchesTokens, BoundedCache };
