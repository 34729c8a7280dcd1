/**
 * The supervisor kind: agents the gateway starts, watches, restarts and upgrades itself (declared in
 * the supervisor plugin's `agents` option). Agents that connect on their own are never supervised.
 *
 * Ids: a spec `id` with `replicas: n` runs instances `<id>-1` … `<id>-n` (each registers under its
 * instance id); a rolling upgrade starts new instances on free numbers up to `2n`. Every method
 * takes a spec id (acts on all of its instances) or one instance id.
 */
import type { AgentHealth, AgentRecord, AgentState } from './agent';

export interface ManagedInstanceStatus {
  /** Instance id, the agent id the process registers with. */
  agentId: string;
  /** Spec id from the config. */
  specId: string;
  state: AgentState;
  health: AgentHealth;
  version: string;
  /** Host pid of the agent's process while one runs. */
  pid?: number;
  /** Restarts since the gateway started this instance. */
  restarts: number;
  /** True when crash-loop detection stopped restarting it (terminated until started by an operator). */
  quarantined: boolean;
  /** Why the last transition happened. */
  reason: string;
  startedAt?: number;
}

/** The supervisor kind's service: managed agents (started, restarted and upgraded by the gateway). */
export interface SupervisorService {
  /** Registry-shaped records of every managed instance (also those not yet registered). */
  list(): AgentRecord[];
  /** Supervisor-side detail (pid, restarts, quarantine) of a spec's instances or of one instance. */
  status(agentId: string): ManagedInstanceStatus[];
  /** Starts a stopped, terminated or quarantined agent. GW_NOT_FOUND for an unknown id. */
  start(agentId: string): Promise<void>;
  /** Drains, then stops (SIGTERM, SIGKILL after the stop timeout): state `terminated`, no restart. */
  stop(agentId: string): Promise<void>;
  /** running/maintenance → initializing; resolves when the new process is running again. */
  restart(agentId: string): Promise<void>;
  /** Puts it in `maintenance`: out of routing, the process keeps running (restart or start brings it back). */
  drain(agentId: string): Promise<void>;
  /**
   * Rolling upgrade of a spec: for each instance, start the new version, wait until it runs, then
   * drain and stop the old one. Resolves when every instance runs the new version.
   */
  upgrade(agentId: string, change: { command?: string; args?: string[]; version?: string }): Promise<void>;
}
