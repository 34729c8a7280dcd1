/**
 * Options of the transport-grpc plugin. The kernel validates them against `transportGrpcSchema`
 * (applying defaults) before setup, so the plugin relies on every field being present.
 */

import type { QuotaOptions } from './identity-quotas';

export type ListenAddress = { host: string; port: number } | { socket: string };

export interface TransportGrpcOptions {
  /** Where to listen; several listeners at once (TCP and Unix sockets). */
  listen: ListenAddress[];
  /** File mode applied to Unix sockets after binding (octal string, e.g. `0660`). */
  socketMode: string;
  keepalive: {
    /** Server pings an idle connection after this long. */
    timeMs: number;
    /** Connection is dropped when a ping is not answered within this. */
    timeoutMs: number;
    /** Pings on an idle connection (no open stream, no stream activity since the previous ping) closer together than this are strikes (docs/transport.md). */
    minClientPingIntervalMs: number;
    /** More strikes in a row than this and the connection gets GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"); 0 turns policing off. */
    maxPingStrikes: number;
  };
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes: number;
  /** HTTP/2 concurrent streams per connection. */
  maxConcurrentStreams: number;
  /** Compression the server offers for responses; clients choose for requests. */
  compression: 'identity' | 'gzip' | 'deflate';
  /** Live Subscribe streams across all connections; more are refused with RESOURCE_EXHAUSTED. */
  maxSubscribeStreams: number;
  /** Topics in one SubscribeRequest. */
  maxTopicsPerSubscribe: number;
  /** Messages in one PublishBatch / PublishStream batch. */
  maxBatchMessages: number;
  /** Registry events buffered per stream while the client is slow; beyond it the oldest are dropped. */
  maxRegistryEventsQueued: number;
  /** PublishStream batches in flight per stream before the transport stops reading from it. */
  maxPublishInFlight: number;
  /** Request RPCs without a client deadline wait at most this long. */
  defaultRequestTimeoutMs: number;
  /** Serve `grpc.health.v1.Health`. */
  health: boolean;
  /** Serve gRPC server reflection (v1 and v1alpha). */
  reflection: boolean;
  /** Per-identity and per-peer quotas (see identity-quotas.ts and docs/auth.md). */
  quotas: QuotaOptions;
}

const listenSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['host', 'port'],
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    {
      type: 'object',
      required: ['socket'],
      additionalProperties: false,
      properties: { socket: { type: 'string', minLength: 1, maxLength: 100 } },
    },
  ],
};

export const transportGrpcSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: { type: 'array', minItems: 1, maxItems: 16, items: listenSchema, default: [{ host: '127.0.0.1', port: 7400 }] },
    socketMode: { type: 'string', pattern: '^0?[0-7]{3}$', default: '0660' },
    keepalive: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        timeMs: { type: 'integer', minimum: 1000, default: 30_000 },
        timeoutMs: { type: 'integer', minimum: 100, default: 10_000 },
        minClientPingIntervalMs: { type: 'integer', minimum: 0, default: 10_000 },
        maxPingStrikes: { type: 'integer', minimum: 0, default: 2 },
      },
    },
    maxMessageBytes: { type: 'integer', minimum: 1024, maximum: 2 ** 31 - 1, default: 4 * 1024 * 1024 },
    maxConcurrentStreams: { type: 'integer', minimum: 1, default: 1000 },
    compression: { enum: ['identity', 'gzip', 'deflate'], default: 'identity' },
    maxSubscribeStreams: { type: 'integer', minimum: 1, default: 10_000 },
    maxTopicsPerSubscribe: { type: 'integer', minimum: 1, default: 256 },
    maxBatchMessages: { type: 'integer', minimum: 1, default: 1000 },
    maxRegistryEventsQueued: { type: 'integer', minimum: 1, default: 1000 },
    maxPublishInFlight: { type: 'integer', minimum: 1, default: 16 },
    defaultRequestTimeoutMs: { type: 'integer', minimum: 1, default: 30_000 },
    health: { type: 'boolean', default: true },
    reflection: { type: 'boolean', default: true },
    quotas: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        agentsPerIdentity: { type: 'integer', minimum: 1, default: 1000 },
        subscriptionsPerIdentity: { type: 'integer', minimum: 1, default: 10_000 },
        streamsPerIdentity: { type: 'integer', minimum: 1, default: 1000 },
        publishRate: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            // 0 turns the rate limit off.
            messagesPerSecond: { type: 'integer', minimum: 0, default: 100_000 },
            burst: { type: 'integer', minimum: 1, default: 200_000 },
          },
        },
        // 0 turns the limit off.
        connectionsPerPeer: { type: 'integer', minimum: 0, default: 1000 },
        maxTrackedIdentities: { type: 'integer', minimum: 1, default: 100_000 },
      },
    },
  },
} as const;
