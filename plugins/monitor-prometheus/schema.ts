/**
 * Options of the monitor-prometheus plugin. The kernel validates them against `monitorSchema`
 * (applying the defaults) before setup, so the plugin code can rely on every field being present.
 */

export type AnomalyRuleType = 'error-rate' | 'p99-latency' | 'missed-renewals' | 'rss-growth' | 'restart-rate';
export type AnomalyAction = 'degrade' | 'restart' | 'alert';

export interface AnomalyRuleOptions {
  /** Name reported in the anomaly event and the `rule` metric label; defaults to the type. */
  name?: string;
  type: AnomalyRuleType;
  /**
   * Fires when the observed value is >= threshold. Units by type: error-rate a ratio 0..1,
   * p99-latency seconds, missed-renewals a count, rss-growth bytes, restart-rate a count.
   */
  threshold: number;
  windowMs: number;
  /** Ratio rules (error-rate, p99-latency) stay quiet until the window holds this many samples. */
  minSamples: number;
  action: AnomalyAction;
}

export interface MonitorOptions {
  host: string;
  port: number;
  /** Largest number of simultaneous HTTP connections to the monitor port. */
  maxConnections: number;
  /** Log every completed RPC at debug level (method, code, duration and whatever ids the transport reports). */
  accessLog: boolean;
  metrics: {
    /** Distinct values kept per free-text label (drop reasons, auth failure reasons); the rest become `other`. */
    maxLabelValues: number;
    rpcBuckets: number[];
  };
  dashboard: {
    enabled: boolean;
    /** How often rates are computed and live updates pushed. */
    updateIntervalMs: number;
    /** Points kept for the throughput chart. */
    historyPoints: number;
    /** Recent events kept for the dashboard and `/api/events`. */
    maxEvents: number;
    /** Topics/services whose rates are tracked; beyond it traffic is counted under `(other)`. */
    maxTrackedTargets: number;
    /** Simultaneous live-update (SSE) clients; more are refused with 503. */
    maxStreamClients: number;
    /** A live-update client whose unsent output exceeds this is disconnected (slow consumer). */
    maxStreamBufferBytes: number;
    /** Agents sent per live update and returned by `/api/agents` at most. */
    maxAgentRows: number;
  };
  anomaly: {
    enabled: boolean;
    evaluateIntervalMs: number;
    /** Agents with live windows; the least recently active one is forgotten beyond it. */
    maxTrackedAgents: number;
    /** Samples kept per agent and signal (a ring): the newest win when traffic is heavy. */
    samplesPerAgent: number;
    /** Requests awaiting a reply, tracked to measure per-agent latency. */
    maxPendingRequests: number;
    /** A rule does not fire again for the same agent within this time. */
    cooldownMs: number;
    /** Agent tag naming the agent's local process id, read from /proc for the rss-growth rule. */
    pidTag: string;
    rules: AnomalyRuleOptions[];
  };
  tracing: {
    /** Add a W3C `traceparent` to messages without one and give each gateway hop its own span id. */
    propagate: boolean;
    /** OpenTelemetry span export; `none` loads no OpenTelemetry code at all. */
    exporter: 'none' | 'console' | 'otlp-http';
    /** OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
    otlpUrl: string;
    serviceName: string;
    /** An export attempt (retries included) that takes longer is abandoned and counted as failed. */
    exportTimeoutMs: number;
    /** Hop spans open at once (accepted, not yet delivered); the oldest is ended beyond it. */
    maxOpenSpans: number;
    /** A hop span with no delivery after this long is ended as `undelivered`. */
    spanTimeoutMs: number;
  };
}

const positiveInteger = (defaultValue: number, maximum = 1_000_000_000) => ({
  type: 'integer',
  minimum: 1,
  maximum,
  default: defaultValue,
});

export const DEFAULT_ANOMALY_RULES: AnomalyRuleOptions[] = [
  { type: 'error-rate', threshold: 0.5, windowMs: 60_000, minSamples: 20, action: 'degrade' },
  { type: 'p99-latency', threshold: 5, windowMs: 60_000, minSamples: 20, action: 'degrade' },
  { type: 'missed-renewals', threshold: 3, windowMs: 300_000, minSamples: 1, action: 'restart' },
  { type: 'rss-growth', threshold: 512 * 1024 * 1024, windowMs: 600_000, minSamples: 2, action: 'alert' },
  { type: 'restart-rate', threshold: 5, windowMs: 600_000, minSamples: 1, action: 'alert' },
];

export const monitorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 9464 },
    maxConnections: positiveInteger(256, 100_000),
    accessLog: { type: 'boolean', default: false },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxLabelValues: positiveInteger(32, 1000),
        rpcBuckets: {
          type: 'array',
          minItems: 1,
          items: { type: 'number', exclusiveMinimum: 0 },
          default: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        },
      },
    },
    dashboard: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        updateIntervalMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 1000 },
        historyPoints: positiveInteger(120, 10_000),
        maxEvents: positiveInteger(200, 100_000),
        maxTrackedTargets: positiveInteger(200, 100_000),
        maxStreamClients: positiveInteger(32, 10_000),
        maxStreamBufferBytes: positiveInteger(1024 * 1024),
        maxAgentRows: positiveInteger(500, 100_000),
      },
    },
    anomaly: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        evaluateIntervalMs: { type: 'integer', minimum: 50, maximum: 3_600_000, default: 1000 },
        maxTrackedAgents: positiveInteger(1000, 1_000_000),
        samplesPerAgent: positiveInteger(256, 65_536),
        maxPendingRequests: positiveInteger(10_000, 10_000_000),
        cooldownMs: { type: 'integer', minimum: 0, default: 60_000 },
        pidTag: { type: 'string', minLength: 1, default: 'pid' },
        rules: {
          type: 'array',
          maxItems: 64,
          default: DEFAULT_ANOMALY_RULES,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'threshold'],
            properties: {
              name: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$' },
              type: { enum: ['error-rate', 'p99-latency', 'missed-renewals', 'rss-growth', 'restart-rate'] },
              threshold: { type: 'number', exclusiveMinimum: 0 },
              windowMs: { type: 'integer', minimum: 100, default: 60_000 },
              minSamples: { type: 'integer', minimum: 1, default: 1 },
              action: { enum: ['degrade', 'restart', 'alert'], default: 'alert' },
            },
          },
        },
      },
    },
    tracing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        propagate: { type: 'boolean', default: true },
        exporter: { enum: ['none', 'console', 'otlp-http'], default: 'none' },
        otlpUrl: { type: 'string', format: 'uri', default: 'http://127.0.0.1:4318/v1/traces' },
        serviceName: { type: 'string', minLength: 1, default: 'openclaw-gateway' },
        exportTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 10_000 },
        maxOpenSpans: positiveInteger(10_000, 10_000_000),
        spanTimeoutMs: positiveInteger(30_000),
      },
    },
  },
} as const;
