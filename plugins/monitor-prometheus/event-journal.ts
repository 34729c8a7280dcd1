/**
 * Recent notable events (restarts, dead letters, policy changes, anomalies, limits) for the
 * dashboard and `/api/events`. A fixed-size ring: the oldest event is overwritten when full, which
 * is the documented policy since a dashboard only ever shows the latest ones.
 */
import type { GatewayHooks } from '../../kernel';
import { isRestart } from './gateway-metrics';

export interface JournalEvent {
  /** Increasing sequence number, so live clients can ask only for what is new. */
  seq: number;
  at: number;
  kind: string;
  agentId?: string;
  message: string;
}

export class EventJournal {
  private readonly ring: (JournalEvent | undefined)[];
  private next = 0;
  private seq = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<JournalEvent | undefined>(capacity);
  }

  get lastSeq(): number {
    return this.seq;
  }

  add(kind: string, message: string, agentId?: string): void {
    this.seq += 1;
    this.ring[this.next] = { seq: this.seq, at: Date.now(), kind, message, ...(agentId ? { agentId } : {}) };
    this.next = (this.next + 1) % this.capacity;
  }

  /** Events with a sequence number above `afterSeq`, oldest first, at most `limit`. */
  since(afterSeq: number, limit = this.capacity): JournalEvent[] {
    const events: JournalEvent[] = [];
    for (let i = 0; i < this.capacity; i += 1) {
      const event = this.ring[(this.next + i) % this.capacity];
      if (event && event.seq > afterSeq) events.push(event);
    }
    return events.length > limit ? events.slice(events.length - limit) : events;
  }

  /** Records the events worth showing an operator. None of these are per-message hot paths except dead letters, which are rare by design. */
  attach(name: string, hooks: GatewayHooks): void {
    hooks.agentRegistered.tap(name, (agent) =>
      this.add('agent-registered', `${agent.agentId} registered (${agent.service}@${agent.version})`, agent.agentId),
    );
    hooks.agentDeregistered.tap(name, (agent, reason) => this.add('agent-deregistered', `${agent.agentId} left: ${reason}`, agent.agentId));
    hooks.agentStateChanged.tap(name, (change) => {
      const kind = isRestart(change.from, change.to) ? 'restart' : 'state-changed';
      this.add(kind, `${change.agentId}: ${change.from} → ${change.to} (${change.reason})`, change.agentId);
    });
    hooks.healthChanged.tap(name, (change) =>
      this.add('health-changed', `${change.agentId}: ${change.from} → ${change.to} (${change.reason})`, change.agentId),
    );
    hooks.messageDeadLettered.tap(name, (deadLetter) =>
      this.add(
        'dead-letter',
        `message ${deadLetter.message.id} dead-lettered after ${deadLetter.attempts} attempt(s): ${deadLetter.reason}`,
        deadLetter.message.agentId || undefined,
      ),
    );
    hooks.policyChanged.tap(name, (event) => this.add('policy-changed', `auth policy ${event.version} loaded from ${event.source}`));
    hooks.anomaly.tap(name, (event) =>
      this.add('anomaly', `${event.rule} = ${round(event.value)} ≥ ${round(event.threshold)} → ${event.action}`, event.agentId),
    );
    hooks.limitReached.tap(name, (event) =>
      this.add('limit', `${event.limit} reached (${event.policy})${event.detail ? `: ${event.detail}` : ''}`),
    );
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
