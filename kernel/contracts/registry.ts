import type { AgentHealth, AgentInfo, AgentRecord, AgentState, DiscoveryQuery, Identity } from './agent';

export interface RegisterContext {
  identity?: Identity;
  /** Transport session to bind the agent to; when that session ends the agent is marked down. */
  sessionId?: string;
  managed?: boolean;
  /**
   * The per-launch secret a managed instance presents (metadata `x-openclaw-instance-token`, from
   * its `OPENCLAW_INSTANCE_TOKEN`); passed to `admitAgent`, where the supervisor checks it.
   */
  instanceToken?: string;
}

export interface RegisterResult {
  record: AgentRecord;
  /** True when an earlier registration with the same agent id was replaced (proto `replaced`). */
  replaced: boolean;
}

/** How current a registry's copy of the agents is; a clustered one can lag while its store fails over. */
export interface RegistryViewStatus {
  /** The view may lack recent changes; reads still answer from it (nothing is dropped for it). */
  stale: boolean;
  /** How long it has been stale, 0 while current. */
  staleForMs: number;
  /** Why, e.g. `nats-disconnected`, `watch-resuming`, `jetstream-unreachable`. */
  reasons: string[];
}

/**
 * The registry kind's service: the source of truth for which agents exist, where, and in which
 * state. Reads are synchronous (served from memory or a local cache of a distributed store) so
 * routing never awaits a lookup; writes may be asynchronous.
 */
export interface RegistryService {
  register(info: AgentInfo, context: RegisterContext): Promise<RegisterResult>;
  deregister(agentId: string, reason: string): Promise<boolean>;
  /** Renews the lease; throws GW_NOT_FOUND for an unknown agent. */
  renew(agentId: string): Promise<AgentRecord>;
  /** Binds an already registered agent to a transport session (e.g. its Subscribe stream). */
  attachSession(agentId: string, sessionId: string): void;
  /** The session ended: every agent bound to it is marked down at once. */
  sessionClosed(sessionId: string): void;
  setState(agentId: string, state: AgentState, reason: string): AgentRecord;
  setHealth(agentId: string, health: AgentHealth, reason: string): AgentRecord;
  get(agentId: string): AgentRecord | undefined;
  discover(query: DiscoveryQuery): AgentRecord[];
  size(): number;
  /** Optional: registries whose view can lag (clustered) report whether it is current. */
  viewStatus?(): RegistryViewStatus;
}
