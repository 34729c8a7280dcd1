/**
 * Topic messages on the wire between gateways. The at-most-once messages published to one topic
 * in a row (one PublishStream frame, or several frames and sends within one event-loop turn) travel
 * as one NATS message, a topic frame, so 100 messages cost NATS, both nats.js clients and the
 * receiving gateway one NATS message instead of 100. Each message is encoded once, in binary (no
 * JSON per message), into the turn's buffer, and copied from there into its frame:
 *
 *     0xB7 | topic (u32 length, UTF-8) | count u32 | message…
 *     message = flags u16 | id (u32 length, UTF-8) | createdAt f64 | payload (u32 length, bytes) | the fields its flags name
 *
 * Fields at their default (empty string, 0, false, no headers) are left out and named by no flag.
 * Payloads are sliced out of the received bytes without copying. A frame is at most `maxBytes`
 * (a message bigger than that goes alone). The single-envelope frames of envelope-codec.ts start
 * with a zero byte (their u32 head length), so a receiver tells the two apart by the first byte
 * and takes both.
 */
import type { MessageEnvelope } from '../../kernel';
import { decodeEnvelope } from './envelope-codec';

export const TOPIC_FRAME_MARKER = 0xb7;

const AGENT = 1 << 0;
const SERVICE = 1 << 1;
const VERSION_RANGE = 1 << 2;
const HEADERS = 1 << 3;
const DURABLE = 1 << 4;
const SENDER = 1 << 5;
const KEY = 1 << 6;
const HOPS = 1 << 7;
const MAX_HOPS = 1 << 8;
const CORRELATION = 1 << 9;
const REPLY_TO = 1 << 10;
const CONTENT_TYPE = 1 << 11;
const TTL = 1 << 12;

/** Bytes a string can take in UTF-8 plus its length prefix (a UTF-16 unit is at most 3 bytes). */
const stringBound = (value: string): number => 4 + value.length * 3;
/** Marker, topic and count: the most a frame's head can take. */
const frameHead = (topic: string): number => 1 + stringBound(topic) + 4;
const INITIAL_BYTES = 64 * 1024;

function hasHeaders(headers: Record<string, string> | undefined): boolean {
  if (!headers) return false;
  for (const _ in headers) return true;
  return false;
}

/** Upper bound of a message's encoded size, and its flags. */
function measure(message: MessageEnvelope): { flags: number; bound: number; headers?: string } {
  let flags = 0;
  let bound = 2 + stringBound(message.id) + 8 + 4 + message.payload.length;
  let headers: string | undefined;
  if (message.agentId) {
    flags |= AGENT;
    bound += stringBound(message.agentId);
  }
  if (message.service) {
    flags |= SERVICE;
    bound += stringBound(message.service);
  }
  if (message.versionRange) {
    flags |= VERSION_RANGE;
    bound += stringBound(message.versionRange);
  }
  if (hasHeaders(message.headers)) {
    flags |= HEADERS;
    headers = JSON.stringify(message.headers);
    bound += stringBound(headers);
  }
  if (message.durable) flags |= DURABLE;
  if (message.senderId) {
    flags |= SENDER;
    bound += stringBound(message.senderId);
  }
  if (message.key) {
    flags |= KEY;
    bound += stringBound(message.key);
  }
  if (message.hops) {
    flags |= HOPS;
    bound += 4;
  }
  if (message.maxHops) {
    flags |= MAX_HOPS;
    bound += 4;
  }
  if (message.correlationId) {
    flags |= CORRELATION;
    bound += stringBound(message.correlationId);
  }
  if (message.replyTo) {
    flags |= REPLY_TO;
    bound += stringBound(message.replyTo);
  }
  if (message.contentType) {
    flags |= CONTENT_TYPE;
    bound += stringBound(message.contentType);
  }
  if (message.ttlMs) {
    flags |= TTL;
    bound += 8;
  }
  return { flags, bound, headers };
}

/**
 * Collects the records of one event-loop turn's topic messages in one growing buffer, each
 * message encoded once, as it comes, into runs of consecutive messages to one topic (a run is cut
 * before it would pass `maxFrameBytes`). `take` turns each run into a frame.
 */
export class TopicFrameBuilder {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private offset = 0;
  private runs: Array<{ topic: string; start: number; count: number }> = [];
  private count = 0;
  /** Frames stay under this; the publisher lowers it to the server's max_payload. */
  maxFrameBytes = 1024 * 1024;

  /** Messages collected. */
  get messages(): number {
    return this.count;
  }

  /** Bytes of the records collected. */
  get bytes(): number {
    return this.offset;
  }

  /** Encodes `message` (its topic is the run's) after the ones collected. */
  add(message: MessageEnvelope): void {
    const m = measure(message);
    if (this.offset + m.bound > this.buf.length) this.grow(m.bound);
    const topic = message.topic;
    let run = this.runs.length > 0 ? this.runs[this.runs.length - 1] : undefined;
    if (run === undefined || run.topic !== topic || frameHead(topic) + this.offset - run.start + m.bound > this.maxFrameBytes) {
      run = { topic, start: this.offset, count: 0 };
      this.runs.push(run);
    }
    this.write(message, m.flags, m.headers);
    run.count++;
    this.count++;
  }

  /** The frames of everything collected, in order; starts over. */
  take(): Array<{ topic: string; frame: Uint8Array }> {
    const frames: Array<{ topic: string; frame: Uint8Array }> = [];
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i];
      const end = i + 1 < this.runs.length ? this.runs[i + 1].start : this.offset;
      const frame = Buffer.allocUnsafe(frameHead(run.topic) + end - run.start);
      frame[0] = TOPIC_FRAME_MARKER;
      const topicLength = frame.write(run.topic, 5, 'utf8');
      frame.writeUInt32BE(topicLength, 1);
      frame.writeUInt32BE(run.count, 5 + topicLength);
      const body = 9 + topicLength;
      this.buf.copy(frame, body, run.start, end);
      frames.push({ topic: run.topic, frame: frame.subarray(0, body + end - run.start) });
    }
    this.runs = [];
    this.offset = 0;
    this.count = 0;
    // A burst of big payloads does not keep its buffer for good.
    if (this.buf.length > 4 * INITIAL_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    return frames;
  }

  private grow(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.offset + needed));
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  private write(m: MessageEnvelope, flags: number, headers: string | undefined): void {
    this.u16(flags);
    this.string(m.id);
    this.f64(m.createdAt);
    this.u32(m.payload.length);
    this.buf.set(m.payload, this.offset);
    this.offset += m.payload.length;
    if (flags & AGENT) this.string(m.agentId);
    if (flags & SERVICE) this.string(m.service);
    if (flags & VERSION_RANGE) this.string(m.versionRange);
    if (flags & HEADERS) this.string(headers!);
    if (flags & SENDER) this.string(m.senderId);
    if (flags & KEY) this.string(m.key);
    if (flags & HOPS) this.u32(m.hops);
    if (flags & MAX_HOPS) this.u32(m.maxHops);
    if (flags & CORRELATION) this.string(m.correlationId);
    if (flags & REPLY_TO) this.string(m.replyTo);
    if (flags & CONTENT_TYPE) this.string(m.contentType);
    if (flags & TTL) this.f64(m.ttlMs);
  }

  private string(value: string): void {
    const written = value.length === 0 ? 0 : this.buf.write(value, this.offset + 4, 'utf8');
    this.buf.writeUInt32BE(written, this.offset);
    this.offset += 4 + written;
  }

  private u16(value: number): void {
    this.buf.writeUInt16BE(value, this.offset);
    this.offset += 2;
  }

  private u32(value: number): void {
    this.buf.writeUInt32BE(value >>> 0, this.offset);
    this.offset += 4;
  }

  private f64(value: number): void {
    this.buf.writeDoubleBE(value, this.offset);
    this.offset += 8;
  }
}

class FrameReader {
  offset = 0;

  constructor(readonly buf: Buffer) {}

  string(): string {
    const length = this.u32();
    const end = this.offset + length;
    if (end > this.buf.length) throw new Error('topic frame: truncated');
    const value = length === 0 ? '' : this.buf.toString('utf8', this.offset, end);
    this.offset = end;
    return value;
  }

  u16(): number {
    const value = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    const value = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  f64(): number {
    const value = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }

  bytes(): Uint8Array {
    const length = this.u32();
    const end = this.offset + length;
    if (end > this.buf.length) throw new Error('topic frame: truncated');
    const value = this.buf.subarray(this.offset, end);
    this.offset = end;
    return value;
  }
}

/** The messages of a topic frame, or of a single-envelope frame; throws on anything else. */
export function decodeTopicFrame(data: Uint8Array): MessageEnvelope[] {
  if (data[0] !== TOPIC_FRAME_MARKER) return [decodeEnvelope(data).message];
  const r = new FrameReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  r.offset = 1;
  const topic = r.string();
  const count = r.u32();
  // Each message takes at least 18 bytes: a count beyond that is garbage, not an allocation to make.
  if (count > data.length / 18) throw new Error('topic frame: bad count');
  const messages: MessageEnvelope[] = new Array<MessageEnvelope>(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u16();
    const id = r.string();
    const createdAt = r.f64();
    const payload = r.bytes();
    messages[i] = {
      id,
      topic,
      agentId: flags & AGENT ? r.string() : '',
      service: flags & SERVICE ? r.string() : '',
      versionRange: flags & VERSION_RANGE ? r.string() : '',
      payload,
      headers: flags & HEADERS ? (JSON.parse(r.string()) as Record<string, string>) : {},
      durable: (flags & DURABLE) !== 0,
      senderId: flags & SENDER ? r.string() : '',
      key: flags & KEY ? r.string() : '',
      hops: flags & HOPS ? r.u32() : 0,
      maxHops: flags & MAX_HOPS ? r.u32() : 0,
      correlationId: flags & CORRELATION ? r.string() : '',
      replyTo: flags & REPLY_TO ? r.string() : '',
      contentType: flags & CONTENT_TYPE ? r.string() : '',
      createdAt,
      ttlMs: flags & TTL ? r.f64() : 0,
    };
  }
  return messages;
}
