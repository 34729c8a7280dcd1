/**
 * Pass-through of received message bytes: a published message's target, payload and untouched
 * fields go from the PublishStream/SendMessage frame into the Subscribe Event as they came, and
 * only the fields routers and hooks set (id, created_at_ms, sender_id, hops, headers, ...) are
 * encoded again. Whatever the client sent (odd payloads, any field order, repeated or unknown
 * fields), the delivered Event must decode with the generated codec to the message the generated
 * decoder read plus the router's changes, with the payload bytes identical; and a copy of the
 * message with other values (a dead letter) must never carry the old bytes.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { Delivery, MessageEnvelope, OutboundEvent } from '../../kernel';
import { EventEncoder } from '../../plugins/transport-grpc/event-encoding';
import { acceptEnvelope } from '../../plugins/transport-grpc/proto-mapping';
import { DecodedMessage, decodeMessage, decodeMessageBatch } from '../../plugins/transport-grpc/request-decoding';
import { Event, Message, MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';

const NOW = 1_764_000_000_123;

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const payloads: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  'one zero byte': Buffer.from([0]),
  'every byte value': allBytes,
  'not UTF-8': Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
  '127 bytes (one-byte length)': Buffer.alloc(127, 0x61),
  '128 bytes (two-byte length)': Buffer.alloc(128, 0x62),
  '70 KiB (three-byte length)': Buffer.alloc(70 * 1024, 0x63),
};

/** What a router does to an accepted message, and a hook rewriting a header in place. */
function routeLikeARouter(
  message: Message,
  changes: { id?: string; senderId?: string; hops?: boolean; traceparent?: string },
): MessageEnvelope {
  const envelope = acceptEnvelope(message, NOW);
  if (!envelope.id) envelope.id = changes.id ?? 'gw-1';
  if (changes.senderId && !envelope.senderId) envelope.senderId = changes.senderId;
  if (changes.hops) envelope.hops = (envelope.hops | 0) + 1;
  if (changes.traceparent) envelope.headers.traceparent = changes.traceparent;
  return envelope;
}

function deliver(message: MessageEnvelope, extra: Partial<Delivery> = {}): Event {
  const frames: Buffer[] = [];
  const event: OutboundEvent = {
    kind: 'delivery',
    delivery: { message, deliveryTag: '', attempt: 1, subscription: 'feed.>', ackDeadline: 0, ...extra },
  };
  new EventEncoder().encode([event], frames);
  expect(frames).toHaveLength(1);
  return Event.decode(frames[0]);
}

function deliveredMessage(event: Event): Message {
  if (event.kind?.$case !== 'delivery') throw new Error(`expected a delivery, got ${event.kind?.$case}`);
  return event.kind.value.message!;
}

/** The generated decoder's reading of `bytes` with the router's changes applied: what must arrive. */
function expected(bytes: Uint8Array, changes: Parameters<typeof routeLikeARouter>[1]): Message {
  const envelope = routeLikeARouter(Message.decode(bytes), changes);
  return { ...Message.decode(bytes), id: envelope.id, senderId: envelope.senderId, hops: envelope.hops, createdAtMs: NOW };
}

describe('transport-grpc: pass-through of received message bytes', () => {
  test.each(Object.entries(payloads))('payload %s arrives byte for byte, the message as the generated codec reads it', (_name, payload) => {
    const bytes = Message.encode(Message.fromPartial({ topic: 'feed.prices', payload, contentType: 'application/octet-stream' })).finish();
    const decoded = decodeMessage(bytes);
    expect(DecodedMessage.passThrough(decoded)).toBeDefined();
    const delivered = deliveredMessage(deliver(routeLikeARouter(decoded, {})));
    expect(Buffer.compare(Buffer.from(delivered.payload), payload)).toBe(0);
    expect(delivered).toEqual(expected(bytes, {}));
  });

  test('a client writing fields in number order gets exactly the bytes the generated encoder writes', () => {
    // Without ttl_ms (field 17, after the gateway's created_at_ms): with it, only the order differs.
    const sent = Message.fromPartial({
      topic: 'feed.prices',
      payload: allBytes,
      durable: false,
      key: 'k-1',
      maxHops: 7,
      contentType: 'text/plain; charset=utf-8',
    });
    const decoded = decodeMessage(Message.encode(sent).finish());
    expect(DecodedMessage.passThrough(decoded)).toBeDefined();
    const envelope = routeLikeARouter(decoded, { id: 'gw-7' });
    const frames: Buffer[] = [];
    new EventEncoder().encode(
      [{ kind: 'delivery', delivery: { message: envelope, deliveryTag: '', attempt: 1, subscription: 'feed.>', ackDeadline: 0 } }],
      frames,
    );
    const reference = Event.encode({
      kind: {
        $case: 'delivery',
        value: {
          message: { ...Message.decode(Message.encode(sent).finish()), id: 'gw-7', createdAtMs: NOW },
          deliveryTag: '',
          attempt: 1,
          subscription: 'feed.>',
          ackDeadlineMs: 0,
        },
      },
    }).finish();
    expect(Buffer.compare(frames[0], Buffer.from(reference))).toBe(0);
  });

  test('fields in reverse order, repeated, interleaved with router fields or unknown: the same message arrives', () => {
    const reversed = new BinaryWriter()
      .uint32(136)
      .uint32(900) // ttl_ms
      .uint32(122)
      .string('text/ü') // content_type, not ASCII
      .uint32(96)
      .uint32(3) // max_hops
      .uint32(82)
      .string('key') // key
      .uint32(64)
      .bool(true) // durable
      .uint32(50)
      .bytes(allBytes) // payload
      .uint32(18)
      .string('feed.first') // topic, repeated below: the last one wins
      .uint32(18)
      .string('feed.ünïcode')
      .finish();
    const interleaved = new BinaryWriter()
      .uint32(18)
      .string('feed.a')
      .uint32(58)
      .fork()
      .uint32(10)
      .string('x-h')
      .uint32(18)
      .string('v')
      .join() // headers between pass-through fields
      .uint32(50)
      .bytes(Buffer.from('after the header'))
      .uint32(88)
      .uint32(2) // hops, a router field
      .uint32(128)
      .int64(5) // created_at_ms from the client: the gateway's stamp replaces it
      .finish();
    const unknown = new BinaryWriter()
      .uint32(10)
      .string('client-id')
      .uint32(18)
      .string('feed.b')
      .uint32((30 << 3) | 2)
      .bytes(Buffer.from('unknown field'))
      .uint32(50)
      .bytes(Buffer.from('p'))
      .finish();
    const cases: Array<[string, Uint8Array, Parameters<typeof routeLikeARouter>[1]]> = [
      ['reversed and repeated', reversed, { senderId: 'agent-1', hops: true }],
      ['interleaved with router fields', interleaved, { hops: true, traceparent: '00-abc-def-01' }],
      ['with an unknown field', unknown, {}],
    ];
    for (const [name, bytes, changes] of cases) {
      const decoded = decodeMessage(bytes);
      const delivered = deliveredMessage(deliver(routeLikeARouter(decoded, changes)));
      const reference = expected(bytes, changes);
      if (changes.traceparent) reference.headers = { ...reference.headers, traceparent: changes.traceparent };
      expect({ name, message: delivered }).toEqual({ name, message: reference });
      expect(Buffer.compare(Buffer.from(delivered.payload), Buffer.from(reference.payload))).toBe(0);
    }
    // Contiguous pass-through fields are kept as bytes; interleaved or unknown ones are encoded field by field.
    expect(DecodedMessage.passThrough(decodeMessage(reversed))).toBeDefined();
    expect(DecodedMessage.passThrough(decodeMessage(interleaved))).toBeUndefined();
    expect(DecodedMessage.passThrough(decodeMessage(unknown))).toBeUndefined();
  });

  test('every message of a batch arrives with its own bytes; messages of a large frame do not point into it', () => {
    const check = (messages: Message[], overwrite: boolean): void => {
      const frame = Buffer.from(MessageBatch.encode({ messages }).finish());
      const { messages: decoded } = decodeMessageBatch(frame);
      // Above 16 KiB the kept bytes are copies: the frame may change (or go) at once.
      if (overwrite) frame.fill(0xee);
      const frames: Buffer[] = [];
      new EventEncoder().encode(
        decoded.map((message, i) => ({
          kind: 'delivery' as const,
          delivery: {
            message: routeLikeARouter(message, { id: `gw-${i}` }),
            deliveryTag: '',
            attempt: 1,
            subscription: 'feed.>',
            ackDeadline: 0,
          },
        })),
        frames,
      );
      const event = Event.decode(frames[0]);
      if (event.kind?.$case !== 'batch') throw new Error('expected one batch');
      expect(event.kind.value.deliveries.map((d) => d.message!.topic)).toEqual(messages.map((m) => m.topic));
      event.kind.value.deliveries.forEach((d, i) => expect(Buffer.compare(Buffer.from(d.message!.payload), messages[i].payload)).toBe(0));
    };
    const all = Object.values(payloads).map((payload, i) => Message.fromPartial({ topic: `feed.t${i}`, payload }));
    check(all, true);
    check(
      all.filter((m) => m.payload.length < 1000),
      false,
    );
  });

  test('a copy of the message with other values (a dead letter) is encoded from its fields, not the old bytes', () => {
    const decoded = routeLikeARouter(
      decodeMessage(Message.encode(Message.fromPartial({ topic: 'feed.prices', payload: allBytes })).finish()),
      {},
    );
    const letter: MessageEnvelope = { ...decoded, topic: 'gateway.dead-letter', headers: { 'x-original-topic': 'feed.prices' } };
    expect(DecodedMessage.passThrough(letter)).toBeUndefined();
    const delivered = deliveredMessage(deliver(letter));
    expect(delivered.topic).toBe('gateway.dead-letter');
    expect(delivered.headers).toEqual({ 'x-original-topic': 'feed.prices' });
    expect(Buffer.compare(Buffer.from(delivered.payload), allBytes)).toBe(0);
  });
});
