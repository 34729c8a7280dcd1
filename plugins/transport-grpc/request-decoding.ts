/**
 * Decoders for the publish requests (SendMessage, Request, PublishBatch, PublishStream), the
 * gateway's hottest input. They mirror the generated `Message.decode` field for field, with one
 * difference: a message without a payload gets a shared empty Buffer, where the generated
 * `createBaseMessage()` allocates `Buffer.alloc(0)` for every message before the real payload
 * replaces it (8 % of the batched relay's CPU in the profile). A decoded message also keeps the
 * received bytes of its untouched fields for the Subscribe encoder (`DecodedMessage`); a message
 * pins at most a small frame (VIEW_MAX_FRAME_BYTES), from larger ones its bytes are copied.
 * test/transport/request-decoding.test.ts holds them to the generated codec. String fields are read
 * strictly (invalid UTF-8 throws `InvalidStringField` naming the field, see strict-decoding.ts).
 */
import type { BinaryReader } from '@bufbuild/protobuf/wire';
import { Message_HeadersEntry, type Message, type MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { InvalidStringField, strictReader as importedStrictReader } from './strict-decoding';

/** Read once: through tsx an imported binding is a getter per access, and this runs per request. */
const strictReader = importedStrictReader;

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

/**
 * Frames up to this size are kept and viewed (no copy per message): a queued message then holds
 * at most this much of its publisher's frame alive (its batch siblings' bytes), 16 MiB for a
 * session's 1,024 queued events in the worst case. Larger frames are copied from, one Buffer per
 * message, so a message never pins a large frame. grpc-js hands every received message over in
 * its own Buffer and never reuses it.
 */
const VIEW_MAX_FRAME_BYTES = 16 * 1024;

/** Zero bytes: nothing can be written into it, so every payload-less message can share it. */
const EMPTY_PAYLOAD = Buffer.alloc(0);

export function decodeMessageBatch(bytes: Uint8Array): MessageBatch {
  const reader = strictReader(bytes);
  frame = asBuffer(bytes);
  const messages: Message[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      messages.push(readMessage(reader, reader.uint32(), messages.length));
      continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
  return { messages };
}

export function decodeMessage(bytes: Uint8Array): Message {
  const reader = strictReader(bytes);
  frame = asBuffer(bytes);
  return readMessage(reader, reader.len, -1);
}

/**
 * Tag of the field being read, for naming the one whose UTF-8 failed. Decoding is synchronous and
 * never re-entered, so one variable serves every gateway in the process; it spares the hot path a
 * closure per message and a try per field.
 */
let currentTag = 0;
/** The bytes being decoded (the reader keeps its own private), for the pass-through copy. */
let frame: Buffer = EMPTY_PAYLOAD;

/**
 * The last topic decoded and its UTF-8 bytes. A batch names one topic a hundred times: equal bytes
 * give the string already decoded (and already found valid UTF-8), so the frame's messages share
 * one string object. That spares a string per message and makes the checks and maps downstream
 * (topic memos, the trie's match cache) compare and hash one object instead of equal copies.
 * Longer topics are decoded every time.
 */
const TOPIC_MEMO_MAX_BYTES = 256;
const lastTopicBytes = new Uint8Array(TOPIC_MEMO_MAX_BYTES);
let lastTopicLength = -1;
let lastTopic = '';

function readTopic(reader: BinaryReader): string {
  const start = reader.pos;
  const length = reader.uint32();
  const at = reader.pos;
  if (length === lastTopicLength && at + length <= reader.len && sameBytes(frame, at, length)) {
    reader.pos = at + length;
    return lastTopic;
  }
  reader.pos = start;
  const topic = reader.string();
  if (length <= TOPIC_MEMO_MAX_BYTES) {
    lastTopicBytes.set(frame.subarray(at, at + length));
    lastTopicLength = length;
    lastTopic = topic;
  }
  return topic;
}

function sameBytes(bytes: Buffer, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[at + i] !== lastTopicBytes[i]) return false;
  return true;
}

/** grpc-js hands Buffers over; anything else is viewed as one (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A decoded Message that also keeps, as received, the bytes of the fields nobody rewrites in place
 * (see `isPassThrough`): the Subscribe encoder copies them into the outgoing Event instead of
 * encoding those fields again (event-encoding.ts). The bytes are kept in a private field, so any
 * copy of the message (`{ ...message, topic }` for a dead letter, a store's serialization) loses
 * them and is encoded field by field. They are a view of a small frame or a copy out of a large
 * one (VIEW_MAX_FRAME_BYTES), and the payload is a view into them.
 */
export class DecodedMessage implements Message {
  // Assigned in the constructor, not as class fields: [[Define]] field semantics cost more per
  // object than plain stores, and one of these is made per published message.
  declare id: string;
  declare topic: string;
  declare agentId: string;
  declare service: string;
  declare versionRange: string;
  declare payload: Buffer;
  declare headers: { [key: string]: string };
  declare durable: boolean;
  declare senderId: string;
  declare key: string;
  declare hops: number;
  declare maxHops: number;
  declare correlationId: string;
  declare replyTo: string;
  declare contentType: string;
  declare createdAtMs: number;
  declare ttlMs: number;
  /**
   * Set when the transport accepts it as a MessageEnvelope (`acceptEnvelope`). Made here, as
   * undefined, so that store finds its slot in place instead of growing every message.
   */
  declare createdAt?: number;
  #passThrough: Uint8Array | undefined;

  constructor() {
    this.id = '';
    this.topic = '';
    this.agentId = '';
    this.service = '';
    this.versionRange = '';
    this.payload = EMPTY_PAYLOAD;
    this.headers = {};
    this.durable = false;
    this.senderId = '';
    this.key = '';
    this.hops = 0;
    this.maxHops = 0;
    this.correlationId = '';
    this.replyTo = '';
    this.contentType = '';
    this.createdAtMs = 0;
    this.ttlMs = 0;
    this.createdAt = undefined;
    this.#passThrough = undefined;
  }

  /** The received bytes of `message`'s pass-through fields, when it is a decoded message that has them. */
  static passThrough(this: void, message: object): Uint8Array | undefined {
    return #passThrough in message ? message.#passThrough : undefined;
  }

  static keep(message: DecodedMessage, bytes: Uint8Array): void {
    message.#passThrough = bytes;
  }
}

/** `index` is the message's place in a batch, -1 for a single message (named only on a refusal). */
function readMessage(reader: BinaryReader, length: number, index: number): Message {
  try {
    return readFields(reader, length);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      const prefix = index < 0 ? 'message' : `messages[${index}]`;
      throw new InvalidStringField(`${prefix}.${STRING_FIELDS[currentTag] ?? `field ${currentTag >>> 3}`}`);
    }
    throw error;
  }
}

/**
 * Fields the gateway passes through as received: the message's target, payload and the fields no
 * router or plugin rewrites in place. The others (id, headers, sender_id, hops, correlation_id,
 * reply_to, created_at_ms) are set by routers or rewritten by hooks (`traceparent`) after
 * decoding, so the encoder always writes them from the object.
 */
function isPassThrough(tag: number): boolean {
  return (
    tag === 18 ||
    tag === 26 ||
    tag === 34 ||
    tag === 42 ||
    tag === 50 ||
    tag === 64 ||
    tag === 82 ||
    tag === 96 ||
    tag === 122 ||
    tag === 136
  );
}

/**
 * Reads one Message. Its pass-through fields are kept as bytes when they are one contiguous run
 * (as every encoder that writes fields in number order produces: id first, then target and
 * payload); interleaved, repeated-elsewhere or unknown fields make it an ordinary message.
 */
function readFields(reader: BinaryReader, length: number): Message {
  const end = reader.pos + length;
  const message = new DecodedMessage();
  let runStart = -1;
  let runEnd = -1;
  let contiguous = true;
  let payloadAt = -1;
  let payloadLength = 0;
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const tag = reader.uint32();
    currentTag = tag;
    if (isPassThrough(tag)) {
      if (runStart < 0) runStart = fieldStart;
      else if (fieldStart !== runEnd) contiguous = false;
    }
    switch (tag) {
      case 10:
        message.id = reader.string();
        continue;
      case 18:
        message.topic = readTopic(reader);
        runEnd = reader.pos;
        continue;
      case 26:
        message.agentId = reader.string();
        runEnd = reader.pos;
        continue;
      case 34:
        message.service = reader.string();
        runEnd = reader.pos;
        continue;
      case 42:
        message.versionRange = reader.string();
        runEnd = reader.pos;
        continue;
      case 50: {
        // Only where the payload is: it is copied once below, no view of the frame in between.
        payloadLength = reader.uint32();
        payloadAt = reader.pos;
        if (payloadAt + payloadLength > reader.len) throw new RangeError('premature EOF');
        reader.pos += payloadLength;
        runEnd = reader.pos;
        continue;
      }
      case 58: {
        const entry = Message_HeadersEntry.decode(reader, reader.uint32());
        if (entry.value !== undefined) message.headers[entry.key] = entry.value;
        continue;
      }
      case 64:
        message.durable = reader.bool();
        runEnd = reader.pos;
        continue;
      case 74:
        message.senderId = reader.string();
        continue;
      case 82:
        message.key = reader.string();
        runEnd = reader.pos;
        continue;
      case 88:
        message.hops = reader.uint32();
        continue;
      case 96:
        message.maxHops = reader.uint32();
        runEnd = reader.pos;
        continue;
      case 106:
        message.correlationId = reader.string();
        continue;
      case 114:
        message.replyTo = reader.string();
        continue;
      case 122:
        message.contentType = reader.string();
        runEnd = reader.pos;
        continue;
      case 128:
        message.createdAtMs = safeNumber(reader.int64());
        continue;
      case 136:
        message.ttlMs = reader.uint32();
        runEnd = reader.pos;
        continue;
    }
    if ((tag & 7) === 4 || tag === 0) break;
    // Unknown fields are dropped, as the generated codec drops them: never passed through.
    contiguous = false;
    reader.skip(tag & 7);
  }
  if (runStart >= 0 && contiguous) {
    // A small frame is viewed, a large one copied from (see VIEW_MAX_FRAME_BYTES); the payload is
    // a view into the same bytes either way. The kept run is only ever copied into frames, so a
    // plain Uint8Array view does (a Buffer view costs a FastBuffer and an offset check in JS).
    if (frame.byteLength <= VIEW_MAX_FRAME_BYTES) {
      DecodedMessage.keep(message, new Uint8Array(frame.buffer, frame.byteOffset + runStart, runEnd - runStart));
      if (payloadAt >= 0) message.payload = frame.subarray(payloadAt, payloadAt + payloadLength);
    } else {
      const kept = Buffer.allocUnsafe(runEnd - runStart);
      frame.copy(kept, 0, runStart, runEnd);
      DecodedMessage.keep(message, kept);
      if (payloadAt >= 0) message.payload = kept.subarray(payloadAt - runStart, payloadAt - runStart + payloadLength);
    }
  } else if (payloadAt >= 0) {
    message.payload = Buffer.allocUnsafe(payloadLength);
    frame.copy(message.payload, 0, payloadAt, payloadAt + payloadLength);
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
