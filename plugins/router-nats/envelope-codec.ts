/**
 * Messages on the wire between gateways: `<meta length u32><meta JSON><payload bytes>` in one
 * buffer. The payload is copied once into the frame and sliced (not copied) out of it on receipt.
 */
import type { MessageEnvelope } from '../../kernel';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Everything but the payload, in a fixed field order. */
function meta(message: MessageEnvelope): unknown[] {
  return [
    message.id,
    message.topic,
    message.agentId,
    message.service,
    message.versionRange,
    message.headers,
    message.durable,
    message.senderId,
    message.key,
    message.hops,
    message.maxHops,
    message.correlationId,
    message.replyTo,
    message.contentType,
    message.createdAt,
    message.ttlMs,
  ];
}

export function encodeEnvelope(message: MessageEnvelope, extra?: Record<string, unknown>): Uint8Array {
  const fields = meta(message);
  if (extra) fields.push(extra);
  const head = encoder.encode(JSON.stringify(fields));
  const frame = new Uint8Array(4 + head.length + message.payload.length);
  new DataView(frame.buffer).setUint32(0, head.length);
  frame.set(head, 4);
  frame.set(message.payload, 4 + head.length);
  return frame;
}

export interface Decoded {
  message: MessageEnvelope;
  extra?: Record<string, unknown>;
}

export function decodeEnvelope(frame: Uint8Array): Decoded {
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
  const f = JSON.parse(decoder.decode(frame.subarray(4, 4 + length))) as unknown[];
  const message: MessageEnvelope = {
    id: f[0] as string,
    topic: f[1] as string,
    agentId: f[2] as string,
    service: f[3] as string,
    versionRange: f[4] as string,
    payload: frame.subarray(4 + length),
    headers: f[5] as Record<string, string>,
    durable: f[6] as boolean,
    senderId: f[7] as string,
    key: f[8] as string,
    hops: f[9] as number,
    maxHops: f[10] as number,
    correlationId: f[11] as string,
    replyTo: f[12] as string,
    contentType: f[13] as string,
    createdAt: f[14] as number,
    ttlMs: f[15] as number,
  };
  return { message, extra: f[16] as Record<string, unknown> | undefined };
}
