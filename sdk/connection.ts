/**
 * The SDK's link to the gateway: one grpc-js client for the current target, failing over across
 * the configured targets (TCP `host:port` or `unix:/path`), per-call credentials (bearer token),
 * and unary calls with retry on transient statuses.
 */
import {
  ChannelCredentials,
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { GatewayServiceClient } from '../proto/gen/openclaw/gateway/v1/gateway';
import { Backoff, sleep, type BackoffOptions } from './backoff';
import { fromServiceError, GatewayClientError, isRetryable } from './errors';

export interface TlsOptions {
  /** PEM CA bundle that signed the gateway's certificate. */
  ca?: Buffer | string;
  /** PEM client certificate and key, for mTLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** Expected server name when it differs from the target host. */
  serverName?: string;
}

export interface ConnectionOptions {
  tls?: TlsOptions;
  /** Bearer token (JWT) sent on every call; a function is asked again on each call (rotation). */
  token?: string | (() => string | Promise<string>);
  /**
   * The per-launch secret of a managed instance, sent as `x-openclaw-instance-token` metadata: the
   * gateway lets only the process its supervisor started register that instance's agent id.
   * Default: `OPENCLAW_INSTANCE_TOKEN` from the environment (the supervisor sets it).
   */
  instanceToken?: string;
  backoff?: Partial<BackoffOptions>;
  /** Attempts for a unary call on transient failures (across targets). Default 5. */
  maxAttempts?: number;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export type ClientMethod = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches every unary method whatever its message types
  [K in keyof GatewayServiceClient]: GatewayServiceClient[K] extends UnaryMethod<any, any> ? K : never;
}[keyof GatewayServiceClient];

export class GatewayConnection {
  private readonly targets: string[];
  private index = 0;
  private client?: GatewayServiceClient;
  private readonly channelCredentials: ChannelCredentials;
  private readonly channelOptions: Record<string, string | number>;
  readonly backoffOptions: BackoffOptions;
  private closed = false;
  private readonly instanceToken?: string;

  constructor(
    targets: string | readonly string[],
    readonly options: ConnectionOptions = {},
  ) {
    this.targets = typeof targets === 'string' ? [targets] : [...targets];
    if (this.targets.length === 0)
      throw new GatewayClientError('GW_INVALID_ARGUMENT', 3, 'targets: at least one gateway address is required', { field: 'targets' });
    const tls = options.tls;
    this.channelCredentials = tls
      ? grpcCredentials.createSsl(toBuffer(tls.ca), toBuffer(tls.key), toBuffer(tls.cert))
      : grpcCredentials.createInsecure();
    this.channelOptions = {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {}),
    };
    this.backoffOptions = { initialMs: 100, maxMs: 5000, factor: 2, ...options.backoff };
    this.instanceToken = options.instanceToken ?? (process.env.OPENCLAW_INSTANCE_TOKEN || undefined);
  }

  get target(): string {
    return this.targets[this.index];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The client for the current target (created lazily). */
  current(): GatewayServiceClient {
    if (this.closed) throw new GatewayClientError('GW_CANCELLED', 1, 'the agent connection is closed');
    this.client ??= new GatewayServiceClient(this.target, this.channelCredentials, this.channelOptions);
    return this.client;
  }

  /** The current target failed: move to the next one (a new channel). */
  failover(): void {
    if (this.targets.length === 1) return;
    this.client?.close();
    this.client = undefined;
    this.index = (this.index + 1) % this.targets.length;
  }

  async metadata(): Promise<Metadata> {
    const metadata = new Metadata();
    const token = this.options.token;
    if (token !== undefined) {
      const value = typeof token === 'function' ? await token() : token;
      metadata.set('authorization', `Bearer ${value}`);
    }
    if (this.instanceToken !== undefined) metadata.set('x-openclaw-instance-token', this.instanceToken);
    return metadata;
  }

  /** A unary call, retried with backoff (and failover) on transient statuses. */
  async unary<Req, Res>(
    method: ClientMethod,
    request: Req,
    options: { deadline?: number; signal?: AbortSignal; retry?: boolean } = {},
  ): Promise<Res> {
    const attempts = options.retry === false ? 1 : (this.options.maxAttempts ?? 5);
    const backoff = new Backoff(this.backoffOptions);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce<Req, Res>(method, request, options);
      } catch (error) {
        if (!(error instanceof GatewayClientError) || !isRetryable(error.status) || attempt >= attempts || this.closed) throw error;
        if (options.deadline !== undefined && Date.now() >= options.deadline) throw error;
        if (error.code !== 'GW_RESOURCE_EXHAUSTED') this.failover();
        await sleep(backoff.next(), options.signal);
      }
    }
  }

  private async callOnce<Req, Res>(method: ClientMethod, request: Req, options: { deadline?: number; signal?: AbortSignal }): Promise<Res> {
    const client = this.current();
    const metadata = await this.metadata();
    return new Promise<Res>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new GatewayClientError('GW_CANCELLED', 1, 'the call was cancelled before it started'));
        return;
      }
      const call = (client[method] as unknown as UnaryMethod<Req, Res>).call(
        client,
        request,
        metadata,
        options.deadline !== undefined ? { deadline: options.deadline } : {},
        (error, response) => {
          options.signal?.removeEventListener('abort', onAbort);
          if (error) reject(fromServiceError(error));
          else resolve(response);
        },
      );
      const onAbort = (): void => call.cancel();
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }
}

function toBuffer(value: Buffer | string | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}
