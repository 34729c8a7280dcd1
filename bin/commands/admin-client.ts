/**
 * How `status` and `agents` reach a running gateway: one grpc-js AdminService client on the target
 * (`host:port` or `unix:/path`), with an optional bearer token and TLS files, and a deadline per
 * call so an unreachable gateway fails in seconds instead of waiting for a connection forever.
 * Failures are printed as `<gRPC status> <GW code>: message` and exit 1.
 */
import { status as GrpcStatus, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { AdminServiceClient } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { fromServiceError } from '../../sdk/errors';
import { CommandInputError, defaultTarget, gatewayChannel, type AdminFlags } from './gateway-channel';

export { defaultTarget } from './gateway-channel';

// Declared beside the channel that reads them (no import circle); re-exported for the commands.
export type { AdminFlags } from './gateway-channel';

/**
 * The connection options. Declared on `agents` and again (without defaults) on each of its
 * subcommands, so they work before or after the subcommand; `mergeAdminFlags` picks the one given.
 */
export function addAdminOptions(command: Command, withDefaults = true): Command {
  return command
    .option('-t, --target <address>', 'gateway gRPC address: host:port or unix:/path/to.sock', withDefaults ? defaultTarget() : undefined)
    .option('--token <jwt>', 'bearer token for the admin call (default: $OPENCLAW_TOKEN)')
    .option('--ca <file>', 'PEM CA bundle that signed the gateway certificate (turns TLS on)')
    .option('--cert <file>', 'PEM client certificate for mTLS')
    .option('--key <file>', 'PEM client key for mTLS')
    .option('--server-name <name>', 'expected TLS server name when it differs from the target host')
    .option('--timeout <ms>', 'give up after this long', withDefaults ? '10000' : undefined)
    .option('--json', 'print JSON instead of a table');
}

/** A subcommand's own flags over its parent's (the parent's hold the defaults). */
export function mergeAdminFlags(command: Command): AdminFlags {
  const merged: Record<string, unknown> = { ...command.parent?.opts() };
  for (const [key, value] of Object.entries(command.opts())) if (value !== undefined) merged[key] = value;
  return merged;
}

type AdminMethod = 'listAgents' | 'gatewayStatus' | 'startAgent' | 'stopAgent' | 'restartAgent' | 'drainAgent' | 'upgradeAgent';

/** The RPC's name as the proto spells it, for messages. */
const RPC_NAMES: Record<AdminMethod, string> = {
  listAgents: 'ListAgents',
  gatewayStatus: 'GatewayStatus',
  startAgent: 'StartAgent',
  stopAgent: 'StopAgent',
  restartAgent: 'RestartAgent',
  drainAgent: 'DrainAgent',
  upgradeAgent: 'UpgradeAgent',
};

export class AdminCallError extends Error {
  constructor(
    message: string,
    readonly grpcStatus: number,
  ) {
    super(message);
    this.name = 'AdminCallError';
  }
}

/** Calls one AdminService method and closes the channel; throws AdminCallError with a readable message. */
export async function callAdmin<Response>(flags: AdminFlags, method: AdminMethod, request: unknown): Promise<Response> {
  const channel = openChannel(flags);
  const { target, timeoutMs } = channel;
  const client = new AdminServiceClient(target, channel.credentials, channel.options);
  const metadata = channel.metadata();
  try {
    return await new Promise<Response>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(client)
      const invoke = client[method] as unknown as (
        request: unknown,
        metadata: Metadata,
        options: { deadline: number },
        callback: (error: ServiceError | null, response: Response) => void,
      ) => void;
      invoke.call(client, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) reject(describeFailure(error, RPC_NAMES[method], target));
        else resolve(response);
      });
    });
  } finally {
    client.close();
  }
}

/** The shared connection flags as a channel; bad flags become an AdminCallError (INVALID_ARGUMENT). */
export function openChannel(flags: AdminFlags): ReturnType<typeof gatewayChannel> {
  try {
    return gatewayChannel(flags);
  } catch (error) {
    if (error instanceof CommandInputError) throw new AdminCallError(error.message, error.grpcStatus);
    throw error;
  }
}

/** `<RPC> failed: <gRPC status> <GW code>: message`, with a hint for an unreachable gateway or a timeout. */
export function describeFailure(error: ServiceError, rpc: string, target: string): AdminCallError {
  const statusName = GrpcStatus[error.code] ?? String(error.code);
  if (error.code === GrpcStatus.UNAVAILABLE && !error.metadata?.get('gw-error-code').length) {
    return new AdminCallError(
      `${rpc} failed: UNAVAILABLE: cannot reach a gateway at ${target} (${(error.details || error.message).replace(/\.?\s*Resolution note:.*$/s, '')}); is it running? (--target host:port or unix:/path)`,
      error.code,
    );
  }
  if (error.code === GrpcStatus.DEADLINE_EXCEEDED && !error.metadata?.get('gw-error-code').length) {
    return new AdminCallError(`${rpc} failed: DEADLINE_EXCEEDED: no answer from ${target} in time (--timeout)`, error.code);
  }
  const failure = fromServiceError(error);
  return new AdminCallError(`${rpc} failed: ${statusName} ${failure.code}: ${failure.message}`, error.code);
}

/** Prints the failure of a command the way an operator can act on, and returns the exit code. */
export function reportAdminFailure(error: unknown): number {
  console.error(
    error instanceof AdminCallError ? `error: ${error.message}` : error instanceof Error ? `error: ${error.message}` : String(error),
  );
  return 1;
}

/** `3m 12s`, `2h 5m`, `4d 1h`: rough on purpose, for tables. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
