/**
 * Conversions between kernel contract types and generated protobuf types. The kernel types mirror
 * the proto field names, so most conversions are casts; only timestamps (`createdAt` vs
 * `created_at_ms`) and enums need work.
 */
import type { AgentHealth, AgentRecord, AgentState, MessageEnvelope } from '../../kernel';
import {
  AgentHealth as ProtoHealth,
  AgentState as ProtoState,
  type AgentRecord as ProtoAgentRecord,
  type Message,
} from '../../proto/gen/openclaw/gateway/v1/gateway';

const STATE_TO_PROTO: Record<AgentState, ProtoState> = {
  created: ProtoState.AGENT_STATE_CREATED,
  initializing: ProtoState.AGENT_STATE_INITIALIZING,
  running: ProtoState.AGENT_STATE_RUNNING,
  maintenance: ProtoState.AGENT_STATE_MAINTENANCE,
  upgrade: ProtoState.AGENT_STATE_UPGRADE,
  terminated: ProtoState.AGENT_STATE_TERMINATED,
};

const HEALTH_TO_PROTO: Record<AgentHealth, ProtoHealth> = {
  unknown: ProtoHealth.AGENT_HEALTH_UNKNOWN,
  healthy: ProtoHealth.AGENT_HEALTH_HEALTHY,
  degraded: ProtoHealth.AGENT_HEALTH_DEGRADED,
  unhealthy: ProtoHealth.AGENT_HEALTH_UNHEALTHY,
};

export function stateToProto(state: AgentState): ProtoState {
  return STATE_TO_PROTO[state] ?? ProtoState.AGENT_STATE_UNSPECIFIED;
}

export function healthToProto(health: AgentHealth): ProtoHealth {
  return HEALTH_TO_PROTO[health] ?? ProtoHealth.AGENT_HEALTH_UNKNOWN;
}

export function recordToProto(record: AgentRecord): ProtoAgentRecord {
  return {
    info: {
      agentId: record.agentId,
      service: record.service,
      version: record.version,
      tags: record.tags,
      capabilities: record.capabilities,
      leaseTtlMs: record.leaseTtlMs,
      profile: record.profile,
    },
    state: stateToProto(record.state),
    health: healthToProto(record.health),
    identity: record.identity ?? '',
    gatewayId: record.gatewayId,
    managed: record.managed,
    registeredAtMs: record.registeredAt,
    leaseExpiresAtMs: record.leaseExpiresAt,
    revision: record.revision,
  };
}

/**
 * A decoded proto Message becomes the router's envelope in place (no copy on the send path): it
 * already has every field but `createdAt`, which the gateway stamps on acceptance anyway.
 */
export function acceptEnvelope(message: Message, now: number): MessageEnvelope {
  const envelope = message as unknown as MessageEnvelope;
  envelope.createdAt = now;
  return envelope;
}

export function envelopeToProto(envelope: MessageEnvelope): Message {
  return {
    id: envelope.id,
    topic: envelope.topic,
    agentId: envelope.agentId,
    service: envelope.service,
    versionRange: envelope.versionRange,
    payload: Buffer.isBuffer(envelope.payload)
      ? envelope.payload
      : Buffer.from(envelope.payload.buffer, envelope.payload.byteOffset, envelope.payload.byteLength),
    headers: envelope.headers,
    durable: envelope.durable,
    senderId: envelope.senderId,
    key: envelope.key,
    hops: envelope.hops,
    maxHops: envelope.maxHops,
    correlationId: envelope.correlationId,
    replyTo: envelope.replyTo,
    contentType: envelope.contentType,
    createdAtMs: envelope.createdAt,
    ttlMs: envelope.ttlMs,
  };
}
