import { createMetricsFactory } from '../../kernel';

test('fast counters are plain numbers published at scrape time, one series per value', async () => {
  const metrics = createMetricsFactory({ processMetrics: false });
  const spec = {
    name: 'demo_messages_total',
    help: 'Demo.',
    labelNames: ['result'],
    series: { ok: { result: 'ok' }, failed: { result: 'failed' } },
  };
  const counts = metrics.fastCounter(spec);
  expect(metrics.fastCounter(spec)).toBe(counts);
  let text = await metrics.registry.metrics();
  expect(text).toContain('openclaw_demo_messages_total{result="ok"} 0');
  counts.ok += 3;
  counts.failed++;
  text = await metrics.registry.metrics();
  expect(text).toContain('openclaw_demo_messages_total{result="ok"} 3');
  expect(text).toContain('openclaw_demo_messages_total{result="failed"} 1');
  counts.ok++;
  text = await metrics.registry.metrics();
  expect(text).toContain('openclaw_demo_messages_total{result="ok"} 4');
});

test('two gateways in one process keep separate registries', async () => {
  const a = createMetricsFactory({ processMetrics: false });
  const b = createMetricsFactory({ processMetrics: false });
  a.counter({ name: 'x_total', help: 'x' }).inc(2);
  b.counter({ name: 'x_total', help: 'x' }).inc(5);
  expect(await a.registry.getSingleMetricAsString('openclaw_x_total')).toContain('openclaw_x_total 2');
  expect(await b.registry.getSingleMetricAsString('openclaw_x_total')).toContain('openclaw_x_total 5');
});
