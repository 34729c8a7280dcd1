/**
 * Subscribe stream events, encoded straight into frame bytes. Every frame of a `write` is built in
 * one writer that lives as long as the transport, so its buffer grows once to the largest frame
 * and then costs no allocation: one copy per frame (`finish`) is all a delivery pays. In proto3
 * wire format `Event{delivery: D}` (field 1) and one entry of `DeliveryBatch.deliveries` (field 1)
 * are the same bytes, so `Event{batch}` is field 2 wrapping consecutive entries.
 *
 * A Delivery the router marks `shared` (one object handed to many subscribers of a fan-out) is
 * encoded once and its bytes cached (WeakMap: they go when the delivery does); the other
 * subscribers copy the cached bytes into their frames. Unshared deliveries are never cached: the
 * cache entry would cost more than encoding them once.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { Delivery, MessageEnvelope, OutboundEvent } from '../../kernel';
import { Event, type RegistryEvent } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { DecodedMessage } from './request-decoding';

/** Read once: an imported binding is a getter per access through tsx, and this runs per delivery. */
const passThroughOf = DecodedMessage.passThrough;

const EVENT_DELIVERY_TAG = (1 << 3) | 2;
const EVENT_BATCH_TAG = (2 << 3) | 2;

/** What every gRPC implementation accepts by default as one received message. */
const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * Bytes a delivery takes at most beyond its payload (or pass-through bytes) and its strings: every
 * tag, length and number field of Event, Delivery and Message.
 */
const FIXED_FIELD_BYTES = 160;

export class EventEncoder {
  /**
   * `maxFrameBytes`: no frame of a batch exceeds it (the transport's `maxMessageBytes`: grpc-js
   * refuses to send a larger message, and clients on default settings refuse to receive one), so
   * deliveries that queued up while a subscriber was behind go out in as many frames as they need.
   * A single delivery is never split (the router's `maxPayloadBytes` keeps it smaller).
   */
  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  private readonly cache = new WeakMap<Delivery, Uint8Array>();
  /** Builds every frame; `finish()` resets it but keeps its grown buffer. */
  private readonly frame = new BinaryWriter();
  /** Builds the cached bytes of shared deliveries (a frame may be open in `frame` meanwhile). */
  private readonly shared = new BinaryWriter();

  /** `Event{delivery}` bytes for one delivery, cached per Delivery object. */
  delivery(delivery: Delivery): Uint8Array {
    let bytes = this.cache.get(delivery);
    if (bytes === undefined) {
      const writer = this.shared;
      writer.uint32(EVENT_DELIVERY_TAG).fork();
      encodeDelivery(delivery, writer);
      writer.join();
      bytes = writer.finish();
      this.cache.set(delivery, bytes);
    }
    return bytes;
  }

  /** Encodes `events` as the frames to write: consecutive deliveries share one `Event{batch}`. */
  encode(events: readonly OutboundEvent[], out: Buffer[]): void {
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
      // Bounded only when a batch forms: a lone delivery (1 message per frame) pays nothing for it.
      if (end < count && events[end].kind === 'delivery') {
        let bytes = deliveryBytesBound(event.delivery);
        while (end < count && events[end].kind === 'delivery') {
          bytes += deliveryBytesBound((events[end] as { delivery: Delivery }).delivery);
          // The batch's own tag and length take at most 6 bytes.
          if (bytes + 6 > this.maxFrameBytes) break;
          end++;
        }
      }
      const batched = end - i > 1;
      if (!batched && event.delivery.shared === true) {
        // The cached bytes are the whole frame: no copy at all.
        out.push(asBuffer(this.delivery(event.delivery)));
        i = end;
        continue;
      }
      const writer = this.frame;
      if (batched) writer.uint32(EVENT_BATCH_TAG).fork();
      for (let j = i; j < end; j++) this.writeEntry((events[j] as { delivery: Delivery }).delivery);
      if (batched) writer.join();
      out.push(asBuffer(writer.finish()));
      i = end;
    }
  }

  single(event: OutboundEvent): Buffer {
    switch (event.kind) {
      case 'delivery':
        if (event.delivery.shared === true) return asBuffer(this.delivery(event.delivery));
        this.writeEntry(event.delivery);
        return asBuffer(this.frame.finish());
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
    const writer = this.frame;
    if (delivery.shared === true) {
      writer.raw(this.delivery(delivery));
      return;
    }
    writer.uint32(EVENT_DELIVERY_TAG).fork();
    encodeDelivery(delivery, writer);
    writer.join();
  }
}

/**
 * An upper bound of the bytes `delivery` takes in a frame: UTF-8 takes at most three bytes per
 * UTF-16 unit. Only needs to be cheap and never below the truth; a frame it cuts short is merely
 * one more frame.
 */
function deliveryBytesBound(delivery: Delivery): number {
  const message = delivery.message;
  const received = passThroughOf(message);
  let strings =
    message.id.length +
    message.senderId.length +
    message.correlationId.length +
    message.replyTo.length +
    delivery.deliveryTag.length +
    delivery.subscription.length;
  let bytes = FIXED_FIELD_BYTES;
  if (received !== undefined) bytes += received.byteLength;
  else {
    strings +=
      message.topic.length +
      message.agentId.length +
      message.service.length +
      message.versionRange.length +
      message.key.length +
      message.contentType.length;
    bytes += message.payload ? message.payload.byteLength : 0;
  }
  for (const key in message.headers) bytes += 12 + 3 * (key.length + message.headers[key].length);
  return bytes + 3 * strings;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Mirrors the generated `Delivery.encode`, reading the kernel envelope directly (no proto copy). */
function encodeDelivery(delivery: Delivery, writer: BinaryWriter): void {
  writer.uint32(10).fork();
  encodeEnvelope(delivery.message, writer);
  writer.join();
  if (delivery.deliveryTag !== '') writer.uint32(18).string(delivery.deliveryTag);
  if (delivery.attempt !== 0) writer.uint32(24).uint32(delivery.attempt);
  if (delivery.subscription !== '') writer.uint32(34).string(delivery.subscription);
  if (delivery.ackDeadline !== 0) writer.uint32(40).int64(delivery.ackDeadline);
}

/** Field numbers of `openclaw.gateway.v1.Message`. */
export function encodeEnvelope(message: MessageEnvelope, writer: BinaryWriter): void {
  const received = passThroughOf(message);
  if (received !== undefined) {
    writePassThrough(message, received, writer);
    return;
  }
  if (message.id) writer.uint32(10).string(message.id);
  if (message.topic) writer.uint32(18).string(message.topic);
  if (message.agentId) writer.uint32(26).string(message.agentId);
  if (message.service) writer.uint32(34).string(message.service);
  if (message.versionRange) writer.uint32(42).string(message.versionRange);
  if (message.payload && message.payload.length !== 0) writer.uint32(50).bytes(message.payload);
  if (message.headers) writeHeaders(message.headers, writer);
  if (message.durable) writer.uint32(64).bool(true);
  if (message.senderId) writer.uint32(74).string(message.senderId);
  if (message.key) writer.uint32(82).string(message.key);
  if (message.hops) writer.uint32(88).uint32(message.hops);
  if (message.maxHops) writer.uint32(96).uint32(message.maxHops);
  if (message.correlationId) writer.uint32(106).string(message.correlationId);
  if (message.replyTo) writer.uint32(114).string(message.replyTo);
  if (message.contentType) writer.uint32(122).string(message.contentType);
  if (message.createdAt) writeCreatedAt(message.createdAt, writer);
  if (message.ttlMs) writer.uint32(136).uint32(message.ttlMs);
}

/**
 * `created_at_ms` (field 16) as written, for the last value seen: the messages of a batch share one
 * acceptance time, and bufbuild's `int64` goes through a BigInt and a DataView per call (about 1.6 %
 * of the batched relay). A pure function's memo, so gateways sharing the module cannot disturb
 * each other.
 */
let lastCreatedAt = Number.NaN;
let lastCreatedAtField: Uint8Array = new Uint8Array(0);

function writeCreatedAt(createdAt: number, writer: BinaryWriter): void {
  if (createdAt !== lastCreatedAt) {
    // Epoch milliseconds are positive safe integers; anything else takes the general path.
    if (!(createdAt > 0 && createdAt <= Number.MAX_SAFE_INTEGER && Number.isInteger(createdAt))) {
      writer.uint32(128).int64(createdAt);
      return;
    }
    lastCreatedAtField = createdAtField(createdAt);
    lastCreatedAt = createdAt;
  }
  writer.raw(lastCreatedAtField);
}

/** Tag 16 (wire type 0, two bytes) and the varint of a positive safe integer, 7 bits at a time. */
function createdAtField(value: number): Uint8Array {
  const bytes = [0x80, 0x01];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

/** Message.headers (field 7) as the generated encoder writes its map entries. */
function writeHeaders(headers: Record<string, string>, writer: BinaryWriter): void {
  for (const key in headers) {
    const value = headers[key];
    writer.uint32(58).fork();
    if (key !== '') writer.uint32(10).string(key);
    if (value !== '') writer.uint32(18).string(value);
    writer.join();
  }
}

/**
 * A message the transport decoded (request-decoding.ts): its id, then the bytes of its target,
 * payload and other untouched fields as they were received (in the order they came), then the
 * fields routers and hooks set, from the object. Field order differs from the generated encoder's
 * only when the client's did; every protobuf decoder reads the same message
 * (test/transport/pass-through.test.ts).
 */
function writePassThrough(message: MessageEnvelope, received: Uint8Array, writer: BinaryWriter): void {
  if (message.id) writer.uint32(10).string(message.id);
  writer.raw(received);
  writeHeaders(message.headers, writer);
  if (message.senderId) writer.uint32(74).string(message.senderId);
  if (message.hops) writer.uint32(88).uint32(message.hops);
  if (message.correlationId) writer.uint32(106).string(message.correlationId);
  if (message.replyTo) writer.uint32(114).string(message.replyTo);
  if (message.createdAt) writeCreatedAt(message.createdAt, writer);
}
