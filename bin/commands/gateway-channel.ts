/**
 * The connection every client command opens to a running gateway, from the shared flags
 * (`--target`, `--token`, `--ca`/`--cert`/`--key`, `--server-name`, `--timeout`): channel
 * credentials, channel options, the call metadata (bearer token) and the deadline.
 */
import fs from 'node:fs';
import { Metadata, credentials, status as GrpcStatus, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

/** The connection flags every command that talks to a running gateway takes. */
export interface AdminFlags {
  target?: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  timeout?: string;
  json?: boolean;
}

export class CommandInputError extends Error {
  readonly grpcStatus = GrpcStatus.INVALID_ARGUMENT;
}

export interface GatewayChannel {
  target: string;
  credentials: ChannelCredentials;
  options: ChannelOptions;
  metadata(): Metadata;
  timeoutMs: number;
}

/** The embedded default config's gRPC listener (it honours the same variable). */
export function defaultTarget(): string {
  return `127.0.0.1:${process.env.OPENCLAW_GRPC_PORT ?? 7400}`;
}

export function gatewayChannel(flags: AdminFlags): GatewayChannel {
  const target = flags.target ?? defaultTarget();
  const tls = flags.ca !== undefined || flags.cert !== undefined || flags.key !== undefined;
  if (tls) quietIpServerNameWarning();
  const channelCredentials = tls
    ? credentials.createSsl(readFile('ca', flags.ca), readFile('key', flags.key), readFile('cert', flags.cert))
    : credentials.createInsecure();
  const timeoutMs = Number(flags.timeout ?? 10_000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new CommandInputError(`--timeout: expected milliseconds > 0 (got ${flags.timeout})`);
  const token = flags.token ?? process.env.OPENCLAW_TOKEN;
  return {
    target,
    credentials: channelCredentials,
    options: flags.serverName ? { 'grpc.ssl_target_name_override': flags.serverName } : {},
    metadata() {
      const metadata = new Metadata();
      if (token) metadata.set('authorization', `Bearer ${token}`);
      return metadata;
    },
    timeoutMs,
  };
}

function readFile(flag: string, file: string | undefined): Buffer | null {
  if (file === undefined) return null;
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new CommandInputError(`--${flag} ${file}: ${(error as Error).message}`);
  }
}

/**
 * grpc-js passes the target host as the TLS server name, and Node warns (DEP0123) when that host is
 * an IP address, as `--target 127.0.0.1:7400` usually is. The warning says nothing an operator can
 * act on (the certificate is still checked against the IP), so the CLI drops that one warning and
 * keeps printing every other.
 */
function quietIpServerNameWarning(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code === 'DEP0123') return;
    for (const listener of listeners) listener(warning);
  });
}
