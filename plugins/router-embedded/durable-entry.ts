/**
 * What the router keeps in memory per stored message: its index record and its delivery state,
 * never its payload (read from the store when it is delivered). Plus what it costs on disk.
 */
import type { IndexRecord, StoredMessage } from './durable-store';
import type { Session } from './session';

/**
 * One delivery attempt in flight: the single record of who holds a durable message and under
 * which tag. Everything that checks or ends an attempt goes through it.
 */
export interface InFlight {
  /** `<bootId>.<seq>.<attempt>.<secret>`: unique per attempt and per process start, unguessable. */
  readonly tag: string;
  /** The session it was written to. */
  readonly session: Session;
  /** Fires after `durable.ackTimeoutMs` (restarted by an in-progress ack). */
  ackTimer?: NodeJS.Timeout;
}

export interface DurableEntry {
  readonly seq: number;
  /** Random tag suffix (one per message): only receivers ever see it, so nobody else can name it. */
  readonly secret: string;
  /** Changes only when a service message is re-homed to another instance. */
  target: Target;
  index: IndexRecord;
  attempts: number;
  extensions: number;
  state: 'committing' | 'ready' | 'inflight' | 'backoff';
  /** Set while the write commits, so the first delivery needs no read; dropped afterwards. */
  record?: StoredMessage;
  inflight?: InFlight;
  /** Redelivery backoff. */
  retryTimer?: NodeJS.Timeout;
  /** The member whose ack timeout sent it back: the next attempt prefers another one. */
  avoid?: Session;
}

export interface Target {
  readonly key: string;
  /** Entries waiting for a receiver, oldest first (redeliveries go back to the front). */
  readonly ready: DurableEntry[];
  inflight: number;
  count: number;
  bytes: number;
  /** Entries sent to a service (any state): only those can move to another instance. */
  serviceEntries: number;
}

const PAGE_BYTES = 4096;
/** Msgpack framing, field names and the lmdb node header of one stored message, roughly. */
const RECORD_OVERHEAD_BYTES = 256;
/** The index record and its share of the index tree. */
const INDEX_COST_BYTES = 256;

/**
 * Bytes a message takes in the store, the unit of `durable.maxStoreBytes` and the backlog byte
 * limits. lmdb puts a value over half a page on overflow pages of its own (a 4 KiB payload takes
 * two 4 KiB pages), and keeps smaller values in leaf pages that are at worst half full, so the
 * estimate follows the pages, not the payload: that is what makes the limit hold on disk.
 */
export function storedCost(record: StoredMessage): number {
  const message = record.message;
  let text = record.target.length + record.subscription.length + message.id.length + message.topic.length + message.agentId.length;
  text += message.service.length + message.versionRange.length + message.key.length + message.correlationId.length + message.replyTo.length;
  text += message.contentType.length + message.senderId.length;
  for (const name in message.headers) text += name.length + (message.headers[name]?.length ?? 0);
  const raw = message.payload.length + text + RECORD_OVERHEAD_BYTES;
  const messageBytes = raw > PAGE_BYTES / 2 ? Math.ceil((raw + 16) / PAGE_BYTES) * PAGE_BYTES : raw * 2;
  return messageBytes + INDEX_COST_BYTES;
}
