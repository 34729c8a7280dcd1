/**
 * The JSON the monitor serves (`/api/status`, `/api/agents`) and streams to the dashboard. Built
 * from the kernel's read-only gateway info and the registry's synchronous reads. (The CLI's
 * `status` and `agents` ask the gateway's gRPC AdminService, which works without a monitor.)
 */
import {
  AGENT_STATES,
  invalidArgument,
  type AgentRecord,
  type AgentState,
  type GatewayInfo,
  type RegistryService,
  type RegistryViewStatus,
  type ServiceLookup,
} from '../../kernel';
import type { AnomalyDetector } from './anomaly-detector';
import type { TrafficRates } from './traffic-rates';

export interface AgentRow {
  agentId: string;
  service: string;
  version: string;
  state: AgentState;
  health: string;
  managed: boolean;
  gatewayId: string;
  registeredAt: number;
  leaseExpiresAt: number;
  tags: Record<string, string>;
}

export interface GatewayStatus {
  gatewayId: string;
  version: string;
  stage: string;
  ready: boolean;
  startedAt: number;
  uptimeMs: number;
  plugins: { name: string; kind: string; version: string }[];
  agents: { total: number; byState: Record<string, number>; byHealth: Record<string, number> };
  addresses: string[];
  monitor: string | undefined;
  anomaly: { trackedAgents: number; pendingRequests: number };
  /** From registries that can lag (registry-nats during NATS failover); absent otherwise. */
  registryView?: RegistryViewStatus;
}

export interface AgentQuery {
  state?: AgentState;
  service?: string;
  limit: number;
}

export class StatusSnapshot {
  constructor(
    private readonly gateway: GatewayInfo,
    private readonly services: ServiceLookup,
    private readonly registry: RegistryService | undefined,
    private readonly detector: AnomalyDetector,
    readonly traffic: TrafficRates,
    private readonly httpAddress: () => string | undefined,
    private readonly maxAgentRows: number,
  ) {}

  status(): GatewayStatus {
    const byState: Record<string, number> = {};
    const byHealth: Record<string, number> = {};
    let total = 0;
    if (this.registry) {
      total = this.registry.size();
      for (const agent of this.registry.discover({ limit: Math.max(1, total) })) {
        byState[agent.state] = (byState[agent.state] ?? 0) + 1;
        byHealth[agent.health] = (byHealth[agent.health] ?? 0) + 1;
      }
    }
    const stage = this.gateway.stage();
    return {
      gatewayId: this.gateway.id,
      version: this.gateway.version,
      stage,
      ready: stage === 'ready',
      startedAt: this.gateway.startedAt,
      uptimeMs: Date.now() - this.gateway.startedAt,
      plugins: this.gateway.plugins().map(({ name, kind, version }) => ({ name, kind, version })),
      agents: { total, byState, byHealth },
      addresses: this.services.transports().flatMap((transport) => transport.addresses()),
      monitor: this.httpAddress(),
      anomaly: { trackedAgents: this.detector.trackedAgents, pendingRequests: this.detector.pendingRequests },
      registryView: this.registry?.viewStatus?.(),
    };
  }

  agents(query: AgentQuery = { limit: this.maxAgentRows }): AgentRow[] {
    if (!this.registry) return [];
    const limit = Math.min(query.limit, this.maxAgentRows);
    const records = this.registry.discover({
      ...(query.service ? { service: query.service } : {}),
      limit: Math.max(1, this.registry.size()),
    });
    const rows: AgentRow[] = [];
    for (const record of records) {
      if (query.state && record.state !== query.state) continue;
      rows.push(toRow(record));
      if (rows.length >= limit) break;
    }
    rows.sort((a, b) => a.service.localeCompare(b.service) || a.agentId.localeCompare(b.agentId));
    return rows;
  }

  /** Validates `/api/agents` query parameters; a bad one is a GW_INVALID_ARGUMENT naming it. */
  parseAgentQuery(params: URLSearchParams): AgentQuery {
    const query: AgentQuery = { limit: this.maxAgentRows };
    const state = params.get('state');
    if (state !== null) {
      if (!(AGENT_STATES as readonly string[]).includes(state)) {
        throw invalidArgument('state', `must be one of ${AGENT_STATES.join(', ')} (got ${JSON.stringify(state)})`);
      }
      query.state = state as AgentState;
    }
    const service = params.get('service');
    if (service !== null) {
      if (!/^[a-z0-9][a-z0-9._-]{0,127}$/.test(service))
        throw invalidArgument('service', `is not a valid service name (got ${JSON.stringify(service)})`);
      query.service = service;
    }
    const limit = params.get('limit');
    if (limit !== null) query.limit = parseLimit('limit', limit, this.maxAgentRows);
    return query;
  }
}

export function parseLimit(field: string, raw: string, maximum: number): number {
  if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > maximum) {
    throw invalidArgument(field, `must be an integer from 1 to ${maximum} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

function toRow(record: AgentRecord): AgentRow {
  return {
    agentId: record.agentId,
    service: record.service,
    version: record.version,
    state: record.state,
    health: record.health,
    managed: record.managed,
    gatewayId: record.gatewayId,
    registeredAt: record.registeredAt,
    leaseExpiresAt: record.leaseExpiresAt,
    tags: record.tags,
  };
}
