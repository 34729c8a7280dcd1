/**
 * The supervisor's metrics. Every label value comes from a fixed set (states, restart reasons), never
 * from an agent id, so series stay bounded however many agents come and go.
 */
import { AGENT_STATES, type AgentState, type MetricsFactory } from '../../kernel';

export type RestartReason = 'crash' | 'probe' | 'anomaly' | 'rss' | 'readiness' | 'operator';

export interface SupervisorMetrics {
  transition(from: AgentState, to: AgentState): void;
  restart(reason: RestartReason): void;
  crashLoop(): void;
  probeFailed(): void;
  rssExceeded(): void;
  linesDropped(count: number): void;
  lineTruncated(): void;
}

export function supervisorMetrics(metrics: MetricsFactory, countByState: () => Record<AgentState, number>): SupervisorMetrics {
  metrics.gauge({
    name: 'managed_agents',
    help: 'Managed agent instances by lifecycle state',
    labelNames: ['state'] as const,
    collect() {
      const counts = countByState();
      for (const state of AGENT_STATES) this.set({ state }, counts[state]);
    },
  });
  const transitions = metrics.counter({
    name: 'managed_agent_transitions_total',
    help: 'Lifecycle transitions of managed agents, by from and to state',
    labelNames: ['from', 'to'] as const,
  });
  const restarts = metrics.counter({
    name: 'managed_agent_restarts_total',
    help: 'Restarts of managed agents, by reason (crash, probe, anomaly, rss, readiness, operator)',
    labelNames: ['reason'] as const,
  });
  const crashLoops = metrics.counter({
    name: 'managed_agent_crash_loops_total',
    help: 'Managed agents quarantined by crash-loop detection',
  });
  const probeFailures = metrics.counter({ name: 'managed_agent_probe_failures_total', help: 'Health probes not answered in time' });
  const rss = metrics.counter({ name: 'managed_agent_rss_exceeded_total', help: 'Times a managed agent was found over its maxRssBytes' });
  const dropped = metrics.counter({
    name: 'managed_agent_log_lines_dropped_total',
    help: 'Agent stdout/stderr lines dropped by the per-agent lines-per-second cap',
  });
  const truncated = metrics.counter({ name: 'managed_agent_log_lines_truncated_total', help: 'Agent output lines cut at maxLineBytes' });
  return {
    transition: (from, to) => transitions.inc({ from, to }),
    restart: (reason) => restarts.inc({ reason }),
    crashLoop: () => crashLoops.inc(),
    probeFailed: () => probeFailures.inc(),
    rssExceeded: () => rss.inc(),
    linesDropped: (count) => dropped.inc(count),
    lineTruncated: () => truncated.inc(),
  };
}
