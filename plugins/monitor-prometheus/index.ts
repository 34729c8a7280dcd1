/**
 * # monitor-prometheus
 *
 * The gateway's eyes: Prometheus metrics, health and readiness probes, an RPC access log, passive
 * anomaly detection, W3C trace propagation (with optional OpenTelemetry export) and a live
 * dashboard, all on one HTTP port.
 *
 * ```ts
 * { use: 'monitor-prometheus', options: { host: '127.0.0.1', port: 9464 } }
 * ```
 *
 * | path | what |
 * |---|---|
 * | `/metrics` | the gateway's prom-client registry: `openclaw_gateway_*` (from hooks), other plugins' metrics, process metrics |
 * | `/healthz` | 200 while the process serves HTTP |
 * | `/readyz` | 200 only when the kernel stage is `ready` (503 while starting or draining) |
 * | `/api/status`, `/api/agents`, `/api/targets`, `/api/events` | the dashboard's data as JSON (the CLI's `status`/`agents` use gRPC AdminService instead) |
 * | `/` | the dashboard; live via `/api/stream` (Server-Sent Events) |
 *
 * Everything is derived from kernel hooks; the registry (optional dependency) supplies agents.
 * Anomaly rules raise `hooks.anomaly` events and never act: the supervisor decides. Every map
 * keyed by client input is capped, counts in `openclaw_gateway_limits_reached_total` and fires
 * `hooks.limitReached` when hit. See `docs/monitor.md` for the options, rules and metric list.
 */
import { definePlugin, type MonitorService } from '../../kernel';
import { AnomalyDetector } from './anomaly-detector';
import { EventJournal } from './event-journal';
import { conformGaugeNames } from './exposition-conformance';
import { tapGatewayMetrics } from './gateway-metrics';
import { HopSpans } from './hop-spans';
import { MonitorHttpServer } from './http-server';
import { LiveFeed } from './live-feed';
import { tapMessageTracing } from './message-tracing';
import { tapRpcAccessLog } from './rpc-access-log';
import { monitorSchema, type MonitorOptions } from './schema';
import { StatusSnapshot } from './status-snapshot';
import { TrafficRates } from './traffic-rates';

export type { MonitorOptions } from './schema';

export default definePlugin<MonitorOptions, MonitorService>({
  name: 'monitor-prometheus',
  kind: 'monitor',
  version: '0.1.0',
  description: 'Prometheus metrics, health/readiness, anomaly detection, tracing and a live dashboard',
  schema: monitorSchema,
  dependencies: [{ kind: 'registry', optional: true }],
  setup(ctx) {
    const { options, hooks, name } = ctx;
    const registry = ctx.services.find('registry');
    const renamed = conformGaugeNames(ctx.metrics.registry);
    if (renamed.length > 0) ctx.logger.debug({ renamed }, 'process gauges renamed to pass promtool');

    const totals = tapGatewayMetrics({ name, hooks, metrics: ctx.metrics, gateway: ctx.gateway, registry, options: options.metrics });
    if (options.accessLog) tapRpcAccessLog(name, hooks, ctx.logger);

    const spans = options.tracing.exporter === 'none' ? undefined : new HopSpans(options.tracing, hooks, name, ctx.logger, ctx.metrics);
    if (options.tracing.propagate || spans) tapMessageTracing(name, hooks, spans);

    const detector = new AnomalyDetector({
      name,
      hooks,
      logger: ctx.logger,
      registry,
      gatewayId: ctx.gateway.id,
      options: options.anomaly,
    });
    if (options.anomaly.enabled) detector.attach();

    const journal = new EventJournal(options.dashboard.maxEvents);
    journal.attach(name, hooks);
    const traffic = new TrafficRates(totals, options.dashboard.maxTrackedTargets, options.dashboard.historyPoints, (detail) =>
      hooks.limitReached.call({ limit: 'monitor.dashboard.maxTrackedTargets', policy: 'fold-into-other', plugin: name, detail }),
    );
    traffic.attach(name, hooks);

    let server: MonitorHttpServer | undefined;
    const snapshot = new StatusSnapshot(
      ctx.gateway,
      ctx.services,
      registry,
      detector,
      traffic,
      () => server?.address(),
      options.dashboard.maxAgentRows,
    );
    const feed = options.dashboard.enabled
      ? new LiveFeed(
          snapshot,
          journal,
          {
            maxClients: options.dashboard.maxStreamClients,
            maxBufferBytes: options.dashboard.maxStreamBufferBytes,
            maxAgentRows: options.dashboard.maxAgentRows,
            maxTargets: 50,
          },
          hooks,
          name,
        )
      : undefined;
    ctx.metrics.gauge({
      name: 'gateway_monitor_tracked_agents',
      help: 'Agents with live anomaly windows (capped by anomaly.maxTrackedAgents).',
      collect() {
        this.set(detector.trackedAgents);
      },
    });
    ctx.metrics.gauge({
      name: 'gateway_monitor_pending_requests',
      help: 'Requests awaiting a reply, tracked for latency (capped by anomaly.maxPendingRequests).',
      collect() {
        this.set(detector.pendingRequests);
      },
    });
    ctx.metrics.gauge({
      name: 'gateway_monitor_stream_clients',
      help: 'Live dashboard (SSE) clients connected (capped by dashboard.maxStreamClients).',
      collect() {
        this.set(feed?.clientCount ?? 0);
      },
    });

    let ticker: NodeJS.Timeout | undefined;
    server = new MonitorHttpServer({
      host: options.host,
      port: options.port,
      maxConnections: options.maxConnections,
      registry: ctx.metrics.registry,
      gateway: ctx.gateway,
      snapshot,
      journal,
      feed,
      logger: ctx.logger,
    });

    return {
      service: { httpAddress: () => server?.address() },
      async start() {
        const address = await server.listen();
        detector.start();
        ticker = setInterval(() => {
          const now = Date.now();
          traffic.tick(now);
          spans?.sweep(now);
          feed?.broadcast();
        }, options.dashboard.updateIntervalMs);
        ticker.unref();
        ctx.logger.info({ address }, `monitor listening on ${address} (/metrics, /healthz, /readyz${feed ? ', dashboard at /' : ''})`);
      },
      async stop() {
        clearInterval(ticker);
        detector.stop();
        feed?.closeAll();
        await server?.close();
        await spans?.shutdown().catch((error: unknown) => ctx.logger.warn({ err: error }, 'trace exporter did not shut down cleanly'));
      },
    };
  },
});
