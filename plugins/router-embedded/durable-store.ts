/**
 * The crash-safe store behind at-least-once delivery: lmdb in `<dataDir>/<plugin name>/`.
 *
 * Group commit comes from lmdb-js itself: every `put`/`remove` issued in one event-loop turn goes
 * into one transaction on its writer thread, and `flushed` resolves once that transaction is synced.
 * Concurrent `send`s therefore share one fsync instead of paying one each.
 *
 * Each message is two records written in the same transaction: the full message under `messages`
 * (read only when it is delivered) and a small index record under `index` (read at start). The
 * router keeps only the index in memory, so a backlog costs disk, not heap, and a restart reads a
 * few dozen bytes per pending message instead of decoding every payload.
 */
import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { makeFilesPrivate, tightenOwnDir, type MessageEnvelope, type OriginalOutcome } from '../../kernel';

export interface StoredMessage {
  /** `a:<agentId>`, `g:<pattern>\u0000<group>` or `s:<sessionId>`. */
  target: string;
  subscription: string;
  message: MessageEnvelope;
  enqueuedAt: number;
}

/** What the router keeps in memory about a stored message (see `durable-entry.ts`). */
export interface IndexRecord {
  target: string;
  /** Bytes counted against the store and backlog limits (see `storedCost`). */
  cost: number;
  enqueuedAt: number;
  ttlMs: number;
  /** The producer's message id, for the dedupe outcome; '' when the router generated the id. */
  id: string;
  /** Set for messages sent to a service: what re-homing needs to pick another instance. */
  service?: { service: string; versionRange: string; key: string };
}

/** Stored as an array: the index is read whole at start, every byte counts. */
type IndexTuple = [
  target: string,
  cost: number,
  enqueuedAt: number,
  ttlMs: number,
  id: string,
  service?: string,
  versionRange?: string,
  key?: string,
];

export interface DedupeRecord {
  expiresAt: number;
  /** Undefined for ids remembered by a gateway that did not record outcomes. */
  outcome?: OriginalOutcome;
}

export class DurableStore {
  private readonly root: RootDatabase;
  private readonly messages: Database<StoredMessage, number>;
  private readonly index: Database<IndexTuple, number>;
  private readonly dedupe: Database<number | [number, OriginalOutcome], string>;
  private readonly knownAgents: Database<number, string>;
  private readonly knownGroups: Database<number, string>;
  private readonly dataFile: string;

  constructor(directory: string, mapSize: number) {
    tightenOwnDir(directory);
    this.dataFile = path.join(directory, 'data.mdb');
    // overlappingSync keeps fsync out of the writer lock; `flushed` still tells us when data is durable.
    // lmdb-js grows the map by itself when it fills: `mapSize` is a starting size, not a limit.
    this.root = open({ path: directory, mapSize, overlappingSync: true });
    makeFilesPrivate(directory); // lmdb creates data.mdb and lock.mdb 0664 (less the umask)
    this.messages = this.root.openDB<StoredMessage, number>({ name: 'messages', encoding: 'msgpack' });
    this.index = this.root.openDB<IndexTuple, number>({ name: 'index', encoding: 'msgpack' });
    this.dedupe = this.root.openDB<number | [number, OriginalOutcome], string>({ name: 'dedupe', encoding: 'msgpack' });
    this.knownAgents = this.root.openDB<number, string>({ name: 'known-agents', encoding: 'msgpack' });
    this.knownGroups = this.root.openDB<number, string>({ name: 'known-groups', encoding: 'msgpack' });
  }

  /** Bytes of the data file on disk (its high-water mark: lmdb reuses freed pages, never shrinks). */
  get fileBytes(): number {
    try {
      return fs.statSync(this.dataFile).size;
    } catch {
      return 0;
    }
  }

  putKnownAgent(agentId: string, seenAt: number): Promise<boolean> {
    return this.knownAgents.put(agentId, seenAt);
  }

  removeKnownAgent(agentId: string): Promise<boolean> {
    return this.knownAgents.remove(agentId);
  }

  *loadKnownAgents(): Generator<{ agentId: string; seenAt: number }> {
    for (const { key, value } of this.knownAgents.getRange()) yield { agentId: key, seenAt: value };
  }

  putKnownGroup(key: string, seenAt: number): Promise<boolean> {
    return this.knownGroups.put(key, seenAt);
  }

  removeKnownGroup(key: string): Promise<boolean> {
    return this.knownGroups.remove(key);
  }

  *loadKnownGroups(): Generator<{ key: string; seenAt: number }> {
    for (const { key, value } of this.knownGroups.getRange()) yield { key, seenAt: value };
  }

  /** Queues both records into the current batch; await `synced()` to know they are on disk. */
  putMessage(seq: number, record: StoredMessage, entry: IndexRecord): void {
    void this.messages.put(seq, record);
    void this.index.put(seq, toTuple(entry));
  }

  /** Re-points a stored message at another target (a service message re-homed). */
  moveMessage(seq: number, target: string, entry: IndexRecord): void {
    const record = this.messages.get(seq);
    if (record) void this.messages.put(seq, { ...record, target });
    void this.index.put(seq, toTuple({ ...entry, target }));
  }

  /** Reads a message back for delivery (synchronous: lmdb reads from its memory map). */
  readMessage(seq: number): StoredMessage | undefined {
    return this.messages.get(seq);
  }

  removeMessage(seq: number): Promise<boolean> {
    void this.index.remove(seq);
    return this.messages.remove(seq);
  }

  putDedupe(id: string, record: DedupeRecord): Promise<boolean> {
    return this.dedupe.put(id, record.outcome ? [record.expiresAt, record.outcome] : record.expiresAt);
  }

  removeDedupe(id: string): Promise<boolean> {
    return this.dedupe.remove(id);
  }

  /** Resolves once every write issued so far is committed and synced to disk. */
  async synced(): Promise<void> {
    await this.root.committed;
    await this.root.flushed;
  }

  /**
   * The index of every stored message, in sequence order. A store written before the index
   * existed gets it built once, from the messages themselves.
   */
  *loadIndex(cost: (record: StoredMessage) => number, bootIdLength: number): Generator<{ seq: number; entry: IndexRecord }> {
    if (this.index.getCount() === 0 && this.messages.getCount() > 0) {
      // Router-generated ids (`<bootId hex>-<counter base 36>`) never took part in dedupe.
      const generated = new RegExp(`^[0-9a-f]{${bootIdLength}}-[0-9a-z]+$`);
      for (const { key, value } of this.messages.getRange()) {
        const entry = indexOf(value, cost(value), generated.test(value.message.id) ? '' : value.message.id);
        void this.index.put(key, toTuple(entry));
        yield { seq: key, entry };
      }
      return;
    }
    for (const { key, value } of this.index.getRange()) yield { seq: key, entry: fromTuple(value) };
  }

  *loadDedupe(): Generator<{ id: string; record: DedupeRecord }> {
    for (const { key, value } of this.dedupe.getRange()) {
      yield { id: key, record: typeof value === 'number' ? { expiresAt: value } : { expiresAt: value[0], outcome: value[1] } };
    }
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

export function indexOf(record: StoredMessage, cost: number, clientId: string): IndexRecord {
  const message = record.message;
  const serviceAddressed = record.target.startsWith('a:') && record.subscription.startsWith('service:') && message.service !== '';
  return {
    target: record.target,
    cost,
    enqueuedAt: record.enqueuedAt,
    ttlMs: message.ttlMs,
    id: clientId,
    service: serviceAddressed ? { service: message.service, versionRange: message.versionRange, key: message.key } : undefined,
  };
}

function toTuple(entry: IndexRecord): IndexTuple {
  const { target, cost, enqueuedAt, ttlMs, id, service } = entry;
  return service
    ? [target, cost, enqueuedAt, ttlMs, id, service.service, service.versionRange, service.key]
    : [target, cost, enqueuedAt, ttlMs, id];
}

function fromTuple(tuple: IndexTuple): IndexRecord {
  const [target, cost, enqueuedAt, ttlMs, id, service, versionRange, key] = tuple;
  return {
    target,
    cost,
    enqueuedAt,
    ttlMs,
    id,
    service: service === undefined ? undefined : { service, versionRange: versionRange ?? '', key: key ?? '' },
  };
}
