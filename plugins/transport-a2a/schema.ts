/**
 * Options of the transport-a2a plugin. The kernel validates them against `transportA2aSchema`
 * (applying defaults) before setup, so the plugin relies on every field being present.
 */

export interface RemoteAgentOption {
  /** The remote agent's card, e.g. `https://agents.example.com/.well-known/agent-card.json`. */
  cardUrl: string;
  /** Service name the remote agent is registered under; gRPC agents `Request` it. */
  service: string;
  /** Headers sent with every call to it (e.g. `authorization`). */
  headers: Record<string, string>;
}

export interface TransportA2aOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Base URL written into agent cards when the gateway sits behind a proxy, e.g. `https://a2a.example.com`. */
  publicUrl?: string;
  /** Serve the A2A gRPC binding (A2AService) on the gateway's gRPC listener. */
  grpc: boolean;
  /** Serve HTTPS with the TLS material of the auth plugin (`auth.serverTls()`). */
  tls: boolean;
  /** Name and URL of the organisation in every card's `provider`. */
  provider: { organization: string; url: string };
  /** Largest JSON-RPC request body, in bytes; larger ones get HTTP 413. */
  maxBodyBytes: number;
  /** Calls handled at once per identity; more get HTTP 429 / GW_RESOURCE_EXHAUSTED. */
  maxRequestsPerIdentity: number;
  /** Open SSE streams (SendStreamingMessage, SubscribeToTask) across all callers. */
  maxStreams: number;
  /** Open SSE streams per identity. */
  maxStreamsPerIdentity: number;
  tasks: {
    /** Tasks kept in the store; beyond it the oldest finished ones are removed, and new tasks are refused when none is finished. */
    maxTasks: number;
    /** Finished tasks are removed this long after their last update. */
    retentionMs: number;
    /** Messages kept per task history; older ones are dropped first. */
    maxHistory: number;
  };
  /** Push notifications (webhooks), delivered at least once from a durable outbox. */
  push: {
    enabled: boolean;
    maxPending: number;
    maxConfigsPerTask: number;
    maxAttempts: number;
    initialBackoffMs: number;
    maxBackoffMs: number;
    maxInFlight: number;
    timeoutMs: number;
    /** Allow webhook URLs on loopback, private and link-local addresses (off: they are refused). */
    allowPrivateNetworks: boolean;
  };
  /** How long the gateway waits for an agent's answer to one A2A message. */
  requestTimeoutMs: number;
  /** Cards list at most this many agents (GET /agents, GET /services). */
  maxCatalogue: number;
  /** `Cache-Control: max-age` of cards and catalogues, in seconds. */
  cardMaxAgeSeconds: number;
  /** External A2A agents made reachable as registry services. */
  remoteAgents: RemoteAgentOption[];
}

export const transportA2aSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 7401 },
    publicUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
    tls: { type: 'boolean', default: false },
    grpc: { type: 'boolean', default: true },
    provider: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        organization: { type: 'string', maxLength: 256, default: 'OpenClaw Gateway' },
        url: { type: 'string', maxLength: 1024, default: '' },
      },
    },
    maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 },
    maxRequestsPerIdentity: { type: 'integer', minimum: 1, default: 64 },
    maxStreams: { type: 'integer', minimum: 1, default: 1000 },
    maxStreamsPerIdentity: { type: 'integer', minimum: 1, default: 32 },
    tasks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxTasks: { type: 'integer', minimum: 1, default: 100_000 },
        retentionMs: { type: 'integer', minimum: 1000, default: 7 * 24 * 3600 * 1000 },
        maxHistory: { type: 'integer', minimum: 2, maximum: 10_000, default: 100 },
      },
    },
    push: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        maxPending: { type: 'integer', minimum: 1, default: 10_000 },
        maxConfigsPerTask: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
        maxAttempts: { type: 'integer', minimum: 1, default: 10 },
        initialBackoffMs: { type: 'integer', minimum: 1, default: 1000 },
        maxBackoffMs: { type: 'integer', minimum: 1, default: 300_000 },
        maxInFlight: { type: 'integer', minimum: 1, default: 16 },
        timeoutMs: { type: 'integer', minimum: 100, default: 10_000 },
        allowPrivateNetworks: { type: 'boolean', default: false },
      },
    },
    requestTimeoutMs: { type: 'integer', minimum: 1, default: 120_000 },
    maxCatalogue: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
    cardMaxAgeSeconds: { type: 'integer', minimum: 0, default: 10 },
    remoteAgents: {
      type: 'array',
      maxItems: 256,
      default: [],
      items: {
        type: 'object',
        required: ['cardUrl', 'service'],
        additionalProperties: false,
        properties: {
          cardUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
          service: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 128 },
          headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
        },
      },
    },
  },
} as const;
