/**
 * The Subscribe stream's frame encoder against the generated decoder: whatever the encoder builds
 * (single deliveries, batches, shared fan-out deliveries from its cache, control events between
 * deliveries) must decode to the same Events the generated `Event.encode` would have produced.
 */
import type { Delivery, MessageEnvelope, OutboundEvent } from '../../kernel';
import { EventEncoder } from '../../plugins/transport-grpc/event-encoding';
import { envelopeToProto } from '../../plugins/transport-grpc/proto-mapping';
import { Event } from '../../proto/gen/openclaw/gateway/v1/gateway';

function envelope(id: string, fields: Partial<MessageEnvelope> = {}): MessageEnvelope {
  return {
    id,
    topic: 'feed.prices',
    agentId: '',
    service: '',
    versionRange: '',
    payload: new TextEncoder().encode(`payload of ${id}`),
    headers: {},
    durable: false,
    senderId: '',
    key: '',
    hops: 0,
    maxHops: 0,
    correlationId: '',
    replyTo: '',
    contentType: '',
    createdAt: 1_764_000_000_123,
    ttlMs: 0,
    ...fields,
  };
}

function delivery(id: string, extra: Partial<Delivery> = {}): OutboundEvent {
  return {
    kind: 'delivery',
    delivery: { message: envelope(id), deliveryTag: '', attempt: 1, subscription: 'feed.>', ackDeadline: 0, ...extra },
  };
}

function decodeAll(frames: readonly Buffer[]): Event[] {
  return frames.map((frame) => Event.decode(frame));
}

function deliveredIds(event: Event): string[] {
  if (event.kind?.$case === 'delivery') return [event.kind.value.message!.id];
  if (event.kind?.$case === 'batch') return event.kind.value.deliveries.map((d) => d.message!.id);
  throw new Error(`not a delivery event: ${event.kind?.$case}`);
}

describe('transport-grpc: event encoding', () => {
  test('one delivery is one Event{delivery} with every field the generated codec would write', () => {
    const encoder = new EventEncoder();
    const frames: Buffer[] = [];
    const event = delivery('m1', { deliveryTag: 'tag-1', attempt: 3, ackDeadline: 1_764_000_030_000 });
    if (event.kind === 'delivery') {
      Object.assign(event.delivery.message, {
        headers: { traceparent: '00-abc-def-01', 'x-ü': 'wert ✓' },
        durable: true,
        senderId: 'agent-a',
        hops: 2,
        ttlMs: 500,
      });
    }
    encoder.encode([event], frames);
    expect(frames).toHaveLength(1);
    const [decoded] = decodeAll(frames);
    expect(decoded.kind?.$case).toBe('delivery');
    if (decoded.kind?.$case !== 'delivery') return;
    const value = decoded.kind.value;
    expect(value).toMatchObject({ deliveryTag: 'tag-1', attempt: 3, subscription: 'feed.>', ackDeadlineMs: 1_764_000_030_000 });
    expect(value.message).toMatchObject({
      id: 'm1',
      topic: 'feed.prices',
      headers: { traceparent: '00-abc-def-01', 'x-ü': 'wert ✓' },
      durable: true,
      senderId: 'agent-a',
      hops: 2,
      ttlMs: 500,
      createdAtMs: 1_764_000_000_123,
    });
    expect(new TextDecoder().decode(value.message!.payload)).toBe('payload of m1');
  });

  test('consecutive deliveries share one Event{batch}; control events split the runs, order kept', () => {
    const encoder = new EventEncoder();
    const frames: Buffer[] = [];
    const events: OutboundEvent[] = [
      delivery('a'),
      delivery('b'),
      delivery('c'),
      { kind: 'notice', code: 'PROBE', message: 'probe-1' },
      delivery('d'),
      { kind: 'cancel', correlationId: 'corr-1', reason: 'deadline' },
      delivery('e'),
      delivery('f'),
    ];
    encoder.encode(events, frames);
    const decoded = decodeAll(frames);
    expect(decoded.map((event) => event.kind?.$case)).toEqual(['batch', 'notice', 'delivery', 'cancelled', 'batch']);
    expect(deliveredIds(decoded[0])).toEqual(['a', 'b', 'c']);
    expect(deliveredIds(decoded[2])).toEqual(['d']);
    expect(deliveredIds(decoded[4])).toEqual(['e', 'f']);
    expect(decoded[1].kind).toEqual({ $case: 'notice', value: { code: 'PROBE', message: 'probe-1' } });
    expect(decoded[3].kind).toEqual({ $case: 'cancelled', value: { correlationId: 'corr-1', reason: 'deadline' } });
  });

  test('frames stay intact after the reused writer builds the next ones (no aliasing)', () => {
    const encoder = new EventEncoder();
    const first: Buffer[] = [];
    encoder.encode([delivery('early-1'), delivery('early-2')], first);
    const later: Buffer[] = [];
    // A much larger frame grows the writer's buffer; the earlier frame must not change.
    const big = Array.from({ length: 200 }, (_, i) => delivery(`later-${i}`));
    encoder.encode(big, later);
    expect(deliveredIds(Event.decode(first[0]))).toEqual(['early-1', 'early-2']);
    expect(deliveredIds(Event.decode(later[0]))).toEqual(Array.from({ length: 200 }, (_, i) => `later-${i}`));
  });

  test('a shared fan-out delivery is encoded once and reused, alone or inside batches', () => {
    const encoder = new EventEncoder();
    const shared = delivery('fan', { shared: true });
    const cached = encoder.delivery((shared as { delivery: Delivery }).delivery);
    // The cache answers with the very same bytes object from now on.
    expect(encoder.delivery((shared as { delivery: Delivery }).delivery)).toBe(cached);
    const alone: Buffer[] = [];
    encoder.encode([shared], alone);
    expect(Buffer.compare(alone[0], Buffer.from(cached))).toBe(0);
    const mixed: Buffer[] = [];
    encoder.encode([delivery('before'), shared, delivery('after')], mixed);
    expect(deliveredIds(Event.decode(mixed[0]))).toEqual(['before', 'fan', 'after']);
    // Same bytes as the generated codec for the same Event.
    const reference = Event.encode({
      kind: {
        $case: 'delivery',
        value: { message: envelopeToProto(envelope('fan')), deliveryTag: '', attempt: 1, subscription: 'feed.>', ackDeadlineMs: 0 },
      },
    }).finish();
    expect(Buffer.compare(Buffer.from(cached), Buffer.from(reference))).toBe(0);
  });

  test('odd values (long and non-ASCII strings, empty header values, large payloads, big numbers): the generated bytes', () => {
    const encoder = new EventEncoder();
    const message = envelope('ü'.repeat(70), {
      topic: `feed.${'t'.repeat(300)}`,
      payload: Buffer.alloc(20_000, 7),
      headers: { traceparent: '00-abc-def-01', empty: '', 'x-ü': 'wert ✓' },
      durable: true,
      senderId: 'agent-a',
      key: 'k',
      hops: 2,
      maxHops: 300,
      correlationId: 'c',
      replyTo: '_INBOX.r',
      contentType: 'text/plain',
      ttlMs: 2 ** 31,
    });
    const delivery: Delivery = { message, deliveryTag: 'tag-✓', attempt: 200, subscription: 'feed.>', ackDeadline: 2 ** 40 };
    const frames: Buffer[] = [];
    encoder.encode([{ kind: 'delivery', delivery }], frames);
    const reference = Event.encode({
      kind: {
        $case: 'delivery',
        value: { message: envelopeToProto(message), deliveryTag: 'tag-✓', attempt: 200, subscription: 'feed.>', ackDeadlineMs: 2 ** 40 },
      },
    }).finish();
    expect(Buffer.compare(frames[0], Buffer.from(reference))).toBe(0);
  });

  test('created_at_ms of every size, repeated or not: the generated bytes (the encoder remembers the last one)', () => {
    const encoder = new EventEncoder();
    const values = [
      1,
      127,
      128,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32,
      2 ** 32 + 1,
      1_764_000_000_123,
      1_764_000_000_123,
      Number.MAX_SAFE_INTEGER,
      1,
      -5,
    ];
    for (const createdAt of values) {
      const message = envelope(`at-${createdAt}`, { createdAt });
      const frames: Buffer[] = [];
      encoder.encode(
        [{ kind: 'delivery', delivery: { message, deliveryTag: '', attempt: 1, subscription: 'feed.>', ackDeadline: 0 } }],
        frames,
      );
      const reference = Event.encode({
        kind: {
          $case: 'delivery',
          value: { message: envelopeToProto(message), deliveryTag: '', attempt: 1, subscription: 'feed.>', ackDeadlineMs: 0 },
        },
      }).finish();
      expect([createdAt, Buffer.from(frames[0]).toString('hex')]).toEqual([createdAt, Buffer.from(reference).toString('hex')]);
    }
  });
});
