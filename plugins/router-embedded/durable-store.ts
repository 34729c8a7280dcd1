/**
 * The crash-safe store behind at-least-once delivery: lmdb in `<dataDir>/<plugin name>/`.
 *
 * Group commit comes from lmdb-js itself: every `put`/`remove` issued in one event-loop turn goes
 * into one transaction on its writer thread, and `flushed` resolves once that transaction is synced.
 * Concurrent `send`s therefore share one fsync instead of paying one each.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { makeFilesPrivate, tightenOwnDir, type MessageEnvelope } from '../../kernel';

export interface StoredMessage {
  /** `a:<agentId>`, `g:<pattern>\u0000<group>` or `s:<sessionId>`. */
  target: string;
  subscription: string;
  message: MessageEnvelope;
  enqueuedAt: number;
}

export class DurableStore {
  private readonly root: RootDatabase;
  private readonly messages: Database<StoredMessage, number>;
  private readonly dedupe: Database<number, string>;
  private readonly knownAgents: Database<number, string>;

  constructor(directory: string, mapSize: number) {
    tightenOwnDir(directory);
    // overlappingSync keeps fsync out of the writer lock; `flushed` still tells us when data is durable.
    this.root = open({ path: directory, mapSize, overlappingSync: true });
    makeFilesPrivate(directory); // lmdb creates data.mdb and lock.mdb 0664 (less the umask)
    this.messages = this.root.openDB<StoredMessage, number>({ name: 'messages', encoding: 'msgpack' });
    this.dedupe = this.root.openDB<number, string>({ name: 'dedupe', encoding: 'msgpack' });
    this.knownAgents = this.root.openDB<number, string>({ name: 'known-agents', encoding: 'msgpack' });
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

  /** Queues a write into the current batch; await `synced()` to know it is on disk. */
  putMessage(seq: number, record: StoredMessage): Promise<boolean> {
    return this.messages.put(seq, record);
  }

  removeMessage(seq: number): Promise<boolean> {
    return this.messages.remove(seq);
  }

  putDedupe(id: string, expiresAt: number): Promise<boolean> {
    return this.dedupe.put(id, expiresAt);
  }

  removeDedupe(id: string): Promise<boolean> {
    return this.dedupe.remove(id);
  }

  /** Resolves once every write issued so far is committed and synced to disk. */
  async synced(): Promise<void> {
    await this.root.committed;
    await this.root.flushed;
  }

  *loadMessages(): Generator<{ seq: number; record: StoredMessage }> {
    for (const { key, value } of this.messages.getRange()) yield { seq: key, record: value };
  }

  *loadDedupe(): Generator<{ id: string; expiresAt: number }> {
    for (const { key, value } of this.dedupe.getRange()) yield { id: key, expiresAt: value };
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
