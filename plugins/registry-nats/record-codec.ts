/**
 * How an agent record is stored in the KV bucket. Keys are `a.<base64url(agentId)>` because agent
 * ids may hold `:` which KV keys do not allow; values are the record as JSON without the session
 * id (sessions are the owning gateway's business).
 */
import type { AgentRecord } from '../../kernel';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function agentKey(agentId: string): string {
  return `a.${Buffer.from(agentId, 'utf8').toString('base64url')}`;
}

export function encodeRecord(record: AgentRecord): Uint8Array {
  return encoder.encode(JSON.stringify({ ...record, sessionId: undefined }));
}

/** Throws on a value that is not a record (someone else wrote into the bucket). */
export function decodeRecord(bytes: Uint8Array): AgentRecord {
  const value = JSON.parse(decoder.decode(bytes)) as AgentRecord;
  if (
    typeof value?.agentId !== 'string' ||
    typeof value.gatewayId !== 'string' ||
    typeof value.service !== 'string' ||
    typeof value.version !== 'string'
  ) {
    throw new Error('not an agent record');
  }
  value.tags ??= {};
  value.capabilities ??= [];
  return value;
}
