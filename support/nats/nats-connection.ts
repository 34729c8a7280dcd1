/**
 * Opens a NATS plugin's own connection (registry-nats, router-nats) from its options. A gateway
 * that cannot reach any server at start fails at once with GW_UNAVAILABLE naming the servers (a
 * cluster member that silently runs alone would split the cluster); after the first connect the
 * client reconnects with backoff for ever.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { GatewayError } from '../../kernel';

export interface NatsClientOptions {
  servers: string[];
  credentials: { user?: string; pass?: string; token?: string; credsFile?: string };
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  connectTimeoutMs: number;
  reconnect: { waitMs: number; jitterMs: number };
}

export async function openNatsConnection(options: NatsClientOptions, name: string, configDir: string): Promise<NatsConnection> {
  const settings: ConnectionOptions = {
    servers: options.servers,
    name,
    timeout: options.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnect.waitMs,
    reconnectJitter: options.reconnect.jitterMs,
    reconnectJitterTLS: options.reconnect.jitterMs,
    pingInterval: 10_000,
  };
  const { user, pass, token, credsFile } = options.credentials;
  if (user !== undefined) settings.user = user;
  if (pass !== undefined) settings.pass = pass;
  if (token !== undefined) settings.token = token;
  if (credsFile !== undefined) settings.authenticator = credsAuthenticator(readFileSync(path.resolve(configDir, credsFile)));
  if (options.tls) {
    const tls: Record<string, string> = {};
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      const file = options.tls[key];
      if (file !== undefined) tls[key] = path.resolve(configDir, file);
    }
    settings.tls = tls;
  }
  try {
    return await connect(settings);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new GatewayError(
      'GW_UNAVAILABLE',
      `servers: cannot reach NATS at ${options.servers.join(', ')} (${reason}); start NATS with JetStream or fix "servers"`,
      {
        field: 'servers',
        details: { servers: options.servers },
        cause: error,
      },
    );
  }
}

/** JSON schema of the options above, spread into each NATS plugin's schema. */
export const natsClientSchema = {
  servers: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1 }, default: ['127.0.0.1:4222'] },
  credentials: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      user: { type: 'string' },
      pass: { type: 'string' },
      token: { type: 'string' },
      credsFile: { type: 'string' },
    },
  },
  tls: {
    type: 'object',
    additionalProperties: false,
    properties: { caFile: { type: 'string' }, certFile: { type: 'string' }, keyFile: { type: 'string' } },
  },
  connectTimeoutMs: { type: 'integer', minimum: 100, default: 2000 },
  reconnect: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: { waitMs: { type: 'integer', minimum: 10, default: 250 }, jitterMs: { type: 'integer', minimum: 0, default: 250 } },
  },
} as const;
