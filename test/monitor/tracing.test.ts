import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type AgentDelivery } from '../../sdk';
import { eventually, sampleValue, startMonitoredGateway } from './support/gateway';
import { startGatewayProcess } from './support/gateway-process';
import { envelope } from './support/messages';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

describe('trace propagation', () => {
  test('a message without traceparent starts a trace; each hop gets a new span id in the same trace', async () => {
    const gateway = await startMonitoredGateway();
    try {
      const first = envelope({ topic: 'plan' });
      gateway.gw.hooks.messageAccepted.call(first);
      const [, traceId, firstSpan] = TRACEPARENT.exec(first.headers.traceparent)!;

      // The receiving agent forwards with the traceparent it got: the next hop stays in the trace.
      const second = envelope({ topic: 'execute', headers: { traceparent: first.headers.traceparent, 'x-app': 'kept' } });
      gateway.gw.hooks.messageAccepted.call(second);
      const [, secondTrace, secondSpan] = TRACEPARENT.exec(second.headers.traceparent)!;
      expect(secondTrace).toBe(traceId);
      expect(secondSpan).not.toBe(firstSpan);
      expect(second.headers['x-app']).toBe('kept');

      // A malformed traceparent is replaced, as the W3C spec asks.
      const broken = envelope({ topic: 'x', headers: { traceparent: '00-00000000000000000000000000000000-0000000000000000-01' } });
      gateway.gw.hooks.messageAccepted.call(broken);
      expect(broken.headers.traceparent).toMatch(TRACEPARENT);
      expect(broken.headers.traceparent).not.toContain('00000000000000000000000000000000');

      // Routers fire the deliveries of a fan-out before messageAccepted: the hop is stamped on the
      // first delivery, before the subscriber's session encodes it, and only once.
      const fanOut = envelope({ topic: 'news', headers: { traceparent: first.headers.traceparent } });
      const delivery = { message: fanOut, deliveryTag: '', attempt: 1, subscription: 'news', ackDeadline: 0, shared: true };
      gateway.gw.hooks.messageDelivered.call(fanOut, delivery);
      const stamped = fanOut.headers.traceparent;
      expect(TRACEPARENT.exec(stamped)![1]).toBe(traceId);
      expect(TRACEPARENT.exec(stamped)![2]).not.toBe(firstSpan);
      gateway.gw.hooks.messageDelivered.call(fanOut, delivery);
      gateway.gw.hooks.messageAccepted.call(fanOut);
      expect(fanOut.headers.traceparent).toBe(stamped);
    } finally {
      await gateway.stop();
    }
  });

  test('with the OTLP/HTTP exporter, a real gateway exports each hop span to the collector as a child of the sender span', async () => {
    const received: Array<{ path?: string; type?: string; body: string }> = [];
    const collector = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url, type: request.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const port = (collector.address() as AddressInfo).port;
    const gateway = await startGatewayProcess({
      tracing: { exporter: 'otlp-http', otlpUrl: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'gw-under-test' },
    });
    const worker = connect(gateway.grpcAddress);
    const sender = connect(gateway.grpcAddress);
    try {
      await worker.register({ agentId: 'worker', service: 'worker', version: '1.0.0' });
      const inbox = (await worker.subscribe())[Symbol.asyncIterator]();
      const senderTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const senderSpan = '00f067aa0ba902b7';
      await sender.send({ agentId: 'worker', payload: 'plan step 1', headers: { traceparent: `00-${senderTrace}-${senderSpan}-01` } });

      const delivered = (await inbox.next()).value as AgentDelivery;
      const [, traceId, hopSpan] = TRACEPARENT.exec(delivered.message.headers.traceparent)!;
      expect(traceId).toBe(senderTrace);
      expect(hopSpan).not.toBe(senderSpan);

      const exported = await eventually(() => received[0], 15_000, 'an OTLP export');
      expect(exported.path).toBe('/v1/traces');
      expect(exported.type).toBe('application/json');
      const resource = JSON.parse(exported.body).resourceSpans[0];
      expect(resource.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'gw-under-test' } });
      const span = resource.scopeSpans[0].spans[0];
      expect(span).toMatchObject({ traceId: senderTrace, spanId: hopSpan, parentSpanId: senderSpan, name: 'route agent' });
      expect(span.attributes).toContainEqual({ key: 'openclaw.outcome', value: { stringValue: 'delivered' } });
      expect(span.attributes).toContainEqual({ key: 'messaging.destination.name', value: { stringValue: 'worker' } });

      const metrics = await (await fetch(`${gateway.monitorUrl}/metrics`)).text();
      expect(sampleValue(metrics, 'openclaw_gateway_trace_spans_exported_total{exporter="otlp-http",outcome="ok"}')).toBeGreaterThanOrEqual(
        1,
      );
    } finally {
      await Promise.all([worker.close(), sender.close()]);
      await gateway.stop();
      await new Promise((resolve) => collector.close(resolve));
    }
  });

  test('a collector that cannot be reached is logged and counted, not silently lost', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const gateway = await startGatewayProcess({
      tracing: { exporter: 'otlp-http', otlpUrl: `http://127.0.0.1:${port}/v1/traces`, exportTimeoutMs: 1000, spanTimeoutMs: 500 },
    });
    const sender = connect(gateway.grpcAddress);
    try {
      // Nobody subscribes: the hop span ends as undelivered after spanTimeoutMs and is exported then.
      await sender.publish('nobody.listens', 'x');
      const failed = await eventually(
        async () => {
          const metrics = await (await fetch(`${gateway.monitorUrl}/metrics`)).text();
          const value = sampleValue(metrics, 'openclaw_gateway_trace_spans_exported_total{exporter="otlp-http",outcome="failed"}');
          return value !== undefined && value >= 1 && value;
        },
        20_000,
        'a failed export to be counted',
      );
      expect(failed).toBeGreaterThanOrEqual(1);
      // The log line travels through the child's stdout pipe: it may land just after the metric.
      await eventually(async () => /trace export failed \(otlp-http\)/.test(gateway.output()), 5_000, 'the export failure in the log');
    } finally {
      await sender.close();
      await gateway.stop();
    }
  });
});
