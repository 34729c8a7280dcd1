/**
 * Metrics live in one prom-client Registry per gateway instance (never the global default
 * registry), so two gateways in one process never collide. Plugins get a factory that names every
 * metric `openclaw_...` and returns the existing metric when asked twice for the same name, which
 * lets a plugin be set up again (tests, reloads) without "already registered" crashes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'openclaw_';

interface MetricSpec<L extends string> {
  /** Without the `openclaw_` prefix; include the unit suffix (`_total`, `_seconds`, `_bytes`). */
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface MetricsFactory {
  readonly registry: Registry;
  counter<L extends string = string>(spec: MetricSpec<L>): Counter<L>;
  gauge<L extends string = string>(spec: MetricSpec<L> & { collect?: (this: Gauge<L>) => void | Promise<void> }): Gauge<L>;
  histogram<L extends string = string>(spec: MetricSpec<L> & { buckets?: number[] }): Histogram<L>;
  /**
   * A counter for hot paths: returns a plain object with one number per series; code does
   * `counts.accepted++` (no label hashing, no allocation) and the totals are published to
   * Prometheus at scrape time. `series` maps each key to its label values, which keeps the label
   * set bounded by construction.
   */
  fastCounter<K extends string>(spec: {
    name: string;
    help: string;
    labelNames: readonly string[];
    series: Readonly<Record<K, Readonly<Record<string, string>>>>;
  }): Record<K, number>;
}

export function createMetricsFactory(options: { processMetrics?: boolean } = {}): MetricsFactory {
  const registry = new Registry();
  const fastCounters = new Map<string, Record<string, number>>();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  function existing<T>(name: string): T | undefined {
    return registry.getSingleMetric(METRIC_PREFIX + name) as T | undefined;
  }

  return {
    registry,
    counter(spec) {
      return (
        existing(spec.name) ??
        new Counter({ name: METRIC_PREFIX + spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [registry] })
      );
    },
    gauge(spec) {
      return (
        existing(spec.name) ??
        new Gauge({
          name: METRIC_PREFIX + spec.name,
          help: spec.help,
          labelNames: spec.labelNames ?? [],
          registers: [registry],
          ...(spec.collect ? { collect: spec.collect } : {}),
        })
      );
    },
    fastCounter(spec) {
      type Counts = Record<keyof typeof spec.series, number>;
      const shared = fastCounters.get(spec.name);
      if (shared) return shared;
      const keys = Object.keys(spec.series) as (keyof typeof spec.series)[];
      const counts = Object.fromEntries(keys.map((key) => [key, 0])) as Counts;
      const reported = { ...counts };
      fastCounters.set(spec.name, counts);
      new Counter({
        name: METRIC_PREFIX + spec.name,
        help: spec.help,
        labelNames: spec.labelNames,
        registers: [registry],
        collect() {
          for (const key of keys) {
            // inc(…, 0) on first sight publishes the series at zero, as promtool and dashboards expect.
            this.inc(spec.series[key], counts[key] - reported[key]);
            reported[key] = counts[key];
          }
        },
      });
      return counts;
    },
    histogram(spec) {
      return (
        existing(spec.name) ??
        new Histogram({
          name: METRIC_PREFIX + spec.name,
          help: spec.help,
          labelNames: spec.labelNames ?? [],
          registers: [registry],
          ...(spec.buckets ? { buckets: spec.buckets } : {}),
        })
      );
    },
  };
}
