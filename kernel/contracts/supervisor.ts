import type { AgentRecord } from './agent';

/** The supervisor kind's service: managed agents (started, restarted and upgraded by the gateway). */
export interface SupervisorService {
  list(): AgentRecord[];
  start(agentId: string): Promise<void>;
  stop(agentId: string): Promise<void>;
  restart(agentId: string): Promise<void>;
  drain(agentId: string): Promise<void>;
  upgrade(agentId: string, change: { command?: string; args?: string[]; version?: string }): Promise<void>;
}
