/**
 * Subscribe stream events, encoded once. The router hands the same `Delivery` object to every
 * at-most-once subscriber of a fan-out, so the encoded bytes are cached per Delivery (WeakMap: they
 * go when the delivery does). A batch is built from the cached bytes without re-encoding: in proto3
 * wire format `Event{delivery: D}` (field 1) and one entry of `DeliveryBatch.deliveries` (field 1)
 * are the same bytes, so `Event{batch}` is just field 2 wrapping their concatenation.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { Delivery, MessageEnvelope, OutboundEvent } from '../../kernel';
import { Event, type RegistryEvent } from '../../proto/gen/openclaw/gateway/v1/gateway';

const EVENT_BATCH_TAG = (2 << 3) | 2;

export class EventEncoder {
  private readonly cache = new WeakMap<Delivery, Uint8Array>();

  /** `Event{delivery}` bytes for one delivery (cached per Delivery object). */
  delivery(delivery: Delivery): Uint8Array {
    let bytes = this.cache.get(delivery);
    if (bytes === undefined) {
      const writer = new BinaryWriter();
      writer.uint32(10).fork();
      encodeDelivery(delivery, writer);
      writer.join();
      bytes = writer.finish();
      this.cache.set(delivery, bytes);
    }
    return bytes;
  }

  /** Encodes `events` as the frames to write: consecutive deliveries share one `Event{batch}`. */
  encode(events: readonly OutboundEvent[], out: Buffer[]): void {
    if (events.length === 1) {
      out.push(this.single(events[0]));
      return;
    }
    let run: Uint8Array[] | undefined;
    for (const event of events) {
      if (event.kind === 'delivery') {
        (run ??= []).push(this.delivery(event.delivery));
        continue;
      }
      if (run) out.push(batchFrame(run));
      run = undefined;
      out.push(this.single(event));
    }
    if (run) out.push(run.length === 1 ? asBuffer(run[0]) : batchFrame(run));
  }

  single(event: OutboundEvent): Buffer {
    switch (event.kind) {
      case 'delivery':
        return asBuffer(this.delivery(event.delivery));
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
}

function batchFrame(parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const header = new BinaryWriter().uint32(EVENT_BATCH_TAG).uint32(length).finish();
  return Buffer.concat([header, ...parts], header.length + length);
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
  if (message.id) writer.uint32(10).string(message.id);
  if (message.topic) writer.uint32(18).string(message.topic);
  if (message.agentId) writer.uint32(26).string(message.agentId);
  if (message.service) writer.uint32(34).string(message.service);
  if (message.versionRange) writer.uint32(42).string(message.versionRange);
  if (message.payload && message.payload.length !== 0) writer.uint32(50).bytes(message.payload);
  const headers = message.headers;
  if (headers) {
    for (const key in headers) {
      writer.uint32(58).fork().uint32(10).string(key).uint32(18).string(headers[key]).join();
    }
  }
  if (message.durable) writer.uint32(64).bool(true);
  if (message.senderId) writer.uint32(74).string(message.senderId);
  if (message.key) writer.uint32(82).string(message.key);
  if (message.hops) writer.uint32(88).uint32(message.hops);
  if (message.maxHops) writer.uint32(96).uint32(message.maxHops);
  if (message.correlationId) writer.uint32(106).string(message.correlationId);
  if (message.replyTo) writer.uint32(114).string(message.replyTo);
  if (message.contentType) writer.uint32(122).string(message.contentType);
  if (message.createdAt) writer.uint32(128).int64(message.createdAt);
  if (message.ttlMs) writer.uint32(136).uint32(message.ttlMs);
}
