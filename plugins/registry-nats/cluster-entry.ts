/** One agent in this gateway's copy of the cluster view, and the rules about owning one. */
import { GatewayError, type AgentHealth, type AgentRecord } from '../../kernel';

const MAX_REASON_LENGTH = 256;

export interface Entry {
  record: AgentRecord;
  /** Owned by this gateway: we hold its lease and session, and write its KV entry. */
  local: boolean;
  /** KV revision of the last write we saw for it (0 before the first). */
  kvRevision: number;
  visible: boolean;
  /** Local only: set when the lease lapsed and the agent waits out the grace period. */
  lapsedAt: number;
  healthBeforeLapse?: AgentHealth;
}

export function ownedElsewhere(record: AgentRecord): GatewayError {
  return new GatewayError(
    'GW_NOT_FOUND',
    `agent_id: agent "${record.agentId}" is connected to gateway ${record.gatewayId}, not this one; register here to move it`,
    {
      field: 'agent_id',
    },
  );
}

export function boundedReason(reason: string, fallback: string): string {
  if (typeof reason !== 'string' || reason === '') return fallback;
  return reason.length > MAX_REASON_LENGTH ? reason.slice(0, MAX_REASON_LENGTH) : reason;
}
