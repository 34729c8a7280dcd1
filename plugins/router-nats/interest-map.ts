/**
 * Who listens where, for receiver counts. NATS routes topic messages by itself but cannot tell a
 * publisher how many subscribers got one, and the contract reports `receivers`. Each gateway
 * publishes a snapshot of its subscription patterns (a count per pattern; a queue group counts
 * once) when it changes and every `intervalMs`; snapshots not renewed for three periods are
 * forgotten. Counts for other gateways are therefore estimates up to one interval old.
 */
import { topicMatches } from '../../kernel';

interface Snapshot {
  patterns: Array<[tokens: string[], count: number, groupKey: string]>;
  seenAt: number;
}

export class InterestMap {
  /** `pattern\u0000group` → subscriber count; a queue group (non-empty group) receives once wherever its members are. */
  private readonly local = new Map<string, { tokens: string[]; count: number; group: string }>();
  private readonly remote = new Map<string, Snapshot>();
  private version = 0;

  constructor(
    private readonly selfId: string,
    private readonly maxRemote: number,
    private readonly onFull: (gatewayId: string) => void,
  ) {}

  /** Bumps on each local change so the owner knows a snapshot is due. */
  get localVersion(): number {
    return this.version;
  }

  get remoteCount(): number {
    return this.remote.size;
  }

  add(pattern: string, group = ''): void {
    const key = `${pattern}\u0000${group}`;
    const entry = this.local.get(key);
    if (entry) entry.count++;
    else this.local.set(key, { tokens: pattern.split('.'), count: 1, group });
    this.version++;
  }

  remove(pattern: string, group = ''): void {
    const key = `${pattern}\u0000${group}`;
    const entry = this.local.get(key);
    if (!entry) return;
    if (--entry.count === 0) this.local.delete(key);
    this.version++;
  }

  snapshot(): string {
    const patterns: Array<[string, number, string]> = [];
    for (const { tokens, count, group } of this.local.values()) patterns.push([tokens.join('.'), count, group]);
    return JSON.stringify({ g: this.selfId, p: patterns });
  }

  /** Applies another gateway's snapshot; ignores garbage. */
  apply(json: string, now: number): void {
    let parsed: { g?: unknown; p?: unknown };
    try {
      parsed = JSON.parse(json) as typeof parsed;
    } catch {
      return;
    }
    if (typeof parsed.g !== 'string' || parsed.g === this.selfId || !Array.isArray(parsed.p)) return;
    if (!this.remote.has(parsed.g) && this.remote.size >= this.maxRemote) {
      this.onFull(parsed.g);
      return;
    }
    const patterns: Snapshot['patterns'] = [];
    for (const item of parsed.p as unknown[]) {
      if (Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'number') {
        const group = typeof item[2] === 'string' ? item[2] : '';
        patterns.push([item[0].split('.'), item[1], group ? `${item[0]}\u0000${group}` : '']);
      }
    }
    this.remote.set(parsed.g, { patterns, seenAt: now });
  }

  forget(gatewayId: string): void {
    this.remote.delete(gatewayId);
  }

  expire(now: number, maxAgeMs: number): void {
    for (const [id, snapshot] of this.remote) if (now - snapshot.seenAt > maxAgeMs) this.remote.delete(id);
  }

  /** Receivers (here and, as last reported, elsewhere) for `topic`: plain subscribers plus one per matching queue group. */
  count(topic: string): number {
    const tokens = topic.split('.');
    let total = 0;
    let groups: Set<string> | undefined;
    for (const [key, entry] of this.local) {
      if (!topicMatches(entry.tokens, tokens)) continue;
      if (entry.group) (groups ??= new Set()).add(key);
      else total += entry.count;
    }
    for (const snapshot of this.remote.values()) {
      for (const [pattern, count, groupKey] of snapshot.patterns) {
        if (!topicMatches(pattern, tokens)) continue;
        if (groupKey) (groups ??= new Set()).add(groupKey);
        else total += count;
      }
    }
    return total + (groups?.size ?? 0);
  }
}
