/**
 * Subscription index: a token trie (NATS-style `*` and `>` wildcards) with a bounded cache of
 * match results per concrete topic, so a hot topic is matched by one Map lookup. Any subscription
 * change clears the cache: subscriptions change rarely next to messages, and a cleared cache can
 * never serve a stale receiver list.
 */

/** Members of one queue group share its messages: each message goes to one member. */
export interface QueueGroup<S> {
  /** `<pattern>\u0000<name>`: identifies the group across sessions (and in the durable store). */
  readonly key: string;
  readonly pattern: string;
  readonly name: string;
  readonly members: S[];
  /** Round-robin cursor over `members`. */
  next: number;
}

export interface PatternSubscribers<S> {
  readonly pattern: string;
  readonly sessions: readonly S[];
}

export interface MatchResult<S> {
  /** Plain subscribers grouped by the pattern that matched, so a fan-out shares one Delivery per pattern. */
  readonly byPattern: readonly PatternSubscribers<S>[];
  readonly groups: readonly QueueGroup<S>[];
}

interface TrieNode<S> {
  readonly pattern: string;
  children?: Map<string, TrieNode<S>>;
  plain?: Set<S>;
  groups?: Map<string, QueueGroup<S>>;
}

const EMPTY: MatchResult<never> = Object.freeze({ byPattern: Object.freeze([]), groups: Object.freeze([]) });

export function groupKey(pattern: string, name: string): string {
  return `${pattern}\u0000${name}`;
}

export class TopicTrie<S> {
  private readonly root: TrieNode<S> = { pattern: '' };
  private readonly cache = new Map<string, MatchResult<S>>();
  private readonly groupIndex = new Map<string, QueueGroup<S>>();
  private subscriptionCount = 0;

  constructor(private readonly cacheSize: number) {}

  get size(): number {
    return this.subscriptionCount;
  }

  /** Returns false when the session already had this subscription. */
  add(session: S, pattern: string, queueGroup?: string): boolean {
    let node = this.root;
    for (const token of pattern.split('.')) {
      node.children ??= new Map();
      let child = node.children.get(token);
      if (!child) {
        child = { pattern: node === this.root ? token : `${node.pattern}.${token}` };
        node.children.set(token, child);
      }
      node = child;
    }
    let added: boolean;
    if (queueGroup) {
      node.groups ??= new Map();
      let group = node.groups.get(queueGroup);
      if (!group) {
        group = { key: groupKey(pattern, queueGroup), pattern, name: queueGroup, members: [], next: 0 };
        node.groups.set(queueGroup, group);
        this.groupIndex.set(group.key, group);
      }
      added = !group.members.includes(session);
      if (added) group.members.push(session);
    } else {
      node.plain ??= new Set();
      added = !node.plain.has(session);
      node.plain.add(session);
    }
    if (added) {
      this.subscriptionCount++;
      this.cache.clear();
    }
    return added;
  }

  /** Returns false when there was no such subscription. */
  remove(session: S, pattern: string, queueGroup?: string): boolean {
    const path: TrieNode<S>[] = [this.root];
    let node: TrieNode<S> | undefined = this.root;
    const tokens = pattern.split('.');
    for (const token of tokens) {
      node = node.children?.get(token);
      if (!node) return false;
      path.push(node);
    }
    let removed = false;
    if (queueGroup) {
      const group = node.groups?.get(queueGroup);
      const index = group ? group.members.indexOf(session) : -1;
      if (group && index >= 0) {
        group.members.splice(index, 1);
        removed = true;
        if (group.members.length === 0) {
          node.groups!.delete(queueGroup);
          this.groupIndex.delete(group.key);
        }
      }
    } else {
      removed = node.plain?.delete(session) ?? false;
    }
    if (!removed) return false;
    this.subscriptionCount--;
    this.cache.clear();
    // Prune empty branches so churn in client-chosen topics cannot leave the trie growing.
    for (let depth = path.length - 1; depth > 0; depth--) {
      const current = path[depth];
      if (current.plain?.size || current.groups?.size || current.children?.size) break;
      path[depth - 1].children!.delete(tokens[depth - 1]);
    }
    return true;
  }

  group(key: string): QueueGroup<S> | undefined {
    return this.groupIndex.get(key);
  }

  match(topic: string): MatchResult<S> {
    const cached = this.cache.get(topic);
    if (cached) return cached;
    const byPattern: PatternSubscribers<S>[] = [];
    const groups: QueueGroup<S>[] = [];
    collect(this.root, topic.split('.'), 0, byPattern, groups);
    const result: MatchResult<S> = byPattern.length === 0 && groups.length === 0 ? EMPTY : { byPattern, groups };
    if (this.cacheSize > 0) {
      // Oldest-first eviction keeps the cache bounded when publishers invent topics.
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(topic, result);
    }
    return result;
  }

  cacheEntries(): number {
    return this.cache.size;
  }
}

function take<S>(node: TrieNode<S>, byPattern: PatternSubscribers<S>[], groups: QueueGroup<S>[]): void {
  if (node.plain?.size) byPattern.push({ pattern: node.pattern, sessions: [...node.plain] });
  if (node.groups?.size) for (const group of node.groups.values()) groups.push(group);
}

function collect<S>(node: TrieNode<S>, tokens: string[], index: number, byPattern: PatternSubscribers<S>[], groups: QueueGroup<S>[]): void {
  const children = node.children;
  if (!children) return;
  // `>` matches one or more remaining tokens.
  const rest = children.get('>');
  if (rest && index < tokens.length) take(rest, byPattern, groups);
  if (index === tokens.length) return;
  const last = index === tokens.length - 1;
  const exact = children.get(tokens[index]);
  if (exact) {
    if (last) take(exact, byPattern, groups);
    else collect(exact, tokens, index + 1, byPattern, groups);
  }
  const star = children.get('*');
  if (star) {
    if (last) take(star, byPattern, groups);
    else collect(star, tokens, index + 1, byPattern, groups);
  }
}
