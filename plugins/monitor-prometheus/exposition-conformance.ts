/**
 * Keeps `/metrics` acceptable to `promtool check metrics`. prom-client's default Node.js metrics
 * include gauges named `*_total` (`nodejs_active_handles_total`, ...), a suffix Prometheus
 * reserves for counters. Where a labelled gauge of the same name without the suffix exists (the
 * total is just its sum: `sum(openclaw_nodejs_active_handles)`), the `_total` gauge is dropped;
 * otherwise it is re-exposed without the suffix, reading the original at scrape time.
 */
import { Gauge, type Registry } from 'prom-client';

interface ReadableGauge {
  name: string;
  help: string;
  type: string;
  labelNames?: string[];
  get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }>;
}

export function conformGaugeNames(registry: Registry): string[] {
  const changes: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const original = metric as unknown as ReadableGauge;
    if (String(original.type) !== 'gauge' || !original.name.endsWith('_total')) continue;
    const newName = original.name.slice(0, -'_total'.length);
    registry.removeSingleMetric(original.name);
    if (registry.getSingleMetric(newName)) {
      changes.push(`${original.name} dropped (sum of ${newName})`);
      continue;
    }
    new Gauge({
      name: newName,
      help: original.help,
      registers: [registry],
      labelNames: original.labelNames ?? [],
      async collect() {
        this.reset();
        for (const sample of (await original.get()).values) this.set(sample.labels as Record<string, string>, sample.value);
      },
    });
    changes.push(`${original.name} renamed ${newName}`);
  }
  return changes;
}
