/**
 * A real gateway with the real monitor plugin for the monitor tests. The other required kinds are
 * small inline plugins (the config allows inline plugins): a working in-memory registry that fires
 * the registry hooks like any registry must, and placeholders for router, auth and transport that
 * these tests do not call. Message hooks are fired on `gw.hooks` exactly as a router fires them.
 */
import fs from 'node:fs';
import { tempDir } from '../../helpers/temp-dir';
import {
  definePlugin,
  gatewayError,
  startGateway,
  type AgentInfo,
  type AgentRecord,
  type AgentState,
  type Gateway,
  type GatewayHooks,
  type PluginDefinition,
  type PluginEntry,
  type RegistryService,
} from '../../../index';

export function inMemoryRegistry(defaultLeaseMs = 30_000): PluginDefinition<Record<string, unknown>, RegistryService> {
  return definePlugin<Record<string, unknown>, RegistryService>({
    name: 'test-registry',
    kind: 'registry',
    version: '1.0.0',
    schema: { type: 'object' },
    setup(ctx) {
      const agents = new Map<string, AgentRecord>();
      const hooks: GatewayHooks = ctx.hooks;
      const mustGet = (agentId: string) => {
        const agent = agents.get(agentId);
        if (!agent) throw gatewayError('GW_NOT_FOUND', `agentId: no agent ${agentId}`, { field: 'agentId' });
        return agent;
      };
      const service: RegistryService = {
        async register(info: AgentInfo, context) {
          const replaced = agents.has(info.agentId);
          const admission = hooks.admitAgent.call({
            info,
            identity: context.identity,
            state: 'running',
            managed: context.managed ?? false,
          });
          const now = Date.now();
          const leaseTtlMs = info.leaseTtlMs || defaultLeaseMs;
          const record: AgentRecord = {
            ...info,
            leaseTtlMs,
            state: admission.state,
            health: 'unknown',
            gatewayId: ctx.gateway.id,
            managed: admission.managed,
            registeredAt: now,
            leaseExpiresAt: now + leaseTtlMs,
            revision: 1,
          };
          agents.set(info.agentId, record);
          hooks.agentRegistered.call(record);
          return { record, replaced };
        },
        async deregister(agentId, reason) {
          const agent = agents.get(agentId);
          if (!agent) return false;
          agents.delete(agentId);
          hooks.agentDeregistered.call(agent, reason);
          return true;
        },
        async renew(agentId) {
          const agent = mustGet(agentId);
          agent.leaseExpiresAt = Date.now() + agent.leaseTtlMs;
          agent.revision += 1;
          return agent;
        },
        attachSession() {},
        sessionClosed() {},
        setState(agentId, state: AgentState, reason) {
          const agent = mustGet(agentId);
          const from = agent.state;
          agent.state = state;
          agent.revision += 1;
          hooks.agentStateChanged.call({ agentId, service: agent.service, from, to: state, reason, at: Date.now() });
          return agent;
        },
        setHealth(agentId, health, reason) {
          const agent = mustGet(agentId);
          const from = agent.health;
          agent.health = health;
          hooks.healthChanged.call({ agentId, service: agent.service, from, to: health, reason, at: Date.now() });
          return agent;
        },
        get: (agentId) => agents.get(agentId),
        discover(query) {
          const found = [...agents.values()].filter((agent) => !query.service || agent.service === query.service);
          return found.slice(0, query.limit ?? 1000);
        },
        size: () => agents.size,
      };
      return { service };
    },
  });
}

function placeholder(kind: 'router' | 'auth' | 'transport'): PluginDefinition<Record<string, unknown>, unknown> {
  const unimplemented = () => {
    throw gatewayError('GW_UNIMPLEMENTED', `the monitor tests' ${kind} placeholder does not route or authenticate`);
  };
  return definePlugin<Record<string, unknown>, unknown>({
    name: `test-${kind}`,
    kind,
    version: '1.0.0',
    schema: { type: 'object' },
    setup: () => ({
      service:
        kind === 'transport'
          ? { addresses: () => ['127.0.0.1:0'], unixSocketPath: () => undefined }
          : new Proxy({}, { get: (_target, property) => (property === 'then' ? undefined : unimplemented) }),
    }),
  });
}

export interface MonitoredGateway {
  gw: Gateway;
  url: string;
  registry: RegistryService;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startMonitoredGateway(
  monitorOptions: Record<string, unknown> = {},
  extraPlugins: PluginEntry[] = [],
  settings: { drainTimeoutMs?: number; leaseMs?: number } = {},
): Promise<MonitoredGateway> {
  // tempDir: also removed after the file when a test never calls close().
  const dataDir = tempDir('openclaw-monitor-');
  const gw = await startGateway({
    config: {
      gateway: { dataDir, drainTimeoutMs: settings.drainTimeoutMs ?? 10_000, logFormat: 'json' },
      plugins: [
        inMemoryRegistry(settings.leaseMs),
        placeholder('router'),
        placeholder('auth'),
        placeholder('transport'),
        { use: 'monitor-prometheus', options: { port: 0, ...monitorOptions } },
        ...extraPlugins,
      ],
    },
    cwd: dataDir,
    logLevel: 'silent',
  });
  const url = gw.service('monitor')!.httpAddress()!;
  return {
    gw,
    url,
    registry: gw.service('registry')!,
    dataDir,
    async stop() {
      await gw.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function agentInfo(agentId: string, overrides: Partial<AgentInfo> = {}): AgentInfo {
  return { agentId, service: 'summarizer', version: '1.2.3', tags: {}, capabilities: [], leaseTtlMs: 30_000, ...overrides };
}

/** Polls until `check` returns a value (not undefined/false) or the timeout passes. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Value of one sample in a Prometheus text exposition, e.g. `name{a="b"}`; undefined when absent. */
export function sampleValue(exposition: string, series: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
