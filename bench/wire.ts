/**
 * What the load generators put on the wire. Requests are encoded once up front and written as
 * ready bytes, and deliveries are counted straight from the bytes without decoding, so a
 * generator spends its CPU on HTTP/2 only: on a 2-core machine a decoding client would cost more
 * than the server it is measuring.
 */
import {
  AgentInfo,
  AgentStatusRequest,
  DiscoverRequest,
  Message,
  MessageBatch,
  SubscribeRequest,
} from '../proto/gen/openclaw/gateway/v1/gateway';

export const PAYLOAD_BYTES = 64;
const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);

export function encodeMessage(fields: Partial<Message>): Buffer {
  return Buffer.from(Message.encode(Message.fromPartial({ payload, ...fields })).finish());
}

/** A MessageBatch frame of `size` messages to one topic (or agent inbox), optionally durable. */
export function encodeBatch(
  size: number,
  target: { topic?: string; agentId?: string },
  durable = false,
  payloadBytes = PAYLOAD_BYTES,
): Buffer {
  const body = payloadBytes === PAYLOAD_BYTES ? payload : Buffer.alloc(payloadBytes, 0x61);
  const messages: Message[] = [];
  for (let i = 0; i < size; i++) messages.push(Message.fromPartial({ payload: body, durable, ...target }));
  return Buffer.from(MessageBatch.encode({ messages }).finish());
}

export function encodeSubscribe(request: Partial<SubscribeRequest>): Buffer {
  return Buffer.from(SubscribeRequest.encode(SubscribeRequest.fromPartial(request)).finish());
}

export function encodeAgentInfo(info: Partial<AgentInfo>): Buffer {
  return Buffer.from(AgentInfo.encode(AgentInfo.fromPartial(info)).finish());
}

export function encodeDiscover(query: Partial<DiscoverRequest>): Buffer {
  return Buffer.from(DiscoverRequest.encode(DiscoverRequest.fromPartial(query)).finish());
}

export function encodeStatusRequest(agentId: string): Buffer {
  return Buffer.from(AgentStatusRequest.encode({ agentId }).finish());
}

function readVarint(buf: Buffer, state: { pos: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[state.pos++];
    if (byte === undefined) return -1;
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
    shift += 7;
  }
}

const cursor = { pos: 0 };

/**
 * Deliveries in one encoded `Event`: 1 for `delivery` (field 1), the number of `deliveries`
 * entries for `batch` (field 2), 0 for anything else (notices, registry events).
 */
export function countDeliveries(buf: Buffer): number {
  cursor.pos = 0;
  const tag = readVarint(buf, cursor);
  if (tag === 10) return 1;
  if (tag !== 18) return 0;
  const end = readVarint(buf, cursor) + cursor.pos;
  let count = 0;
  while (cursor.pos < end) {
    const inner = readVarint(buf, cursor);
    const length = readVarint(buf, cursor);
    if (inner < 0 || length < 0) break;
    if (inner === 10) count++;
    cursor.pos += length;
  }
  return count;
}
