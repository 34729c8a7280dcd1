import type { SandboxProfile } from '../../kernel';

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface RestartOptions {
  /** `always`: restart whatever the exit status; `on-failure`: not after exit code 0; `never`. */
  policy: RestartPolicy;
  /** First delay after a crash; small so a fast agent is routable again within a second. */
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Fraction (0..1) of the delay added or removed at random, so replicas do not restart in step. */
  jitter: number;
  /** A process that ran this long before it failed starts again from `initialDelayMs`. */
  resetAfterMs: number;
  /** `maxRestarts` restarts within `windowMs` → quarantined (terminated, no more restarts). */
  crashLoop: { maxRestarts: number; windowMs: number };
}

export interface HealthOptions {
  /** From spawn to registered + first probe answered; a slower start is killed and counts as a failure. */
  readinessTimeoutMs: number;
  /** How often a readiness probe is resent while the agent starts. */
  readinessPollMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Consecutive unanswered probes before the agent is restarted (the first one degrades it). */
  failureThreshold: number;
  /** Resident memory of the agent's processes (VmRSS); 0 turns the check off. */
  maxRssBytes: number;
  rssCheckIntervalMs: number;
  /** What an RSS over the limit does after degrading the agent. */
  rssAction: 'degrade' | 'restart';
}

export interface LogOptions {
  /** Longer lines are cut here (and marked truncated). */
  maxLineBytes: number;
  /** Lines per second per instance (stdout and stderr together); the rest is dropped and counted. */
  maxLinesPerSecond: number;
}

export interface AgentSpecOptions {
  id: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  version: string;
  /** Service the instances implement; the spec id when left out. */
  service?: string;
  replicas: number;
  tags: Record<string, string>;
  capabilities: string[];
  sandbox: SandboxProfile;
  restart: RestartOptions;
  health: HealthOptions;
  /** SIGTERM → this long → SIGKILL. */
  stopTimeoutMs: number;
  logs: LogOptions;
}

export interface SupervisorOptions {
  agents: AgentSpecOptions[];
  /** Managed instances at once, all specs together (rolling upgrades need one spare per step). */
  maxInstances: number;
  /** Gateway Unix socket given to agents; by default the first transport's socket. */
  gatewaySocket?: string;
}

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
const stringMap = { type: 'object', additionalProperties: { type: 'string' }, default: {} } as const;

const agentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'command'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 100, pattern: ID_PATTERN },
    command: { type: 'string', minLength: 1 },
    args: { type: 'array', items: { type: 'string' }, default: [] },
    env: stringMap,
    cwd: { type: 'string', minLength: 1 },
    version: { type: 'string', minLength: 1, default: '0.0.0' },
    service: { type: 'string', minLength: 1, maxLength: 128 },
    replicas: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
    tags: stringMap,
    capabilities: { type: 'array', items: { type: 'string' }, default: [] },
    sandbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        readOnlyPaths: { type: 'array', items: { type: 'string' }, default: [] },
        readWritePaths: { type: 'array', items: { type: 'string' }, default: [] },
        network: { type: 'boolean', default: false },
        envAllowList: { type: 'array', items: { type: 'string' }, default: ['PATH', 'LANG', 'TZ'] },
        limits: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            memoryBytes: { type: 'integer', minimum: 1 },
            cpuSeconds: { type: 'integer', minimum: 1 },
            openFiles: { type: 'integer', minimum: 1 },
            processes: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    restart: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        policy: { enum: ['always', 'on-failure', 'never'], default: 'always' },
        initialDelayMs: { type: 'integer', minimum: 0, default: 100 },
        maxDelayMs: { type: 'integer', minimum: 0, default: 30000 },
        multiplier: { type: 'number', minimum: 1, default: 2 },
        jitter: { type: 'number', minimum: 0, maximum: 1, default: 0.2 },
        resetAfterMs: { type: 'integer', minimum: 0, default: 30000 },
        crashLoop: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            maxRestarts: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
            windowMs: { type: 'integer', minimum: 1, default: 60000 },
          },
        },
      },
    },
    health: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        readinessTimeoutMs: { type: 'integer', minimum: 100, default: 15000 },
        readinessPollMs: { type: 'integer', minimum: 5, default: 25 },
        probeIntervalMs: { type: 'integer', minimum: 10, default: 5000 },
        probeTimeoutMs: { type: 'integer', minimum: 10, default: 2000 },
        failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
        maxRssBytes: { type: 'integer', minimum: 0, default: 0 },
        rssCheckIntervalMs: { type: 'integer', minimum: 50, default: 2000 },
        rssAction: { enum: ['degrade', 'restart'], default: 'restart' },
      },
    },
    stopTimeoutMs: { type: 'integer', minimum: 0, default: 5000 },
    logs: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxLineBytes: { type: 'integer', minimum: 16, maximum: 1048576, default: 4096 },
        maxLinesPerSecond: { type: 'integer', minimum: 1, default: 200 },
      },
    },
  },
} as const;

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agents: { type: 'array', items: agentSchema, default: [] },
    maxInstances: { type: 'integer', minimum: 1, maximum: 10000, default: 64 },
    gatewaySocket: { type: 'string', minLength: 1 },
  },
} as const;
