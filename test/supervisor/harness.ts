/**
 * A real gateway with the supervisor (registry-memory, router-embedded, auth-standard open,
 * transport-grpc on loopback + a Unix socket, a sandbox plugin) whose hooks are recorded from
 * before the first agent starts, plus the fixture agent spec (test/fixtures/agents/managed-agent.js).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadGateway, type AgentRecord, type Gateway, type PluginEntry, type RegistryService, type SupervisorService } from '../../index';

export const FIXTURE_AGENT = path.resolve(__dirname, '../fixtures/agents/managed-agent.js');
export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface RecordedEvent {
  kind: 'state' | 'health' | 'registered' | 'deregistered' | 'anomaly';
  agentId: string;
  from?: string;
  to?: string;
  reason?: string;
  rule?: string;
  action?: string;
  at: number;
}

export class EventLog {
  readonly events: RecordedEvent[] = [];

  constructor(gateway: Gateway) {
    const { hooks } = gateway;
    hooks.agentStateChanged.tap('test', (change) =>
      this.events.push({ kind: 'state', agentId: change.agentId, from: change.from, to: change.to, reason: change.reason, at: Date.now() }),
    );
    hooks.healthChanged.tap('test', (change) =>
      this.events.push({
        kind: 'health',
        agentId: change.agentId,
        from: change.from,
        to: change.to,
        reason: change.reason,
        at: Date.now(),
      }),
    );
    hooks.agentRegistered.tap('test', (agent) =>
      this.events.push({ kind: 'registered', agentId: agent.agentId, to: agent.state, at: Date.now() }),
    );
    hooks.agentDeregistered.tap('test', (agent, reason) =>
      this.events.push({ kind: 'deregistered', agentId: agent.agentId, reason, at: Date.now() }),
    );
    hooks.anomaly.tap('test', (event) =>
      this.events.push({ kind: 'anomaly', agentId: event.agentId, rule: event.rule, action: event.action, at: Date.now() }),
    );
  }

  states(agentId: string): string[] {
    return this.events.filter((event) => event.kind === 'state' && event.agentId === agentId).map((event) => `${event.from}→${event.to}`);
  }

  find(predicate: (event: RecordedEvent) => boolean, after = 0): RecordedEvent | undefined {
    return this.events.find((event) => event.at >= after && predicate(event));
  }

  async waitFor(predicate: (event: RecordedEvent) => boolean, what: string, timeoutMs = 10_000, after = 0): Promise<RecordedEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((event, index) => index >= 0 && event.at >= after && predicate(event));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; events:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}`);
      await sleep(10);
    }
  }
}

/** JSON log lines of the gateway (what an operator sees), kept in memory. */
export class LogLines {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  logger = pino({ level: 'debug' }, this.stream);
}

export interface AgentOverrides {
  env?: Record<string, string>;
  replicas?: number;
  version?: string;
  restart?: Record<string, unknown>;
  health?: Record<string, unknown>;
  sandbox?: Record<string, unknown>;
  logs?: Record<string, unknown>;
  stopTimeoutMs?: number;
  service?: string;
}

/** Supervisor spec of the fixture agent, tuned for fast tests (probes every 200 ms). */
export function fixtureAgent(id: string, behaviour = 'well', overrides: AgentOverrides = {}): Record<string, unknown> {
  return {
    id,
    command: process.execPath,
    args: [FIXTURE_AGENT],
    version: overrides.version ?? '1.0.0',
    replicas: overrides.replicas ?? 1,
    ...(overrides.service ? { service: overrides.service } : {}),
    env: { AGENT_BEHAVIOUR: behaviour, PROTO_ROOT: path.join(REPO_ROOT, 'proto'), ...overrides.env },
    cwd: REPO_ROOT,
    sandbox: { readOnlyPaths: [REPO_ROOT], envAllowList: ['PATH'], ...overrides.sandbox },
    restart: { initialDelayMs: 50, jitter: 0, ...overrides.restart },
    health: { probeIntervalMs: 200, probeTimeoutMs: 300, failureThreshold: 2, readinessTimeoutMs: 10_000, ...overrides.health },
    stopTimeoutMs: overrides.stopTimeoutMs ?? 2000,
    ...(overrides.logs ? { logs: overrides.logs } : {}),
  };
}

export interface SupervisedGateway {
  gateway: Gateway;
  address: string;
  socketPath: string;
  events: EventLog;
  supervisor: SupervisorService;
  registry: RegistryService;
  stop(): Promise<void>;
}

export interface SupervisedOptions {
  agents: Array<Record<string, unknown>>;
  sandbox?: 'sandbox-process' | 'sandbox-bubblewrap';
  supervisor?: Record<string, unknown>;
  extraPlugins?: PluginEntry[];
  logger?: pino.Logger;
  drainTimeoutMs?: number;
  /** Use registry-nats and router-nats on this NATS server and prefix instead of the embedded pair. */
  nats?: { url: string; prefix: string };
}

export async function startSupervised(options: SupervisedOptions): Promise<SupervisedGateway> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-sup-'));
  const socketPath = path.join(dataDir, 'gw.sock');
  const gateway = await loadGateway({
    config: {
      gateway: { dataDir, drainTimeoutMs: options.drainTimeoutMs ?? 5000, processMetrics: false },
      plugins: [
        ...(options.nats
          ? [
              { use: 'registry-nats', options: { servers: [options.nats.url], prefix: options.nats.prefix } },
              { use: 'router-nats', options: { servers: [options.nats.url], prefix: options.nats.prefix } },
            ]
          : ['registry-memory', 'router-embedded']),
        'auth-standard',
        { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }, { socket: socketPath }] } },
        options.sandbox ?? 'sandbox-process',
        { use: 'supervisor', options: { agents: options.agents, ...options.supervisor } },
        ...(options.extraPlugins ?? []),
      ],
    },
    ...(options.logger ? { logger: options.logger } : { logLevel: 'silent' as const }),
  });
  const events = new EventLog(gateway);
  await gateway.start();
  const tcp = gateway
    .transports()[0]
    .addresses()
    .find((address) => !address.startsWith('unix:'))!;
  return {
    gateway,
    address: tcp,
    socketPath,
    events,
    supervisor: gateway.service('supervisor')!,
    registry: gateway.service('registry')!,
    async stop() {
      await gateway.stop('test finished');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** Alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function routable(registry: RegistryService, service: string): AgentRecord[] {
  return registry.discover({ service, routableOnly: true });
}
