/**
 * Message rates per topic and service, plus a short throughput history, for the dashboard.
 *
 * Topics come from clients, so the table is capped (`maxTargets`): traffic to targets beyond it is
 * counted under `(other)` and `limitReached` fires once. Reply inboxes (`_INBOX.<id>`) are unique
 * per request, so they are all folded into one `_INBOX.*` row. Counting a message is one Map get
 * and an increment.
 */
import { REPLY_TOPIC_PREFIX, type GatewayHooks, type MessageEnvelope } from '../../kernel';
import type { TrafficTotals } from './gateway-metrics';

interface TargetCounter {
  kind: 'topic' | 'service' | 'agent';
  name: string;
  total: number;
  /** Total at the previous tick; the difference over the tick length is the rate. */
  previous: number;
  rate: number;
}

export interface ThroughputPoint {
  at: number;
  accepted: number;
  delivered: number;
  dropped: number;
  deadLettered: number;
}

export interface TargetRate {
  kind: string;
  name: string;
  total: number;
  perSecond: number;
}

const OTHER_TARGET = '(other)';
const INBOX_TARGET = `${REPLY_TOPIC_PREFIX}*`;

export class TrafficRates {
  private readonly topics = new Map<string, TargetCounter>();
  private readonly services = new Map<string, TargetCounter>();
  private readonly agents = new Map<string, TargetCounter>();
  private readonly history: ThroughputPoint[] = [];
  private previousTotals: TrafficTotals = { accepted: 0, delivered: 0, dropped: 0, deadLettered: 0 };
  private previousTickAt = Date.now();
  private overflowReported = false;

  constructor(
    private readonly totals: TrafficTotals,
    private readonly maxTargets: number,
    private readonly historyPoints: number,
    private readonly onOverflow: (detail: string) => void,
  ) {}

  attach(name: string, hooks: GatewayHooks): void {
    hooks.messageAccepted.tap(name, (message) => this.count(message));
  }

  private count(message: MessageEnvelope): void {
    if (message.topic) {
      this.counter(this.topics, 'topic', message.topic.startsWith(REPLY_TOPIC_PREFIX) ? INBOX_TARGET : message.topic).total += 1;
    } else if (message.service) {
      this.counter(this.services, 'service', message.service).total += 1;
    } else if (message.agentId) {
      this.counter(this.agents, 'agent', message.agentId).total += 1;
    }
  }

  private counter(map: Map<string, TargetCounter>, kind: TargetCounter['kind'], name: string): TargetCounter {
    let counter = map.get(name);
    if (counter !== undefined) return counter;
    const tracked = this.topics.size + this.services.size + this.agents.size;
    if (tracked >= this.maxTargets) {
      if (!this.overflowReported) {
        this.overflowReported = true;
        this.onOverflow(`more than ${this.maxTargets} topics/services/agents with traffic; counting the rest as ${OTHER_TARGET}`);
      }
      counter = map.get(OTHER_TARGET);
      if (counter !== undefined) return counter;
      name = OTHER_TARGET;
    }
    counter = { kind, name, total: 0, previous: 0, rate: 0 };
    map.set(name, counter);
    return counter;
  }

  /** Turns the counts since the last tick into rates and appends a throughput point. */
  tick(now: number): ThroughputPoint {
    const seconds = Math.max(0.001, (now - this.previousTickAt) / 1000);
    this.previousTickAt = now;
    const perSecond = (current: number, previous: number) => Math.round(((current - previous) / seconds) * 100) / 100;
    const point: ThroughputPoint = {
      at: now,
      accepted: perSecond(this.totals.accepted, this.previousTotals.accepted),
      delivered: perSecond(this.totals.delivered, this.previousTotals.delivered),
      dropped: perSecond(this.totals.dropped, this.previousTotals.dropped),
      deadLettered: perSecond(this.totals.deadLettered, this.previousTotals.deadLettered),
    };
    this.previousTotals = { ...this.totals };
    this.history.push(point);
    if (this.history.length > this.historyPoints) this.history.shift();
    for (const map of [this.topics, this.services, this.agents]) {
      for (const counter of map.values()) {
        counter.rate = perSecond(counter.total, counter.previous);
        counter.previous = counter.total;
      }
    }
    return point;
  }

  throughput(): readonly ThroughputPoint[] {
    return this.history;
  }

  /** The busiest targets first. */
  targets(limit: number): TargetRate[] {
    const rows: TargetRate[] = [];
    for (const map of [this.topics, this.services, this.agents]) {
      for (const counter of map.values())
        rows.push({ kind: counter.kind, name: counter.name, total: counter.total, perSecond: counter.rate });
    }
    rows.sort((a, b) => b.perSecond - a.perSecond || b.total - a.total);
    return rows.slice(0, limit);
  }
}
