'use strict';
/**
 * JSON schema of the plugin's options. The gateway validates the options against it (and fills the
 * defaults) before `setup` runs, so the code below never re-checks them.
 */
const PRIORITIES = ['high', 'normal', 'low'];

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    lanes: {
      description: 'Priority per topic pattern (`*` one token, `>` the rest); the first matching entry wins.',
      type: 'array',
      maxItems: 1000,
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['pattern', 'priority'],
        properties: {
          pattern: { type: 'string', minLength: 1, maxLength: 256 },
          priority: { enum: PRIORITIES },
        },
      },
    },
    defaultPriority: { enum: PRIORITIES, default: 'normal' },
    priorityHeader: {
      description: 'Header a publisher may set to `high`, `normal` or `low` to override the lane; empty disables it.',
      type: 'string',
      pattern: '^[a-z0-9-]*$',
      default: 'x-priority',
    },
    maxQueuedPerSession: { type: 'integer', minimum: 1, maximum: 1000000, default: 1024 },
    maxBatch: { type: 'integer', minimum: 1, maximum: 4096, default: 64 },
    maxSessions: { type: 'integer', minimum: 1, default: 10000 },
    maxSubscriptionsPerSession: { type: 'integer', minimum: 1, default: 1000 },
    maxPendingRequests: { type: 'integer', minimum: 1, default: 10000 },
    maxHops: { type: 'integer', minimum: 1, maximum: 255, default: 16 },
    matchCacheSize: { type: 'integer', minimum: 0, default: 4096 },
    dedupe: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        windowMs: { type: 'integer', minimum: 0, default: 600000 },
        maxEntries: { type: 'integer', minimum: 0, default: 100000 },
      },
    },
    durable: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ackTimeoutMs: { type: 'integer', minimum: 10, default: 30000 },
        maxAttempts: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
        maxUnacked: { type: 'integer', minimum: 1, default: 100000 },
        maxOfflinePerAgent: { type: 'integer', minimum: 0, default: 1000 },
        maxOfflineAgents: { type: 'integer', minimum: 0, default: 10000 },
      },
    },
    deadLetterTopic: { type: 'string', minLength: 1, default: '_DLQ' },
  },
};

module.exports = { schema, PRIORITIES };
