/**
 * The gRPC server: listeners, channel options (keepalive, sizes, streams, compression), TLS from
 * the auth plugin, the gateway/admin/health/reflection services, and the drain/stop sequence.
 */
import { chmod } from 'node:fs/promises';
import { Server, ServerCredentials, type ChannelOptions, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GatewayError, isGatewayError, type PluginContext, type SupervisorService, type TransportService } from '../../kernel';
import { AdminServiceService, GatewayServiceService } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { adminServiceHandlers } from './admin-service';
import { CallGuard } from './call-guard';
import { ConnectionLimits } from './connection-limits';
import { IdentityQuotas } from './identity-quotas';
import { gatewayServiceHandlers } from './gateway-service';
import { addReflection, ServingHealth } from './health-reflection';
import { bindTargets, listenProblems, prepareSocketPath, type BindTarget } from './listeners';
import { tapHttp2Sessions } from './http2-session-tap';
import { guardSession } from './ping-guard';
import type { TransportGrpcOptions } from './schema';
import { decodeMessage, decodeMessageBatch } from './request-decoding';
import { serializeBatchResult, serializeSendResult } from './result-encoding';
import { SessionStreams } from './session-streams';
import { strictService } from './strict-decoding';

const COMPRESSION_ALGORITHMS = { identity: 0, deflate: 1, gzip: 2 } as const;
/** How long stop() waits for a graceful shutdown before cutting connections. */
const SHUTDOWN_GRACE_MS = 2000;
/** A listener that is not bound by then fails the start (a hostname that does not resolve, a stuck file system). */
const BIND_TIMEOUT_MS = 10_000;

/**
 * Subscribe responses are pre-encoded Buffers (see event-encoding.ts): pass them through. Publish
 * requests use the decoders of request-decoding.ts (no allocation per absent field), their results
 * the serializers of result-encoding.ts (one reused buffer). Every request
 * is decoded strictly (UTF-8) and a malformed one reaches its handler as a MalformedRequest, to be
 * refused INVALID_ARGUMENT (strict-decoding.ts).
 */
const SubscribePassThrough = strictService(
  {
    ...GatewayServiceService,
    subscribe: { ...GatewayServiceService.subscribe, responseSerialize: (value: Buffer): Buffer => value },
    sendMessage: { ...GatewayServiceService.sendMessage, responseSerialize: serializeSendResult },
    publishBatch: { ...GatewayServiceService.publishBatch, responseSerialize: serializeBatchResult },
    publishStream: { ...GatewayServiceService.publishStream, responseSerialize: serializeBatchResult },
  },
  { sendMessage: decodeMessage, request: decodeMessage, publishBatch: decodeMessageBatch, publishStream: decodeMessageBatch },
);
const StrictAdminService = strictService(AdminServiceService);

export class GrpcTransport implements TransportService {
  private readonly server: Server;
  private readonly guard: CallGuard;
  private readonly streams: SessionStreams;
  private readonly quotas: IdentityQuotas;
  private readonly connections: ConnectionLimits;
  private readonly health = new ServingHealth();
  private readonly logger: Logger;
  private boundAddresses: string[] = [];
  private socketPath?: string;
  private draining = false;

  constructor(private readonly ctx: PluginContext<TransportGrpcOptions>) {
    const { options, hooks, services } = ctx;
    this.logger = ctx.logger;
    const auth = services.get('auth');
    const registry = services.get('registry');
    const router = services.get('router');
    const supervisor: SupervisorService | undefined = services.find('supervisor');

    this.server = new Server(channelOptions(options));
    this.quotas = new IdentityQuotas(options.quotas, { hooks, metrics: ctx.metrics, pluginName: ctx.name });
    this.quotas.attach();
    const connectionLimit = options.quotas.connectionsPerPeer;
    this.connections = new ConnectionLimits(connectionLimit, (address, open) =>
      this.quotas.refuse(
        'connectionsPerPeer',
        `${address} has ${open} connections open; quotas.connectionsPerPeer allows ${connectionLimit}. Share one channel per process`,
      ),
    );
    this.guard = new CallGuard({ auth, hooks, draining: () => this.draining, admitPeer: (peer) => this.connections.admit(peer) });
    this.streams = new SessionStreams(
      {
        pluginName: ctx.name,
        maxSubscribeStreams: options.maxSubscribeStreams,
        maxTopicsPerSubscribe: options.maxTopicsPerSubscribe,
        maxRegistryEventsQueued: options.maxRegistryEventsQueued,
        maxFrameBytes: options.maxMessageBytes,
      },
      { guard: this.guard, hooks, auth, registry, router, metrics: ctx.metrics, quotas: this.quotas },
    );
    const guard = this.guard;
    ctx.metrics.gauge({
      name: 'transport_grpc_inflight_calls',
      help: 'Unary calls being handled by the gRPC transport',
      collect() {
        this.set(guard.inFlightCalls);
      },
    });

    this.server.addService(
      SubscribePassThrough,
      gatewayServiceHandlers({
        guard: this.guard,
        auth,
        quotas: this.quotas,
        hooks,
        registry,
        router,
        gateway: ctx.gateway,
        streams: this.streams,
        maxBatchMessages: options.maxBatchMessages,
        maxPublishInFlight: options.maxPublishInFlight,
        defaultRequestTimeoutMs: options.defaultRequestTimeoutMs,
        draining: () => this.draining,
      }),
    );
    this.server.addService(
      StrictAdminService,
      adminServiceHandlers({ guard: this.guard, hooks, auth, registry, supervisor, services, gateway: ctx.gateway }),
    );
    if (options.health) this.health.addToServer(this.server);
    if (options.reflection) addReflection(this.server);
    this.streams.attach();
    hooks.ready.tap(ctx.name, () => this.health.set('SERVING'));
    // Plugins drain in reverse order, so others may drain for a while before this transport's own
    // drain(); health follows the gateway (and /readyz) from the moment draining begins.
    hooks.draining.tap(ctx.name, () => this.health.set('NOT_SERVING'));
  }

  addresses(): string[] {
    return [...this.boundAddresses];
  }

  addGrpcService(definition: object, implementation: object): void {
    this.server.addService(definition as ServiceDefinition, implementation as UntypedServiceImplementation);
  }

  unixSocketPath(): string | undefined {
    return this.socketPath;
  }

  async start(): Promise<void> {
    const { options, services } = this.ctx;
    const auth = services.get('auth');
    // The checks `validate` ran: the same verdict at start, before anything is bound.
    const [problem] = await listenProblems(options.listen, this.ctx.gateway.dataDir, auth.loopbackOnly());
    if (problem) {
      throw new GatewayError('GW_PLUGIN_START_FAILED', `listen[${problem.index}]: ${problem.message}`, {
        field: `listen[${problem.index}]`,
      });
    }
    const targets = bindTargets(options.listen, this.ctx.gateway.dataDir, auth.loopbackOnly());
    const credentials = serverCredentials(auth.serverTls());
    for (const target of targets) {
      await this.bind(target, credentials);
    }
    this.policePings();
    this.logger.info({ addresses: this.boundAddresses, tls: auth.serverTls() !== undefined }, 'gRPC transport listening');
  }

  private async bind(target: BindTarget, credentials: ServerCredentials): Promise<void> {
    const port = await withBindDeadline(target, BIND_TIMEOUT_MS, async () => {
      if (target.socketPath) await prepareSocketPath(target.socketPath, this.ctx.gateway.dataDir);
      return new Promise<number>((resolve, reject) => {
        this.server.bindAsync(target.target, credentials, (error, boundPort) => {
          if (error) reject(error);
          else resolve(boundPort);
        });
      });
    });
    if (target.kind === 'unix' && target.socketPath) {
      await chmod(target.socketPath, parseInt(this.ctx.options.socketMode, 8));
      this.socketPath ??= target.socketPath;
      this.boundAddresses.push(`unix:${target.socketPath}`);
    } else {
      this.boundAddresses.push(`${target.host}:${port}`);
    }
  }

  /** Ping policy of gRPC core servers: see ping-policy.ts and docs/transport.md. */
  private policePings(): void {
    const { keepalive } = this.ctx.options;
    const tapped = tapHttp2Sessions(this.server, (session) => {
      this.connections.track(session);
      guardSession(session, {
        minIntervalMs: keepalive.minClientPingIntervalMs,
        maxStrikes: keepalive.maxPingStrikes,
        onStrikeOut: () => this.streams.limitHit('transport.grpc.maxPingStrikes', 'goaway'),
      });
    });
    if (!tapped)
      this.logger.warn(
        'this @grpc/grpc-js version hides its HTTP/2 sessions: keepalive ping strikes and quotas.connectionsPerPeer are not enforced',
      );
  }

  /** Stop accepting new calls, report NOT_SERVING, let in-flight unary calls finish by the deadline. */
  async drain(deadline: number): Promise<void> {
    this.draining = true;
    this.health.set('NOT_SERVING');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.guard.whenIdle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
  }

  /** Closes every stream, then the server: gracefully for a moment, then by force. */
  async stop(): Promise<void> {
    this.draining = true;
    this.health.set('NOT_SERVING');
    this.streams.closeAll(new GatewayError('GW_DRAINING', 'the gateway is shutting down; reconnect'));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.boundAddresses = [];
  }
}

/** Runs one listener's preparation and bind; any failure or a bind past `timeoutMs` names the listener. */
async function withBindDeadline<T>(target: BindTarget, timeoutMs: number, bind: () => Promise<T>): Promise<T> {
  const failure = (reason: string, cause?: unknown) =>
    new GatewayError('GW_PLUGIN_START_FAILED', `listen[${target.index}]: cannot listen on ${target.target}: ${reason}`, {
      cause,
      field: `listen[${target.index}]`,
    });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure(`not bound within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([bind(), timeout]);
  } catch (error) {
    if (isGatewayError(error) && error.code === 'GW_PLUGIN_START_FAILED') throw error;
    throw failure((error as Error).message, error);
  } finally {
    clearTimeout(timer);
  }
}

function channelOptions(options: TransportGrpcOptions): ChannelOptions {
  return {
    'grpc.keepalive_time_ms': options.keepalive.timeMs,
    'grpc.keepalive_timeout_ms': options.keepalive.timeoutMs,
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    'grpc.default_compression_algorithm': COMPRESSION_ALGORITHMS[options.compression],
    // grpc-js tracks every call for channelz by default (closures, counters and clock reads per
    // call) for a grpc.channelz.v1 service the gateway does not serve: nobody could read it, and
    // serving it would expose every connection's address without the gateway's auth. Its own
    // metrics (monitor-prometheus, `rpcCompleted`) count calls instead.
    'grpc.enable_channelz': 0,
  };
}

function serverCredentials(tls: ReturnType<import('../../kernel').AuthService['serverTls']>): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ cert_chain: tls.certChain, private_key: tls.privateKey }],
    tls.requireClientCert,
  );
}
