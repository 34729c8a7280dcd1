/**
 * The publisher side of at-most-once traffic on core NATS (no JetStream): nothing is awaited per
 * message.
 *
 * Topic messages are collected for the rest of the event-loop turn and published in a
 * `setImmediate` as topic frames (topic-frames.ts), one NATS message per run of messages to one
 * topic: the frames of a PublishStream (or many sends) that arrive together cost one NATS message
 * and one socket write, not one per frame. At most `MAX_QUEUED_MESSAGES` (or 1 MiB of payloads)
 * wait; reaching it publishes at once. Publish order is kept (runs, not groups per topic), so a wildcard subscriber
 * sees one publisher's messages in the order they were sent.
 *
 * nats.js then buffers what the socket has not taken. That stays bounded: this counts the bytes
 * handed to nats.js since NATS last confirmed it had processed them (a flush: PING/PONG, started
 * once half of `maxBytes` is outstanding, so under a steady flow one is nearly always in flight and
 * nobody waits). Past `maxBytes`, publishers wait (`room`) for the flush, at most `maxWaitMs`; the
 * router refuses a publisher still without room then (`GW_UNAVAILABLE`). While the connection is
 * down there is no room at all: nats.js would discard what it buffered at its next reconnect
 * attempt, so taking messages then would only lose them quietly. Waiters are at most one per
 * pending send call or publish stream, which the transport bounds.
 */
import type { MessageEnvelope } from '../../kernel';
import type { NatsConnection } from 'nats';
import { TopicFrameBuilder } from './topic-frames';

/** Topic messages queued for one turn at most; more are published at once. */
export const MAX_QUEUED_MESSAGES = 10_000;
/** Topic frames stay under this (and under the server's max_payload). */
const MAX_TOPIC_FRAME_BYTES = 1024 * 1024;

export interface PublishBufferHost {
  readonly prefix: string;
  connection(): NatsConnection | undefined;
  /** A publisher waited for room, and how the wait ended. */
  waited(outcome: 'room' | 'timeout'): void;
  /** Queued topic messages that could not be published (connection closed meanwhile). */
  lost(messages: number, error: unknown): void;
}

export class PublishBuffer {
  private unconfirmed = 0;
  private flushing = false;
  private connected = true;
  private waiters: Array<() => void> = [];
  private readonly frames = new TopicFrameBuilder();
  private scheduled = false;
  private readonly publishQueuedBound = () => this.publishQueued();

  constructor(
    private readonly maxBytes: number,
    private readonly maxWaitMs: number,
    private readonly host: PublishBufferHost,
  ) {}

  /**
   * Bytes handed to nats.js that NATS has not yet confirmed, plus payloads queued for this turn
   * (metric `router_nats_publish_buffer_bytes`).
   */
  get bytes(): number {
    return this.unconfirmed + this.frames.bytes;
  }

  /** No room: `maxBytes` unconfirmed, or the connection is down. */
  get full(): boolean {
    return !this.connected || this.bytes >= this.maxBytes;
  }

  /** Follows the connection's status (disconnect / reconnect). */
  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.wake();
  }

  /**
   * Encodes an at-most-once topic message into this turn's frames (so the caller may reuse the
   * message); it is published later this turn.
   */
  queueTopic(message: MessageEnvelope): void {
    this.frames.add(message);
    if (this.frames.messages >= MAX_QUEUED_MESSAGES || this.frames.bytes >= MAX_TOPIC_FRAME_BYTES) this.publishQueued();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.publishQueuedBound);
    }
  }

  /** Publishes one NATS message now (inbox messages, replies: not merged). */
  publish(nc: NatsConnection, subject: string, data: Uint8Array): void {
    nc.publish(subject, data);
    this.unconfirmed += data.length;
    if (!this.flushing && this.unconfirmed * 2 >= this.maxBytes) this.flush(nc);
  }

  /** Publishes what is queued now (also before the router stops). */
  publishQueued(): void {
    this.scheduled = false;
    const count = this.frames.messages;
    if (count === 0) return;
    const frames = this.frames.take();
    const nc = this.host.connection();
    try {
      if (!nc || nc.isClosed()) throw new Error('the router is not connected to NATS');
      for (const { topic, frame } of frames) this.publish(nc, `${this.host.prefix}.t.${topic}`, frame);
      const maxPayload = nc.info?.max_payload;
      if (maxPayload !== undefined) this.frames.maxFrameBytes = Math.min(MAX_TOPIC_FRAME_BYTES, maxPayload);
    } catch (error) {
      this.host.lost(count, error);
    }
  }

  /** Resolves true once below `maxBytes`, false when `maxWaitMs` passed first. */
  room(): Promise<boolean> {
    if (!this.full) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.host.waited('room');
        resolve(true);
      };
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(wake);
        if (index >= 0) this.waiters.splice(index, 1);
        this.host.waited('timeout');
        resolve(false);
      }, this.maxWaitMs);
      this.waiters.push(wake);
    });
  }

  private wake(): void {
    if (this.full || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private flush(nc: NatsConnection): void {
    this.flushing = true;
    const covered = this.unconfirmed;
    // Confirmed, or lost with the connection (nats.js drops its unsent buffer on a disconnect):
    // either way those bytes are no longer held here.
    const settle = () => {
      this.flushing = false;
      this.unconfirmed = Math.max(0, this.unconfirmed - covered);
      this.wake();
      if (this.unconfirmed * 2 >= this.maxBytes && !nc.isClosed()) this.flush(nc);
    };
    nc.flush().then(settle, settle);
  }
}
