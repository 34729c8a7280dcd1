import type { MessageEnvelope } from '../../../kernel';

let sequence = 0;

/** A message as a router hands it to the hooks (accepted: id and createdAt assigned). */
export function envelope(overrides: Partial<MessageEnvelope> = {}): MessageEnvelope {
  sequence += 1;
  return {
    id: `m-${process.pid}-${sequence}`,
    topic: '',
    agentId: '',
    service: '',
    versionRange: '',
    payload: new Uint8Array([1, 2, 3]),
    headers: {},
    durable: false,
    senderId: '',
    key: '',
    hops: 0,
    maxHops: 16,
    correlationId: '',
    replyTo: '',
    contentType: 'application/octet-stream',
    createdAt: Date.now(),
    ttlMs: 0,
    ...overrides,
  };
}
