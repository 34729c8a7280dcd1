/**
 * Subscribe stream events, encoded straight into frame bytes. Every frame of a `write` is built in
 * one FrameWriter (frame-writer.ts) that lives as long as the transport, so its buffer grows once
 * to the largest frame and then costs no allocation: one copy per frame (`take`) is all a delivery
 * pays. Sizes are computed before the bytes are written, so no nested message is built apart and
 * copied into its parent; the payload is copied once, from the received bytes into the frame. In
 * proto3 wire format `Event{delivery: D}` (field 1) and one entry of `DeliveryBatch.deliveries`
 * (field 1) are the same bytes, so `Event{batch}` is field 2 wrapping consecutive entries.
 *
 * A Delivery the router marks `shared` (one object handed to many subscribers of a fan-out) is
 * encoded once and its bytes cached (WeakMap: they go when the delivery does); the other
 * subscribers copy the cached bytes into their frames. Unshared deliveries are never cached: the
 * cache entry would cost more than encoding them once.
 */
import type { Delivery, MessageEnvelope, OutboundEvent } from '../../kernel';
import { Event, type RegistryEvent } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { FrameWriter, utf8Length as utf8LengthOf, varintLength as varintLengthOf } from './frame-writer';
import { DecodedMessage } from './request-decoding';

/**
 * Module-local copies of the length helpers: through tsx (the bench, the tests) every imported
 * binding is a getter on the other module's exports object, and these run several times per
 * message (2.4 % of the batched relay's CPU in the getters alone).
 */
const utf8Length = utf8LengthOf;
const varintLength = varintLengthOf;
const passThroughOf = DecodedMessage.passThrough;

const EVENT_DELIVERY_TAG = (1 << 3) | 2;
const EVENT_BATCH_TAG = (2 << 3) | 2;
/** Room left before a batch's entries for its tag and longest length varint (uint32). */
const BATCH_HEADER_ROOM = 6;

export class EventEncoder {
  private readonly cache = new WeakMap<Delivery, Uint8Array>();
  /** Builds every frame; `take()` copies a frame out and keeps the grown buffer. */
  private readonly frame = new FrameWriter();
  /** Builds the cached bytes of shared deliveries (a frame may be open in `frame` meanwhile). */
  private readonly shared = new FrameWriter(4096);

  /** `Event{delivery}` bytes for one delivery, cached per Delivery object. */
  delivery(delivery: Delivery): Uint8Array {
    let bytes = this.cache.get(delivery);
    if (bytes === undefined) {
      this.shared.pos = 0;
      writeDeliveryEntry(this.shared, delivery);
      bytes = this.shared.take();
      this.cache.set(delivery, bytes);
    }
    return bytes;
  }

  /** Encodes `events` as the frames to write: consecutive deliveries share one `Event{batch}`. */
  encode(events: readonly OutboundEvent[], out: Buffer[]): void {
    // A throw part-way (an invalid uint32) must not leave bytes behind for the next frame.
    this.frame.pos = 0;
    const count = events.length;
    let i = 0;
    while (i < count) {
      const event = events[i];
      if (event.kind !== 'delivery') {
        out.push(this.single(event));
        i++;
        continue;
      }
      let end = i + 1;
      while (end < count && events[end].kind === 'delivery') end++;
      if (end - i === 1) {
        out.push(this.single(event));
        i = end;
        continue;
      }
      // The batch's length is known once its entries are written: they start after room for the
      // header, which then goes right before them; the frame is taken from the header on.
      const writer = this.frame;
      const contentStart = writer.pos + BATCH_HEADER_ROOM;
      writer.reserve(BATCH_HEADER_ROOM);
      writer.pos = contentStart;
      for (let j = i; j < end; j++) this.writeEntry((events[j] as { delivery: Delivery }).delivery);
      const contentEnd = writer.pos;
      const length = contentEnd - contentStart;
      const headerStart = contentStart - 1 - varintLength(length);
      writer.pos = headerStart;
      writer.varint(EVENT_BATCH_TAG);
      writer.varint(length);
      writer.pos = contentEnd;
      out.push(writer.take(headerStart));
      i = end;
    }
  }

  single(event: OutboundEvent): Buffer {
    switch (event.kind) {
      case 'delivery':
        // The cached bytes are the whole frame: no copy at all.
        if (event.delivery.shared === true) return asBuffer(this.delivery(event.delivery));
        this.frame.pos = 0;
        writeDeliveryEntry(this.frame, event.delivery);
        return this.frame.take();
      case 'cancel':
        return asBuffer(
          Event.encode({ kind: { $case: 'cancelled', value: { correlationId: event.correlationId, reason: event.reason } } }).finish(),
        );
      case 'notice':
        return asBuffer(Event.encode({ kind: { $case: 'notice', value: { code: event.code, message: event.message } } }).finish());
    }
  }

  registry(event: RegistryEvent): Buffer {
    return asBuffer(Event.encode({ kind: { $case: 'registry', value: event } }).finish());
  }

  /** Appends one `Event{delivery}` (= one batch entry) to the open frame. */
  private writeEntry(delivery: Delivery): void {
    if (delivery.shared === true) this.frame.raw(this.delivery(delivery));
    else writeDeliveryEntry(this.frame, delivery);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * UTF-8 lengths of the envelope's string fields, filled by `envelopeLength` and read by
 * `writeEnvelope` right after it (encoding is synchronous): no object per message.
 */
const lengths = new Int32Array(10);
const ID = 0;
const TOPIC = 1;
const AGENT_ID = 2;
const SERVICE = 3;
const VERSION_RANGE = 4;
const SENDER_ID = 5;
const KEY = 6;
const CORRELATION_ID = 7;
const REPLY_TO = 8;
const CONTENT_TYPE = 9;

/** `Event{delivery}` (the same bytes as one DeliveryBatch entry): mirrors the generated `Delivery.encode`. */
function writeDeliveryEntry(writer: FrameWriter, delivery: Delivery): void {
  const message = delivery.message;
  const messageLength = envelopeLength(message);
  const tagLength = delivery.deliveryTag !== '' ? utf8Length(delivery.deliveryTag) : 0;
  const subscriptionLength = delivery.subscription !== '' ? utf8Length(delivery.subscription) : 0;
  let length = 1 + varintLength(messageLength) + messageLength;
  if (tagLength !== 0) length += 1 + varintLength(tagLength) + tagLength;
  if (delivery.attempt !== 0) length += 1 + varintLength(delivery.attempt >>> 0);
  if (subscriptionLength !== 0) length += 1 + varintLength(subscriptionLength) + subscriptionLength;
  if (delivery.ackDeadline !== 0) length += 1 + varintLength(delivery.ackDeadline);
  writer.varint(EVENT_DELIVERY_TAG);
  writer.varint(length);
  writer.varint(10);
  writer.varint(messageLength);
  writeEnvelope(writer, message);
  if (tagLength !== 0) {
    writer.varint(18);
    writer.stringOf(delivery.deliveryTag, tagLength);
  }
  if (delivery.attempt !== 0) {
    writer.varint(24);
    writer.varint(delivery.attempt >>> 0);
  }
  if (subscriptionLength !== 0) {
    writer.varint(34);
    writer.stringOf(delivery.subscription, subscriptionLength);
  }
  if (delivery.ackDeadline !== 0) {
    writer.varint(40);
    writer.varint(delivery.ackDeadline);
  }
}

function stringField(value: string, slot: number): number {
  if (!value) {
    lengths[slot] = 0;
    return 0;
  }
  const length = utf8Length(value);
  lengths[slot] = length;
  return 1 + varintLength(length) + length;
}

/**
 * The bytes of the message's pass-through fields as they were received, when the transport decoded
 * it (request-decoding.ts); set by `envelopeLength` for `writeEnvelope`.
 */
let passThrough: Buffer | undefined;

/** Encoded size of `openclaw.gateway.v1.Message` for `message`; fills `lengths` and `passThrough`. */
function envelopeLength(message: MessageEnvelope): number {
  passThrough = passThroughOf(message);
  if (passThrough !== undefined) return passThroughLength(message, passThrough);
  let length =
    stringField(message.id, ID) +
    stringField(message.topic, TOPIC) +
    stringField(message.agentId, AGENT_ID) +
    stringField(message.service, SERVICE) +
    stringField(message.versionRange, VERSION_RANGE) +
    stringField(message.senderId, SENDER_ID) +
    stringField(message.key, KEY) +
    stringField(message.correlationId, CORRELATION_ID) +
    stringField(message.replyTo, REPLY_TO) +
    stringField(message.contentType, CONTENT_TYPE);
  const payload = message.payload;
  if (payload && payload.byteLength !== 0) length += 1 + varintLength(payload.byteLength) + payload.byteLength;
  const headers = message.headers;
  if (headers) {
    for (const key in headers) {
      const entry = headerEntryLength(key, headers[key]);
      length += 1 + varintLength(entry) + entry;
    }
  }
  if (message.durable) length += 2;
  if (message.hops) length += 1 + varintLength(message.hops >>> 0);
  if (message.maxHops) length += 1 + varintLength(message.maxHops >>> 0);
  if (message.createdAt) length += 2 + varintLength(message.createdAt);
  if (message.ttlMs) length += 2 + varintLength(message.ttlMs >>> 0);
  return length;
}

/** The fields a router or hook may have set, plus the received bytes of all the others. */
function passThroughLength(message: MessageEnvelope, received: Buffer): number {
  let length =
    received.byteLength +
    stringField(message.id, ID) +
    stringField(message.senderId, SENDER_ID) +
    stringField(message.correlationId, CORRELATION_ID) +
    stringField(message.replyTo, REPLY_TO);
  const headers = message.headers;
  for (const key in headers) {
    const entry = headerEntryLength(key, headers[key]);
    length += 1 + varintLength(entry) + entry;
  }
  if (message.hops) length += 1 + varintLength(message.hops >>> 0);
  if (message.createdAt) length += 2 + varintLength(message.createdAt);
  return length;
}

function headerEntryLength(key: string, value: string): number {
  let length = 0;
  if (key !== '') {
    const bytes = utf8Length(key);
    length += 1 + varintLength(bytes) + bytes;
  }
  if (value !== '') {
    const bytes = utf8Length(value);
    length += 1 + varintLength(bytes) + bytes;
  }
  return length;
}

function writeString(writer: FrameWriter, tag: number, value: string, slot: number): void {
  if (lengths[slot] === 0) return;
  writer.varint(tag);
  writer.stringOf(value, lengths[slot]);
}

/**
 * The fields of `openclaw.gateway.v1.Message` in field order, as the generated `Message.encode`
 * writes them (defaults left out), from the kernel envelope directly (no proto copy). Call right
 * after `envelopeLength` of the same message.
 */
function writeEnvelope(writer: FrameWriter, message: MessageEnvelope): void {
  if (passThrough !== undefined) {
    writePassThrough(writer, message, passThrough);
    return;
  }
  writeString(writer, 10, message.id, ID);
  writeString(writer, 18, message.topic, TOPIC);
  writeString(writer, 26, message.agentId, AGENT_ID);
  writeString(writer, 34, message.service, SERVICE);
  writeString(writer, 42, message.versionRange, VERSION_RANGE);
  const payload = message.payload;
  if (payload && payload.byteLength !== 0) writer.bytes(50, payload);
  const headers = message.headers;
  if (headers) {
    for (const key in headers) {
      const value = headers[key];
      writer.varint(58);
      writer.varint(headerEntryLength(key, value));
      if (key !== '') writer.string(10, key);
      if (value !== '') writer.string(18, value);
    }
  }
  if (message.durable) {
    writer.varint(64);
    writer.varint(1);
  }
  writeString(writer, 74, message.senderId, SENDER_ID);
  writeString(writer, 82, message.key, KEY);
  if (message.hops) {
    writer.varint(88);
    writer.varint(message.hops >>> 0);
  }
  if (message.maxHops) {
    writer.varint(96);
    writer.varint(message.maxHops >>> 0);
  }
  writeString(writer, 106, message.correlationId, CORRELATION_ID);
  writeString(writer, 114, message.replyTo, REPLY_TO);
  writeString(writer, 122, message.contentType, CONTENT_TYPE);
  if (message.createdAt) {
    writer.varint(128);
    writer.varint(message.createdAt);
  }
  if (message.ttlMs) {
    writer.varint(136);
    writer.varint(message.ttlMs >>> 0);
  }
}

/**
 * A decoded message: its id, the received bytes of the target, payload and other untouched fields
 * (in the order they came), then the fields routers and hooks set, from the object. Field order
 * differs from the generated encoder's only when the client's did; every protobuf decoder reads
 * the same message (test/transport/pass-through.test.ts).
 */
function writePassThrough(writer: FrameWriter, message: MessageEnvelope, received: Buffer): void {
  writeString(writer, 10, message.id, ID);
  writer.raw(received);
  const headers = message.headers;
  for (const key in headers) {
    const value = headers[key];
    writer.varint(58);
    writer.varint(headerEntryLength(key, value));
    if (key !== '') writer.string(10, key);
    if (value !== '') writer.string(18, value);
  }
  writeString(writer, 74, message.senderId, SENDER_ID);
  if (message.hops) {
    writer.varint(88);
    writer.varint(message.hops >>> 0);
  }
  writeString(writer, 106, message.correlationId, CORRELATION_ID);
  writeString(writer, 114, message.replyTo, REPLY_TO);
  if (message.createdAt) {
    writer.varint(128);
    writer.varint(message.createdAt);
  }
}
