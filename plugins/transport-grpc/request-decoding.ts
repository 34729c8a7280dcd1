/**
 * Decoders for the publish requests (SendMessage, Request, PublishBatch, PublishStream), the
 * gateway's hottest input. They mirror the generated `Message.decode` field for field, with one
 * difference: a message without a payload gets a shared empty Buffer, where the generated
 * `createBaseMessage()` allocates `Buffer.alloc(0)` for every message before the real payload
 * replaces it (8 % of the batched relay's CPU in the profile). A payload is still copied out of
 * the frame, so a stored message never pins a whole received frame in memory.
 * test/transport/request-decoding.test.ts holds them to the generated codec. String fields are read
 * strictly (invalid UTF-8 throws `InvalidStringField` naming the field, see strict-decoding.ts).
 */
import type { BinaryReader } from '@bufbuild/protobuf/wire';
import { Message_HeadersEntry, type Message, type MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { InvalidStringField, strictReader } from './strict-decoding';

/** Field names by tag, to name the string field whose bytes were not UTF-8. */
const STRING_FIELDS: Record<number, string> = {
  10: 'id',
  18: 'topic',
  26: 'agent_id',
  34: 'service',
  42: 'version_range',
  58: 'headers',
  74: 'sender_id',
  82: 'key',
  106: 'correlation_id',
  114: 'reply_to',
  122: 'content_type',
};

/** Zero bytes: nothing can be written into it, so every payload-less message can share it. */
const EMPTY_PAYLOAD = Buffer.alloc(0);

export function decodeMessageBatch(bytes: Uint8Array): MessageBatch {
  const reader = strictReader(bytes);
  const messages: Message[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      messages.push(readMessage(reader, reader.uint32(), `messages[${messages.length}]`));
      continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return { messages };
}

export function decodeMessage(bytes: Uint8Array): Message {
  const reader = strictReader(bytes);
  return readMessage(reader, reader.len, 'message');
}

/**
 * Tag of the field being read, for naming the one whose UTF-8 failed. Decoding is synchronous and
 * never re-entered, so one variable serves every gateway in the process; it spares the hot path a
 * closure per message and a try per field.
 */
let currentTag = 0;

function readMessage(reader: BinaryReader, length: number, prefix: string): Message {
  try {
    return readFields(reader, length);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      throw new InvalidStringField(`${prefix}.${STRING_FIELDS[currentTag] ?? `field ${currentTag >>> 3}`}`);
    }
    throw error;
  }
}

function readFields(reader: BinaryReader, length: number): Message {
  const end = reader.pos + length;
  const message: Message = {
    id: '',
    topic: '',
    agentId: '',
    service: '',
    versionRange: '',
    payload: EMPTY_PAYLOAD,
    headers: {},
    durable: false,
    senderId: '',
    key: '',
    hops: 0,
    maxHops: 0,
    correlationId: '',
    replyTo: '',
    contentType: '',
    createdAtMs: 0,
    ttlMs: 0,
  };
  while (reader.pos < end) {
    const tag = reader.uint32();
    currentTag = tag;
    switch (tag) {
      case 10:
        message.id = reader.string();
        continue;
      case 18:
        message.topic = reader.string();
        continue;
      case 26:
        message.agentId = reader.string();
        continue;
      case 34:
        message.service = reader.string();
        continue;
      case 42:
        message.versionRange = reader.string();
        continue;
      case 50:
        message.payload = Buffer.from(reader.bytes());
        continue;
      case 58: {
        const entry = Message_HeadersEntry.decode(reader, reader.uint32());
        if (entry.value !== undefined) message.headers[entry.key] = entry.value;
        continue;
      }
      case 64:
        message.durable = reader.bool();
        continue;
      case 74:
        message.senderId = reader.string();
        continue;
      case 82:
        message.key = reader.string();
        continue;
      case 88:
        message.hops = reader.uint32();
        continue;
      case 96:
        message.maxHops = reader.uint32();
        continue;
      case 106:
        message.correlationId = reader.string();
        continue;
      case 114:
        message.replyTo = reader.string();
        continue;
      case 122:
        message.contentType = reader.string();
        continue;
      case 128:
        message.createdAtMs = safeNumber(reader.int64());
        continue;
      case 136:
        message.ttlMs = reader.uint32();
        continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return message;
}

/** As the generated `longToNumber`: an int64 beyond 2^53 is refused rather than rounded. */
function safeNumber(value: bigint | string): number {
  const number = Number(value);
  if (number > Number.MAX_SAFE_INTEGER) throw new Error('Value is larger than Number.MAX_SAFE_INTEGER');
  if (number < Number.MIN_SAFE_INTEGER) throw new Error('Value is smaller than Number.MIN_SAFE_INTEGER');
  return number;
}
