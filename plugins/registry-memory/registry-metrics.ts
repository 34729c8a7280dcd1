/**
 * The registry's metrics. Label values come from fixed sets (lifecycle states, outcome names), never
 * from agent ids or service names, so cardinality stays bounded whatever clients send.
 */
import { AGENT_STATES, type AgentState, type MetricsFactory } from '../../kernel';

export type RegistrationOutcome = 'new' | 'replaced';
export type RejectionReason = 'invalid' | 'duplicate-id' | 'max-instances' | 'draining';

export class RegistryMetrics {
  /** Agents per lifecycle state, kept as plain counters and read by the gauge at scrape time. */
  readonly byState: Record<AgentState, number> = {
    created: 0,
    initializing: 0,
    running: 0,
    maintenance: 0,
    upgrade: 0,
    terminated: 0,
  };
  /** Plain numbers per outcome/reason, published at scrape time: no label hashing per registration. */
  private readonly registrations: Record<RegistrationOutcome, number>;
  private readonly rejections: Record<RejectionReason, number>;
  private readonly removals: Record<RemovalReason, number>;
  private readonly leaseExpiries;
  private readonly rangeEvictions;

  constructor(metrics: MetricsFactory) {
    const byState = this.byState;
    metrics.gauge<'state'>({
      name: 'registry_agents',
      help: 'Registered agents by lifecycle state.',
      labelNames: ['state'],
      collect() {
        for (const state of AGENT_STATES) this.set({ state }, byState[state]);
      },
    });
    this.registrations = metrics.fastCounter({
      name: 'registry_registrations_total',
      help: 'Successful registrations; outcome is `new` or `replaced` (same agent id re-registered).',
      labelNames: ['outcome'],
      series: { new: { outcome: 'new' }, replaced: { outcome: 'replaced' } },
    });
    this.rejections = metrics.fastCounter({
      name: 'registry_rejections_total',
      help: 'Refused registrations by reason (invalid, duplicate-id, max-instances, draining).',
      labelNames: ['reason'],
      series: {
        invalid: { reason: 'invalid' },
        'duplicate-id': { reason: 'duplicate-id' },
        'max-instances': { reason: 'max-instances' },
        draining: { reason: 'draining' },
      },
    });
    this.leaseExpiries = metrics.counter({
      name: 'registry_lease_expiries_total',
      help: 'Leases that lapsed without a renewal.',
    });
    this.removals = metrics.fastCounter({
      name: 'registry_removals_total',
      help: 'Agents removed, by cause (deregister, lease-expired, session-closed, replaced).',
      labelNames: ['reason'],
      series: {
        deregister: { reason: 'deregister' },
        'lease-expired': { reason: 'lease-expired' },
        'session-closed': { reason: 'session-closed' },
        replaced: { reason: 'replaced' },
      },
    });
    this.rangeEvictions = metrics.counter({
      name: 'registry_range_cache_evictions_total',
      help: 'Parsed semver ranges evicted from the bounded discovery cache.',
    });
  }

  registered(outcome: RegistrationOutcome): void {
    this.registrations[outcome]++;
  }

  rejected(reason: RejectionReason): void {
    this.rejections[reason]++;
  }

  leaseExpired(): void {
    this.leaseExpiries.inc();
  }

  /** `reason` is bucketed to a fixed set so free-text deregistration reasons never become labels. */
  removed(reason: string): void {
    this.removals[REMOVAL_REASONS.has(reason) ? (reason as RemovalReason) : 'deregister']++;
  }

  rangeEvicted(): void {
    this.rangeEvictions.inc();
  }
}

type RemovalReason = 'deregister' | 'lease-expired' | 'session-closed' | 'replaced';

const REMOVAL_REASONS = new Set(['lease-expired', 'session-closed', 'replaced']);
