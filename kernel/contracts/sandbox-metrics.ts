import type { MetricsFactory } from '../metrics';
import type { SandboxExit } from './sandbox';

/**
 * The sandbox kind's metrics, beside its contract: every sandbox plugin registers the same names
 * with the same labels (`sandbox` = plugin name), so dashboards need not care which one runs;
 * every label takes a value from a fixed set.
 */
export function sandboxMetrics(metrics: MetricsFactory, sandbox: string) {
  const spawned = metrics.counter<'sandbox'>({
    name: 'sandbox_spawned_total',
    help: 'Agents started in a sandbox.',
    labelNames: ['sandbox'],
  });
  const failures = metrics.counter<'sandbox' | 'reason'>({
    name: 'sandbox_spawn_failures_total',
    help: 'Sandbox spawns refused or failed, by reason (precondition, setup, namespaces).',
    labelNames: ['sandbox', 'reason'],
  });
  const exits = metrics.counter<'sandbox' | 'outcome'>({
    name: 'sandbox_exits_total',
    help: 'Sandboxes ended, by outcome (exited: code 0, failed: other code, signaled).',
    labelNames: ['sandbox', 'outcome'],
  });
  const running = metrics.gauge<'sandbox'>({
    name: 'sandbox_running',
    help: 'Sandboxes alive now.',
    labelNames: ['sandbox'],
  });
  running.set({ sandbox }, 0);
  return {
    started(exited: Promise<SandboxExit>): void {
      spawned.inc({ sandbox });
      running.inc({ sandbox });
      void exited.then((exit) => {
        running.dec({ sandbox });
        exits.inc({ sandbox, outcome: exit.signal ? 'signaled' : exit.code === 0 ? 'exited' : 'failed' });
      });
    },
    failed(reason: string): void {
      failures.inc({ sandbox, reason });
    },
  };
}
