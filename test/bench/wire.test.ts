/**
 * The load generators count deliveries from raw Event bytes and split gRPC frames themselves;
 * a miscount would silently skew every routing figure, so both are checked against the
 * generated codec here.
 */
import { Event, Message, RegistryEvent, type Delivery } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { FrameReader, frame, frames } from '../../bench/load/h2-grpc';
import { countDeliveries, encodeMessage } from '../../bench/wire';

function delivery(topic: string): Delivery {
  return {
    message: Message.decode(encodeMessage({ topic, headers: { traceparent: '00-abc-def-01' } })),
    deliveryTag: 'tag-1',
    attempt: 1,
    subscription: topic,
    ackDeadlineMs: 1234,
  };
}

const encode = (event: Event) => Buffer.from(Event.encode(event).finish());

describe('countDeliveries', () => {
  it('counts one for a single delivery', () => {
    expect(countDeliveries(encode({ kind: { $case: 'delivery', value: delivery('a.b') } }))).toBe(1);
  });

  it('counts every delivery of a batch, whatever their sizes', () => {
    const deliveries = Array.from({ length: 70 }, (_, i) => delivery(`topic.${'x'.repeat(i * 3)}`));
    expect(countDeliveries(encode({ kind: { $case: 'batch', value: { deliveries } } }))).toBe(70);
  });

  it('counts nothing for notices and registry events', () => {
    expect(countDeliveries(encode({ kind: { $case: 'notice', value: { code: 'probe', message: 'p-1' } } }))).toBe(0);
    expect(countDeliveries(encode({ kind: { $case: 'registry', value: RegistryEvent.fromPartial({ kind: 1, reason: 'up' }) } }))).toBe(0);
    expect(countDeliveries(Buffer.alloc(0))).toBe(0);
  });
});

describe('FrameReader', () => {
  it('hands out each gRPC message once, also when split across chunks at any byte', () => {
    const messages = [encodeMessage({ topic: 'a' }), encodeMessage({ topic: 'bb', payload: Buffer.alloc(300, 1) }), Buffer.alloc(0)];
    const stream = Buffer.concat(messages.map((m) => frame(m)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const seen: Buffer[] = [];
      const reader = new FrameReader((message) => seen.push(Buffer.from(message)));
      reader.push(stream.subarray(0, cut));
      reader.push(stream.subarray(cut));
      expect(seen).toEqual(messages.map((m) => Buffer.from(m)));
    }
  });

  it('frames() repeats one message back to back', () => {
    const seen: number[] = [];
    new FrameReader((message) => seen.push(message.length)).push(frames(encodeMessage({ topic: 'x' }), 5));
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(1);
  });
});
