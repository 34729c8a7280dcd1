import type { Command } from 'commander';
import {
  agentHealthToJSON,
  agentStateToJSON,
  type AdminResult,
  type AgentRecord,
  type ListAgentsResult,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { addAdminOptions, callAdmin, formatDuration, mergeAdminFlags, reportAdminFailure, type AdminFlags } from './admin-client';
import { formatTable } from './plugin-table';

type ManagedAction = 'startAgent' | 'stopAgent' | 'restartAgent' | 'drainAgent';

const ACTIONS: ReadonlyArray<{ name: string; method: ManagedAction; description: string }> = [
  { name: 'start', method: 'startAgent', description: 'start a stopped, terminated or quarantined managed agent' },
  { name: 'stop', method: 'stopAgent', description: 'drain, then stop a managed agent (no restart)' },
  { name: 'restart', method: 'restartAgent', description: 'restart a managed agent; returns when it runs again' },
  { name: 'drain', method: 'drainAgent', description: 'put a managed agent in maintenance: out of routing, process kept' },
];

export function register(program: Command): void {
  const agents = addAdminOptions(
    program
      .command('agents')
      .description('list the agents of a running gateway (AdminService.ListAgents), or act on a managed one')
      .option('--managed', 'only agents the supervisor manages'),
  ).action(async (flags: AdminFlags & { managed?: boolean }) => {
    try {
      const result = await callAdmin<ListAgentsResult>(flags, 'listAgents', { managedOnly: flags.managed ?? false });
      if (flags.json) {
        console.log(JSON.stringify(result.agents.map(agentRow), null, 2));
        return;
      }
      console.log(formatAgents(result.agents, Date.now()));
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });

  // `agents --target x restart w-1` and `agents restart w-1 --target x` both work (see mergeAdminFlags).
  for (const action of ACTIONS) {
    addAdminOptions(agents.command(`${action.name} <agentId>`).description(action.description), false).action(
      async (agentId: string, _flags: unknown, command: Command) => {
        await runAction(mergeAdminFlags(command), action.method, { agentId });
      },
    );
  }
  addAdminOptions(agents.command('upgrade <agentId>'), false)
    .description('rolling upgrade of a managed agent spec to a new version, command or arguments')
    .option('--version <version>', 'the version the new instances report')
    .option('--command <command>', 'the new executable')
    .option('--args <args...>', 'the new arguments (replace the old ones)')
    .action(async (agentId: string, flags: { version?: string; command?: string; args?: string[] }, command: Command) => {
      await runAction(mergeAdminFlags(command), 'upgradeAgent', {
        agentId,
        version: flags.version ?? '',
        command: flags.command ?? '',
        args: flags.args ?? [],
      });
    });
}

async function runAction(
  flags: AdminFlags,
  method: ManagedAction | 'upgradeAgent',
  request: { agentId: string; [field: string]: unknown },
): Promise<void> {
  try {
    const result = await callAdmin<AdminResult>(flags, method, request);
    if (flags.json) console.log(JSON.stringify(result));
    else console.log(result.message);
    if (!result.ok) process.exitCode = 1;
  } catch (error) {
    process.exitCode = reportAdminFailure(error);
  }
}

/** `AGENT_STATE_RUNNING` → `running`: the words operators see everywhere else. */
function enumWord(value: string, prefix: string): string {
  return value.startsWith(prefix) ? value.slice(prefix.length).toLowerCase() : value.toLowerCase();
}

function agentRow(agent: AgentRecord) {
  return {
    agentId: agent.info?.agentId ?? '',
    service: agent.info?.service ?? '',
    version: agent.info?.version ?? '',
    state: enumWord(agentStateToJSON(agent.state), 'AGENT_STATE_'),
    health: enumWord(agentHealthToJSON(agent.health), 'AGENT_HEALTH_'),
    managed: agent.managed,
    gatewayId: agent.gatewayId,
    identity: agent.identity,
    registeredAtMs: agent.registeredAtMs,
    leaseExpiresAtMs: agent.leaseExpiresAtMs,
  };
}

export function formatAgents(agents: readonly AgentRecord[], now: number): string {
  if (agents.length === 0) return 'no agents';
  const rows = agents
    .map(agentRow)
    .sort((a, b) => a.service.localeCompare(b.service) || a.agentId.localeCompare(b.agentId))
    .map((agent) => [
      agent.agentId,
      agent.service,
      agent.version,
      agent.state,
      agent.health,
      agent.managed ? 'yes' : 'no',
      agent.registeredAtMs > 0 ? formatDuration(now - agent.registeredAtMs) : '-',
      agent.leaseExpiresAtMs > 0 ? (agent.leaseExpiresAtMs > now ? `in ${formatDuration(agent.leaseExpiresAtMs - now)}` : 'expired') : '-',
    ]);
  return formatTable(['AGENT', 'SERVICE', 'VERSION', 'STATE', 'HEALTH', 'MANAGED', 'UP', 'LEASE'], rows);
}
