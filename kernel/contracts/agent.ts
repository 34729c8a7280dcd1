/**
 * Agent domain types shared by the registry, router, supervisor, transports and monitor.
 * Plain data only: every plugin may read these, none may depend on another plugin's classes.
 */

/** The lifecycle, exactly as designed: restart goes from running/maintenance back to initializing. */
export type AgentState = 'created' | 'initializing' | 'running' | 'maintenance' | 'upgrade' | 'terminated';

export const AGENT_STATES: readonly AgentState[] = ['created', 'initializing', 'running', 'maintenance', 'upgrade', 'terminated'];

/** Legal transitions. Anything else is rejected with GW_FAILED_PRECONDITION. */
export const AGENT_TRANSITIONS: Readonly<Record<AgentState, readonly AgentState[]>> = {
  created: ['initializing', 'terminated'],
  initializing: ['running', 'terminated'],
  running: ['maintenance', 'upgrade', 'initializing', 'terminated'],
  maintenance: ['running', 'upgrade', 'initializing', 'terminated'],
  upgrade: ['running', 'maintenance', 'initializing', 'terminated'],
  terminated: [],
};

export function isLegalTransition(from: AgentState, to: AgentState): boolean {
  return AGENT_TRANSITIONS[from].includes(to);
}

/** Health is orthogonal to lifecycle state: a running agent can be degraded and out of routing. */
export type AgentHealth = 'unknown' | 'healthy' | 'degraded' | 'unhealthy';

/** What an agent says about itself when it registers. */
export interface AgentInfo {
  /** Client-chosen id, or empty for the registry to assign one. */
  agentId: string;
  service: string;
  /** Semantic version of the agent's service implementation. */
  version: string;
  tags: Record<string, string>;
  capabilities: string[];
  /** Lease the agent asks for; the registry clamps it to its configured bounds. */
  leaseTtlMs: number;
  /** Optional self-description for Agent2Agent cards (proto `AgentInfo.profile`). */
  profile?: AgentProfile;
}

/** What an agent tells about itself for its A2A agent card (proto `AgentProfile`). */
export interface AgentProfile {
  description: string;
  skills: AgentSkill[];
}

export interface AgentSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples: string[];
}

export interface AgentRecord extends AgentInfo {
  state: AgentState;
  health: AgentHealth;
  /** Identity of the caller that registered it (from the auth plugin), if any. */
  identity?: string;
  /** Transport session (e.g. the Subscribe stream) whose end marks the agent down at once. */
  sessionId?: string;
  /** Gateway instance that owns the agent (differs from the local one in a cluster). */
  gatewayId: string;
  /** True when the supervisor started the process; false for agents that connected on their own. */
  managed: boolean;
  registeredAt: number;
  /**
   * Kept current only by the owning gateway (`gatewayId`), where the agent renews it. A cluster
   * registry does not share renewals, so on other gateways this is the expiry at registration:
   * judge a lease (lapse, missed renewals) only where `gatewayId` is the local gateway.
   */
  leaseExpiresAt: number;
  /** Monotonic counter bumped on each change so watchers can order updates. */
  revision: number;
}

export interface AgentStateChange {
  agentId: string;
  service: string;
  from: AgentState;
  to: AgentState;
  reason: string;
  at: number;
}

export interface HealthChange {
  agentId: string;
  service: string;
  from: AgentHealth;
  to: AgentHealth;
  reason: string;
  at: number;
}

export interface DiscoveryQuery {
  service?: string;
  /** semver range, e.g. `^1.2.0`; empty means any version. */
  versionRange?: string;
  /** All of these tags must match exactly. */
  tags?: Record<string, string>;
  /** All of these capabilities must be present. */
  capabilities?: string[];
  /** Only agents in `running` state with health `healthy` or `unknown`. */
  routableOnly?: boolean;
  /** Hard cap on results; the registry also applies its own cap. */
  limit?: number;
}

/** Who is calling, as established by the auth plugin. */
export interface Identity {
  /** Stable principal name, e.g. `spiffe://example.org/agent/planner` or a JWT `sub`. */
  id: string;
  /** How it was established: `mtls`, `jwt`, `open`, or a third-party scheme name. */
  method: string;
  /** Claims or attributes usable by RBAC bindings (JWT claims, cert fields). */
  claims: Readonly<Record<string, unknown>>;
  /** Epoch ms when the credential stops being valid (JWT exp); streams are closed then. */
  expiresAt?: number;
}
