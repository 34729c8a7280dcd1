/**
 * The transport's own decoders for publish requests must read exactly what the generated codec
 * reads: every field, headers, absent fields at their defaults, unknown fields skipped, and the
 * same refusal of an int64 beyond 2^53.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { decodeMessage, decodeMessageBatch } from '../../plugins/transport-grpc/request-decoding';
import { Message, MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';

const full = Message.fromPartial({
  id: 'id-1',
  topic: 'feed.prices',
  agentId: '',
  service: '',
  versionRange: '',
  payload: Buffer.from('héllo ✓'),
  headers: { traceparent: '00-abc-01', 'x-ü': 'wert' },
  durable: true,
  senderId: 'agent-7',
  key: 'k',
  hops: 3,
  maxHops: 9,
  correlationId: 'c-1',
  replyTo: '_INBOX.x',
  contentType: 'text/plain',
  createdAtMs: 1_764_000_000_123,
  ttlMs: 5000,
});

describe('transport-grpc: request decoding', () => {
  test('a message with every field decodes as the generated codec decodes it', () => {
    const bytes = Message.encode(full).finish();
    expect(decodeMessage(bytes)).toEqual(Message.decode(bytes));
  });

  test('absent fields take the defaults; payloads are copies, not views of the frame', () => {
    const bytes = Message.encode(Message.fromPartial({ topic: 't' })).finish();
    const decoded = decodeMessage(bytes);
    expect(decoded).toEqual(Message.decode(bytes));
    expect(Buffer.isBuffer(decoded.payload) && decoded.payload.length === 0).toBe(true);
    const frame = Buffer.from(Message.encode(full).finish());
    const withPayload = decodeMessage(frame);
    frame.fill(0);
    expect(withPayload.payload.toString()).toBe('héllo ✓');
  });

  test('a batch decodes every message in order; unknown fields are skipped', () => {
    const batch = MessageBatch.encode({
      messages: [
        full,
        Message.fromPartial({ agentId: 'a-1', payload: Buffer.from([1, 2]) }),
        Message.fromPartial({ service: 's', versionRange: '^1' }),
      ],
    }).finish();
    // Append fields this version does not know: a varint (field 20) and bytes (field 21), in the batch and in a message.
    const unknown = new BinaryWriter()
      .uint32((20 << 3) | 0)
      .uint32(7)
      .uint32((21 << 3) | 2)
      .bytes(Buffer.from('zz'))
      .finish();
    const message = Buffer.concat([Message.encode(full).finish(), unknown]);
    const extended = Buffer.concat([batch, new BinaryWriter().uint32(10).bytes(message).finish(), unknown]);
    expect(decodeMessageBatch(extended)).toEqual(MessageBatch.decode(extended));
    expect(decodeMessageBatch(extended).messages).toHaveLength(4);
    expect(decodeMessageBatch(new Uint8Array(0))).toEqual({ messages: [] });
  });

  test('created_at_ms beyond 2^53 is refused like the generated codec refuses it', () => {
    const bytes = new BinaryWriter()
      .uint32(128)
      .int64(2n ** 60n)
      .finish();
    expect(() => Message.decode(bytes)).toThrow('MAX_SAFE_INTEGER');
    expect(() => decodeMessage(bytes)).toThrow('MAX_SAFE_INTEGER');
  });

  test('repeated topics (one string for equal bytes) decode exactly; a same-length different or invalid one is not taken for the last', () => {
    const long = `feed.${'x'.repeat(300)}`;
    const topics = ['feed.aaaa', 'feed.aaaa', 'feed.bbbb', 'feed.aaaa', long, long, 'feed.bbbc', 'ü.ñ', 'ü.ñ', 'feed.bbbc'];
    const batch = MessageBatch.encode({
      messages: topics.map((topic) => Message.fromPartial({ topic, payload: Buffer.from('p') })),
    }).finish();
    expect(decodeMessageBatch(Buffer.from(batch)).messages.map((message) => message.topic)).toEqual(topics);
    // A new frame: the memo holds 'feed.bbbc'; one byte differs.
    const next = Message.encode(Message.fromPartial({ topic: 'feed.bbbd' })).finish();
    expect(decodeMessage(Buffer.from(next)).topic).toBe('feed.bbbd');
    // Invalid UTF-8 of the memo's length, right after the valid topic: still refused, naming the field.
    const valid = new BinaryWriter().uint32(18).string('feed.ok').finish();
    const invalid = new BinaryWriter()
      .uint32(18)
      .bytes(Buffer.from([0x66, 0x65, 0x65, 0x64, 0x2e, 0xc3, 0x28]))
      .finish();
    const mixed = new BinaryWriter().uint32(10).bytes(valid).uint32(10).bytes(invalid).finish();
    expect(() => decodeMessageBatch(Buffer.from(mixed))).toThrow('messages[1].topic');
    expect(decodeMessageBatch(Buffer.from(new BinaryWriter().uint32(10).bytes(valid).finish())).messages[0].topic).toBe('feed.ok');
  });
});
