/**
 * Options of the `auth-standard` plugin. Paths are relative to the config file's folder.
 * Without `mtls` and `jwt` the plugin runs in open mode (loopback listeners only).
 */
import type { AuthAction } from '../../kernel';

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface MtlsOptions {
  certFile: string;
  keyFile: string;
  /** CA bundle that client certificates must chain to. */
  caFile: string;
  requireClientCert: boolean;
  /** `spiffe`: exactly one URI SAN in `trustDomain`. `dns`: exactly one DNS SAN (explicit opt-in). */
  identityMode: 'spiffe' | 'dns';
  trustDomain?: string;
  /** Verified leaf certificates remembered (by fingerprint) to skip re-parsing. */
  cacheMaxEntries: number;
}

export interface JwtOptions {
  jwksFile?: string;
  jwksUrl?: string;
  algorithms: JwtAlgorithm[];
  issuer: string | string[];
  audience: string | string[];
  clockToleranceSec: number;
  /** Claim naming the identity (`sub` by default). */
  identityClaim: string;
  /** Verified tokens remembered until their `exp`, LRU beyond this many. */
  cacheMaxEntries: number;
  /** Minimum time between two key-set reloads (an unknown `kid` never causes more). */
  jwksCooldownMs: number;
  /** Key sets are re-read this often even without an unknown `kid` (rotation that removes keys). */
  jwksRefreshIntervalMs: number;
  jwksTimeoutMs: number;
  jwksMaxBytes: number;
}

export interface FailureLimitOptions {
  /** Failed authentications from one peer address within `windowMs` that trigger a lockout. */
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Peer addresses tracked at once; the oldest entry is dropped beyond it. */
  maxPeers: number;
}

export interface AuthStandardOptions {
  mtls?: MtlsOptions;
  jwt?: JwtOptions;
  /** Policy file (JSON), watched and swapped live. */
  policyFile?: string;
  /** Inline policy, used when there is no policy file. */
  policy?: Record<string, unknown>;
  /** Write policies pushed by the admin RPC to `policyFile` so they survive a restart. */
  persistPushedPolicy: boolean;
  watchDebounceMs: number;
  /** Periodic stat of the policy file, for file systems where fs.watch misses changes. */
  statIntervalMs: number;
  /** JSON-lines audit log (policy changes, admin actions). */
  auditFile?: string;
  auditMaxBufferBytes: number;
  maxPolicyBytes: number;
  decisionCache: { maxIdentities: number; maxEntriesPerIdentity: number };
  failureLimit: FailureLimitOptions;
}

export const AUTH_ACTIONS: readonly AuthAction[] = ['connect', 'register', 'publish', 'subscribe', 'send', 'request', 'discover', 'admin'];

const stringOrList = {
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', minLength: 1 } },
  ],
};

export const authStandardSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mtls: {
      type: 'object',
      additionalProperties: false,
      required: ['certFile', 'keyFile', 'caFile'],
      properties: {
        certFile: { type: 'string', minLength: 1, description: 'PEM server certificate chain.' },
        keyFile: { type: 'string', minLength: 1, description: 'PEM private key of the server certificate.' },
        caFile: { type: 'string', minLength: 1, description: 'PEM CA bundle client certificates must chain to.' },
        requireClientCert: { type: 'boolean', default: true },
        identityMode: { enum: ['spiffe', 'dns'], default: 'spiffe' },
        trustDomain: { type: 'string', pattern: '^[a-z0-9._-]{1,255}$' },
        cacheMaxEntries: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 4096 },
      },
    },
    jwt: {
      type: 'object',
      additionalProperties: false,
      required: ['issuer', 'audience'],
      properties: {
        jwksFile: { type: 'string', minLength: 1 },
        jwksUrl: { type: 'string', format: 'uri', pattern: '^https?://' },
        algorithms: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { enum: [...JWT_ALGORITHMS] },
          default: ['RS256', 'ES256', 'EdDSA'],
        },
        issuer: stringOrList,
        audience: stringOrList,
        clockToleranceSec: { type: 'integer', minimum: 0, maximum: 300, default: 5 },
        identityClaim: { type: 'string', minLength: 1, default: 'sub' },
        cacheMaxEntries: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10_000 },
        jwksCooldownMs: { type: 'integer', minimum: 0, maximum: 3_600_000, default: 30_000 },
        jwksRefreshIntervalMs: { type: 'integer', minimum: 1000, maximum: 86_400_000, default: 600_000 },
        jwksTimeoutMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 5000 },
        jwksMaxBytes: { type: 'integer', minimum: 1024, maximum: 16_777_216, default: 1_048_576 },
      },
      oneOf: [{ required: ['jwksFile'] }, { required: ['jwksUrl'] }],
    },
    policyFile: { type: 'string', minLength: 1 },
    policy: { type: 'object' },
    persistPushedPolicy: { type: 'boolean', default: true },
    watchDebounceMs: { type: 'integer', minimum: 0, maximum: 60_000, default: 100 },
    statIntervalMs: { type: 'integer', minimum: 50, maximum: 3_600_000, default: 1000 },
    auditFile: { type: 'string', minLength: 1 },
    auditMaxBufferBytes: { type: 'integer', minimum: 1024, maximum: 1_073_741_824, default: 4_194_304 },
    maxPolicyBytes: { type: 'integer', minimum: 1024, maximum: 67_108_864, default: 1_048_576 },
    decisionCache: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxIdentities: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 4096 },
        maxEntriesPerIdentity: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1024 },
      },
    },
    failureLimit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxFailures: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 10 },
        windowMs: { type: 'integer', minimum: 1, maximum: 86_400_000, default: 60_000 },
        lockoutMs: { type: 'integer', minimum: 1, maximum: 86_400_000, default: 60_000 },
        maxPeers: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 10_000 },
      },
    },
  },
} as const;
