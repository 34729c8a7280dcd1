/**
 * OpenTelemetry hop spans, only when an exporter is configured: the OpenTelemetry SDK is required
 * lazily so a gateway without tracing never loads it. A hop span covers a message from acceptance
 * to its first delivery (or drop, dead letter, or timeout). The provider is private to this
 * gateway (never registered globally) so two gateways in one process keep separate pipelines.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import type { BasicTracerProvider, ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { GatewayHooks, MessageEnvelope, MetricsFactory } from '../../kernel';
import type { TraceParent } from './trace-context';
import type { MonitorOptions } from './schema';

type TracingOptions = MonitorOptions['tracing'];
type ExportCallback = Parameters<SpanExporter['export']>[1];

export interface StartedHop {
  traceId: string;
  spanId: string;
  flags: string;
}

export class HopSpans {
  private readonly api: typeof import('@opentelemetry/api');
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  /** message id → open span and the epoch ms it started. Insertion order is age order. */
  private readonly open = new Map<string, { span: Span; startedAt: number }>();
  private overflowReported = false;

  constructor(
    private readonly options: TracingOptions,
    private readonly hooks: GatewayHooks,
    private readonly pluginName: string,
    logger: Logger,
    metrics: MetricsFactory,
  ) {
    this.api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
    const sdk = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
    const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    const exporter =
      options.exporter === 'console'
        ? new sdk.ConsoleSpanExporter()
        : new (
            require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')
          ).OTLPTraceExporter({ url: options.otlpUrl, timeoutMillis: options.exportTimeoutMs });
    const reported = new ReportingExporter(exporter, options.exporter, logger, metrics);
    this.provider = new sdk.BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      spanProcessors: [
        new sdk.BatchSpanProcessor(reported, {
          scheduledDelayMillis: 1000,
          maxQueueSize: 4096,
          exportTimeoutMillis: options.exportTimeoutMs,
        }),
      ],
    });
    this.tracer = this.provider.getTracer('openclaw-gateway-monitor');
  }

  get openSpans(): number {
    return this.open.size;
  }

  /** Starts the hop span (child of the incoming traceparent when there is one). */
  start(message: MessageEnvelope, parent: TraceParent | undefined): StartedHop {
    const { api } = this;
    const parentContext = parent
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: parent.traceId,
          spanId: parent.parentSpanId,
          traceFlags: Number.parseInt(parent.flags, 16) & 1,
          isRemote: true,
        })
      : api.ROOT_CONTEXT;
    const target = message.topic ? 'topic' : message.agentId ? 'agent' : 'service';
    const span = this.tracer.startSpan(
      `route ${target}`,
      {
        kind: api.SpanKind.INTERNAL,
        attributes: {
          'messaging.system': 'openclaw',
          'messaging.message.id': message.id,
          'messaging.destination.name': message.topic || message.service || message.agentId,
          'openclaw.target_kind': target,
          'openclaw.hops': message.hops,
          'openclaw.sender_id': message.senderId,
          'openclaw.durable': message.durable,
        },
      },
      parentContext,
    );
    if (message.id) this.track(message.id, span);
    const context = span.spanContext();
    return { traceId: context.traceId, spanId: context.spanId, flags: context.traceFlags & 1 ? '01' : '00' };
  }

  isOpen(messageId: string): boolean {
    return this.open.has(messageId);
  }

  end(messageId: string, outcome: string, error = false): void {
    const entry = this.open.get(messageId);
    if (!entry) return;
    this.open.delete(messageId);
    entry.span.setAttribute('openclaw.outcome', outcome);
    if (error) entry.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: outcome });
    entry.span.end();
  }

  /** Ends hop spans that saw no delivery in time (no subscriber, offline inbox). */
  sweep(now: number): void {
    this.overflowReported = false;
    const cutoff = now - this.options.spanTimeoutMs;
    for (const [messageId, entry] of this.open) {
      if (entry.startedAt >= cutoff) break;
      this.end(messageId, 'undelivered');
    }
  }

  async shutdown(): Promise<void> {
    for (const messageId of [...this.open.keys()]) this.end(messageId, 'gateway-stopped');
    await this.provider.shutdown();
  }

  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  private track(messageId: string, span: Span): void {
    if (this.open.size >= this.options.maxOpenSpans) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.end(oldest, 'evicted');
      if (!this.overflowReported) {
        this.overflowReported = true;
        this.hooks.limitReached.call({
          limit: 'monitor.tracing.maxOpenSpans',
          policy: 'end-oldest',
          plugin: this.pluginName,
          detail: `more than ${this.options.maxOpenSpans} hop spans open`,
        });
      }
    }
    this.open.set(messageId, { span, startedAt: Date.now() });
  }
}

/**
 * The OpenTelemetry SDK reports a failed export only to its global diag logger, which nobody sets
 * up, so an unreachable collector (or an exporter that cannot load its HTTP module) used to lose
 * every span without a trace. This wrapper counts each export's outcome and logs failures: the
 * first one, then one per minute with how many failed since.
 */
class ReportingExporter implements SpanExporter {
  private readonly outcomes;
  private failuresSinceLog = 0;
  private lastLoggedAt = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly exporterName: string,
    private readonly logger: Logger,
    metrics: MetricsFactory,
  ) {
    const exported = metrics.counter<'exporter' | 'outcome'>({
      name: 'gateway_trace_spans_exported_total',
      help: 'Hop spans handed to the trace exporter, by exporter and outcome (ok, failed).',
      labelNames: ['exporter', 'outcome'],
    });
    this.outcomes = { ok: exported.labels(exporterName, 'ok'), failed: exported.labels(exporterName, 'failed') };
    this.outcomes.ok.inc(0);
    this.outcomes.failed.inc(0);
  }

  export(spans: ReadableSpan[], resultCallback: ExportCallback): void {
    this.inner.export(spans, (result) => {
      // ExportResultCode.SUCCESS is 0; compared by value so @opentelemetry/core stays a lazy require.
      if (result.code === 0) this.outcomes.ok.inc(spans.length);
      else this.failed(spans.length, result.error);
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  private failed(count: number, error: Error | undefined): void {
    this.outcomes.failed.inc(count);
    this.failuresSinceLog += 1;
    const now = Date.now();
    if (now - this.lastLoggedAt < 60_000) return;
    this.logger.warn(
      { err: error, exporter: this.exporterName, spans: count, failedExports: this.failuresSinceLog },
      `trace export failed (${this.exporterName}): ${error?.message ?? 'unknown error'}`,
    );
    this.lastLoggedAt = now;
    this.failuresSinceLog = 0;
  }
}
