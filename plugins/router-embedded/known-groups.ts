/**
 * Queue groups that have had a member here, persisted with the durable store, so a durable
 * message for a group whose members are away (reconnecting after a restart of the gateway, or all
 * restarting at once) is stored and waits for them instead of being answered `receivers: 0`.
 *
 * Bounded by `groupBacklog.maxKnownGroups`: the least recently joined group is forgotten first
 * (`limitReached`). A group with stored messages is known again after every start. A group that
 * has had no member for `groupBacklog.forgetAfterMs` and holds no message is forgotten, so a
 * retired group does not collect a topic's messages for ever.
 */
import { groupKey, TopicTrie } from './topic-trie';

export interface KnownGroupsStore {
  putKnownGroup(key: string, seenAt: number): Promise<boolean>;
  removeKnownGroup(key: string): Promise<boolean>;
  loadKnownGroups(): Iterable<{ key: string; seenAt: number }>;
}

/** The trie wants members; every known group has this one. */
const KNOWN = true;

export class KnownGroups {
  /** key → last joined, in recency order. */
  private readonly seen = new Map<string, number>();
  private readonly trie = new TopicTrie<typeof KNOWN>(1_024);
  private store?: KnownGroupsStore;

  constructor(
    private readonly limit: number,
    private readonly onEvict: () => void,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  attach(store: KnownGroupsStore, withMessages: readonly string[], now: number): void {
    this.store = store;
    const loaded = [...store.loadKnownGroups()].sort((a, b) => a.seenAt - b.seenAt);
    for (const { key, seenAt } of loaded.slice(-this.limit)) this.add(key, seenAt);
    for (const key of withMessages) if (!this.seen.has(key)) this.touch(key, now);
  }

  /** A member joined the group (`groupKey(pattern, name)`). */
  touch(key: string, now: number): void {
    const known = this.seen.has(key);
    if (known) this.seen.delete(key);
    this.add(key, now);
    void this.store?.putKnownGroup(key, now);
    if (known || this.seen.size <= this.limit) return;
    this.forget(this.seen.keys().next().value as string);
    this.onEvict();
  }

  private forget(key: string): void {
    this.seen.delete(key);
    const [pattern, name] = split(key);
    this.trie.remove(KNOWN, pattern, name);
    void this.store?.removeKnownGroup(key);
  }

  /**
   * Groups with a member are seen now (in memory; stored at most once per `forgetAfterMs / 4`, so a
   * long-lived member is not forgotten after a restart); groups away too long are forgotten.
   */
  sweep(now: number, forgetAfterMs: number, hasMember: (key: string) => boolean, hasMessages: (key: string) => boolean): void {
    const refresh: string[] = [];
    for (const [key, seenAt] of this.seen) {
      if (hasMember(key)) {
        if (now - seenAt > forgetAfterMs / 4) refresh.push(key);
      } else if (now - seenAt > forgetAfterMs && !hasMessages(key)) {
        this.forget(key);
      }
    }
    for (const key of refresh) this.touch(key, now);
  }

  /** Known groups whose pattern matches the topic: `[key, pattern]`. */
  *match(topic: string): Generator<[string, string]> {
    if (this.seen.size === 0) return;
    for (const group of this.trie.match(topic).groups) yield [group.key, group.pattern];
  }

  private add(key: string, seenAt: number): void {
    this.seen.set(key, seenAt);
    const [pattern, name] = split(key);
    this.trie.add(KNOWN, pattern, name);
  }
}

function split(key: string): [string, string] {
  const at = key.indexOf('\u0000');
  return [key.slice(0, at), key.slice(at + 1)];
}

export { groupKey };
