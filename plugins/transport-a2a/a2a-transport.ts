/**
 * The transport-a2a plugin's parts wired together: task store, agent-event session, executor,
 * request handler, HTTP server, metrics, and the start/drain/stop sequence.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { GatewayError, type PluginContext, type TransportService } from '../../kernel';
import { AgentCards } from './agent-cards';
import { A2aHttpServer, isLoopbackHost } from './a2a-server';
import { a2aGrpcService } from './grpc-binding';
import { AgentEvents } from './agent-events';
import { GatewayExecutor } from './gateway-executor';
import { A2aLimits } from './limits';
import { DurablePushSender, PushConfigStore } from './push-notifications';
import { RemoteAgents } from './remote-agents';
import type { RemoteAgentOption } from './schema';
import { GatewayRequestHandler, statusNameOf } from './request-handler';
import type { TransportA2aOptions } from './schema';
import { LmdbTaskStore } from './task-store';

const SWEEP_INTERVAL_MS = 60_000;

export class A2aTransport implements TransportService {
  private readonly logger: Logger;
  private readonly store: LmdbTaskStore;
  private readonly events: AgentEvents;
  private readonly executor: GatewayExecutor;
  private readonly limits: A2aLimits;
  private readonly server: A2aHttpServer;
  private readonly remotes: RemoteAgents;
  private bound: string[] = [];
  private draining = false;
  private sweeper?: NodeJS.Timeout;
  private push?: DurablePushSender;
  private readonly handler: GatewayRequestHandler;
  private readonly cards: AgentCards;
  private pushConfigs?: PushConfigStore;

  constructor(private readonly ctx: PluginContext<TransportA2aOptions>) {
    const { options, services, hooks, metrics } = ctx;
    this.logger = ctx.logger;
    const auth = services.get('auth');
    const registry = services.get('registry');
    const router = services.get('router');

    const calls = metrics.counter<'method' | 'code'>({
      name: 'a2a_calls_total',
      help: 'A2A method calls, by method and outcome (gRPC status name or A2A error).',
      labelNames: ['method', 'code'],
    });
    const limitHits = metrics.counter<'limit'>({
      name: 'a2a_limit_hits_total',
      help: 'A2A calls refused by a limit (maxRequestsPerIdentity, maxStreams, maxStreamsPerIdentity, maxBodyBytes, tasks.maxTasks).',
      labelNames: ['limit'],
    });
    const onLimit = (limit: string): void => {
      limitHits.inc({ limit });
      hooks.limitReached.call({ limit: `transport.a2a.${limit}`, policy: 'reject', plugin: ctx.name });
    };

    this.store = new LmdbTaskStore(path.join(ctx.gateway.dataDir, ctx.name, 'tasks'), options.tasks);
    this.store.onFull = () => onLimit('tasks.maxTasks');
    this.events = new AgentEvents(router, ctx.gateway.id, this.logger);
    this.limits = new A2aLimits(options, onLimit);
    this.executor = new GatewayExecutor({
      router,
      registry,
      events: this.events,
      requestTimeoutMs: options.requestTimeoutMs,
      remember: (scope, messageId, taskId) => this.store.rememberMessage(scope, messageId, taskId),
    });
    const cards = new AgentCards(registry, auth, {
      provider: options.provider,
      gatewayId: ctx.gateway.id,
      gatewayVersion: ctx.gateway.version,
      pushNotifications: options.push.enabled,
    });
    if (options.push.enabled) {
      const pushes = metrics.counter<'outcome'>({
        name: 'a2a_push_notifications_total',
        help: 'A2A push notifications, by outcome (delivered, retried, dropped_attempts, dropped_maxPending, dropped_refused).',
        labelNames: ['outcome'],
      });
      const configs = new PushConfigStore(this.store.database('push-configs'), options.push);
      this.push = new DurablePushSender(
        this.store.rootDatabase,
        this.store.database('push-outbox'),
        configs,
        options.push,
        {
          delivered: () => pushes.inc({ outcome: 'delivered' }),
          retried: () => pushes.inc({ outcome: 'retried' }),
          dropped: (reason) => {
            pushes.inc({ outcome: `dropped_${reason}` });
            if (reason === 'maxPending') onLimit('push.maxPending');
          },
        },
        this.logger,
      );
      this.pushConfigs = configs;
      this.store.onRemoved = (taskId) => configs.removeAll(taskId);
      const sender = this.push;
      metrics.gauge({
        name: 'a2a_push_pending',
        help: 'A2A push notifications in the durable outbox, not yet delivered.',
        collect() {
          this.set(sender.pending);
        },
      });
    }
    const handler = (this.handler = new GatewayRequestHandler(
      {
        auth,
        registry,
        store: this.store,
        executor: this.executor,
        cards,
        limits: this.limits,
        push: this.push && this.pushConfigs ? { store: this.pushConfigs, sender: this.push } : undefined,
        observe: (method, error, durationSeconds) => {
          const code = statusNameOf(error);
          calls.inc({ method, code });
          if (hooks.rpcCompleted.isUsed()) hooks.rpcCompleted.call({ method, code, durationSeconds, transport: 'a2a' });
        },
      },
      cards.protocolCard(),
    ));
    this.cards = cards;
    this.server = new A2aHttpServer({
      auth,
      cards,
      limits: this.limits,
      handler,
      maxBodyBytes: options.maxBodyBytes,
      maxCatalogue: options.maxCatalogue,
      cardMaxAgeSeconds: options.cardMaxAgeSeconds,
      publicUrl: options.publicUrl,
      remotes: {
        list: () => this.remotes.list(),
        add: (option) => this.remotes.add(option),
        remove: (service) => this.remotes.remove(service),
      },
      draining: () => this.draining,
      onRefused: (_stage, limit) => onLimit(limit),
    });
    const remoteStore = this.store.database<RemoteAgentOption[], string>('remote-agents');
    this.remotes = new RemoteAgents(
      { registry, router, logger: this.logger, gatewayId: ctx.gateway.id, requestTimeoutMs: options.requestTimeoutMs },
      options.remoteAgents,
      {
        load: () => remoteStore.get('added') ?? [],
        save: async (added) => {
          await remoteStore.put('added', added);
        },
      },
    );

    const store = this.store;
    const executor = this.executor;
    const limits = this.limits;
    metrics.gauge({
      name: 'a2a_tasks_stored',
      help: 'A2A tasks in the durable task store.',
      collect() {
        this.set(store.size);
      },
    });
    metrics.gauge({
      name: 'a2a_tasks_running',
      help: 'A2A tasks waiting for their agent.',
      collect() {
        this.set(executor.runningTasks);
      },
    });
    metrics.gauge({
      name: 'a2a_streams_open',
      help: 'Open A2A SSE streams.',
      collect() {
        this.set(limits.streamsOpen);
      },
    });
  }

  addresses(): string[] {
    return [...this.bound];
  }

  unixSocketPath(): string | undefined {
    return undefined;
  }

  async start(): Promise<void> {
    const { options, services } = this.ctx;
    const auth = services.get('auth');
    if (auth.loopbackOnly() && !isLoopbackHost(options.host)) {
      throw new GatewayError(
        'GW_CONFIG_INVALID',
        `host: "${options.host}" is not a loopback address, and the auth plugin runs in open mode (no mtls or jwt); configure auth or listen on 127.0.0.1`,
        { field: 'host' },
      );
    }
    let tls;
    if (options.tls) {
      const settings = auth.serverTls();
      if (!settings)
        throw new GatewayError('GW_CONFIG_INVALID', 'tls: is true but the auth plugin provides no TLS material (configure auth.mtls)', {
          field: 'tls',
        });
      tls = { cert: settings.certChain, key: settings.privateKey, ca: settings.clientCa, requireClientCert: settings.requireClientCert };
    }
    const interrupted = await this.store.open();
    if (interrupted > 0) this.logger.warn({ tasks: interrupted }, 'A2A tasks left running by the previous run were marked failed');
    await this.store.sweep();
    this.sweeper = setInterval(() => {
      this.store.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'A2A task sweep failed'));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    this.events.start();
    this.push?.start();
    const address = await this.server.listen(options.host, options.port, tls);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.bound = [`${host}:${address.port}`];
    this.serveGrpc();
    await this.remotes.start();
    this.logger.info({ addresses: this.bound, tls: tls !== undefined }, 'A2A transport listening');
  }

  /** The gRPC binding on the first transport that serves other plugins' gRPC services. */
  private serveGrpc(): void {
    if (!this.ctx.options.grpc) return;
    const grpc = this.ctx.services.transports().find((transport) => transport !== this && typeof transport.addGrpcService === 'function');
    if (!grpc) {
      this.logger.info('no gRPC transport offers addGrpcService: the A2A gRPC binding is off');
      return;
    }
    const { definition, implementation } = a2aGrpcService(this.handler, this.ctx.services.get('auth'), () => this.draining);
    grpc.addGrpcService!(definition, implementation);
    this.cards.grpcAddress = () => grpc.addresses().find((address) => !address.startsWith('unix:'));
  }

  async drain(deadline: number): Promise<void> {
    this.draining = true;
    this.server.endStreams();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.server.whenIdle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweeper);
    await this.remotes.stop();
    this.executor.stop();
    this.push?.stop();
    await this.server.close();
    this.events.stop();
    await this.store.close();
    this.bound = [];
  }
}
