/**
 * Shared pieces for router tests: a small in-memory registry plugin (the real one is another
 * plugin; routing only needs discover/get and the registry hooks), open auth and listener-less
 * transport plugins to satisfy the required kinds, a recording EventSink (a real sink the router
 * writes to, with a switchable "buffer full" state), and message builders.
 */
import semver from 'semver';
import { tempDir } from '../helpers/temp-dir';
import {
  definePlugin,
  startGateway,
  type AgentInfo,
  type AgentRecord,
  type AuthService,
  type CallerContext,
  type Delivery,
  type EventSink,
  type Gateway,
  type GatewayError,
  type GatewayHooks,
  type MessageEnvelope,
  type OutboundEvent,
  type PluginEntry,
  type RegistryService,
  type RouterService,
  type TransportService,
} from '../../index';

export function testRegistryPlugin() {
  return definePlugin<Record<string, unknown>, RegistryService>({
    name: 'registry-test',
    kind: 'registry',
    version: '1.0.0',
    schema: { type: 'object' },
    setup(ctx) {
      return { service: new TestRegistry(ctx.hooks) };
    },
  });
}

class TestRegistry implements RegistryService {
  private readonly agents = new Map<string, AgentRecord>();
  private revision = 0;
  constructor(private readonly hooks: GatewayHooks) {}

  async register(info: AgentInfo) {
    const replaced = this.agents.has(info.agentId);
    const record: AgentRecord = {
      ...info,
      state: 'running',
      health: 'healthy',
      gatewayId: 'test',
      managed: false,
      registeredAt: Date.now(),
      leaseExpiresAt: Date.now() + 60_000,
      revision: ++this.revision,
    };
    this.agents.set(info.agentId, record);
    this.hooks.agentRegistered.call(record);
    return { record, replaced };
  }
  async deregister(agentId: string, reason: string) {
    const record = this.agents.get(agentId);
    if (!record) return false;
    this.agents.delete(agentId);
    this.hooks.agentDeregistered.call(record, reason);
    return true;
  }
  async renew(agentId: string) {
    return this.agents.get(agentId)!;
  }
  attachSession() {}
  sessionClosed() {}
  setState(agentId: string, state: AgentRecord['state'], reason: string) {
    const record = this.agents.get(agentId)!;
    const from = record.state;
    record.state = state;
    this.hooks.agentStateChanged.call({ agentId, service: record.service, from, to: state, reason, at: Date.now() });
    return record;
  }
  setHealth(agentId: string, health: AgentRecord['health'], reason: string) {
    const record = this.agents.get(agentId)!;
    const from = record.health;
    record.health = health;
    this.hooks.healthChanged.call({ agentId, service: record.service, from, to: health, reason, at: Date.now() });
    return record;
  }
  get(agentId: string) {
    return this.agents.get(agentId);
  }
  discover(query: { service?: string; versionRange?: string; routableOnly?: boolean }) {
    return [...this.agents.values()].filter(
      (a) =>
        (!query.service || a.service === query.service) &&
        (!query.versionRange || semver.satisfies(a.version, query.versionRange)) &&
        (!query.routableOnly || (a.state === 'running' && (a.health === 'healthy' || a.health === 'unknown'))),
    );
  }
  size() {
    return this.agents.size;
  }
}

export const openAuthPlugin = definePlugin<Record<string, unknown>, AuthService>({
  name: 'auth-test-open',
  kind: 'auth',
  version: '1.0.0',
  schema: { type: 'object' },
  setup: () => ({
    service: {
      authenticate: async () => ({ id: 'anonymous', method: 'open', claims: {} }),
      authorize: () => ({ allowed: true, reason: 'open' }),
      serverTls: () => undefined,
      loopbackOnly: () => true,
      onPolicyChange: () => () => undefined,
    },
  }),
});

/** Satisfies the required transport kind for tests that drive the router service directly. */
export const noListenerTransportPlugin = definePlugin<Record<string, unknown>, TransportService>({
  name: 'transport-none',
  kind: 'transport',
  version: '1.0.0',
  schema: { type: 'object' },
  dependencies: [{ kind: 'router' }],
  setup: () => ({ service: { addresses: () => [], unixSocketPath: () => undefined } }),
});

/** Removed after the test file (see temp-dir.ts). */
export function tempDataDir(label: string): string {
  return tempDir(`router-${label}-`);
}

export interface RouterGateway {
  gw: Gateway;
  router: RouterService;
  registry: RegistryService;
  dataDir: string;
}

export async function startRouterGateway(
  options: Record<string, unknown> = {},
  dataDir = tempDataDir('gw'),
  router: PluginEntry = { use: 'router-embedded', options },
): Promise<RouterGateway> {
  const gw = await startGateway({
    logLevel: 'silent',
    config: {
      gateway: { dataDir, processMetrics: false },
      plugins: [testRegistryPlugin(), router, openAuthPlugin, noListenerTransportPlugin],
    },
  });
  return { gw, router: gw.service('router')!, registry: gw.service('registry')!, dataDir };
}

export const caller: CallerContext = { peer: 'test' };
export const agentCaller = (agentId: string): CallerContext => ({ peer: 'test', agentId });

export function message(fields: Partial<MessageEnvelope> & { text?: string }): MessageEnvelope {
  const { text, ...rest } = fields;
  return {
    id: '',
    topic: '',
    agentId: '',
    service: '',
    versionRange: '',
    payload: Buffer.from(text ?? ''),
    headers: {},
    durable: false,
    senderId: '',
    key: '',
    hops: 0,
    maxHops: 0,
    correlationId: '',
    replyTo: '',
    contentType: '',
    createdAt: 0,
    ttlMs: 0,
    ...rest,
  };
}

export function agentInfo(agentId: string, service = 'svc', version = '1.0.0'): AgentInfo {
  return { agentId, service, version, tags: {}, capabilities: [], leaseTtlMs: 30_000 };
}

/** A real sink: records every write; `paused` makes it report a full buffer like a slow stream. */
export class RecordingSink implements EventSink {
  readonly writes: OutboundEvent[][] = [];
  paused = false;
  closedWith?: GatewayError | null;
  private readonly writable: (() => void)[] = [];

  write(events: readonly OutboundEvent[]): boolean {
    this.writes.push([...events]);
    return !this.paused;
  }
  onWritable(listener: () => void): void {
    this.writable.push(listener);
  }
  close(error?: GatewayError): void {
    this.closedWith = error ?? null;
  }
  resume(): void {
    this.paused = false;
    for (const listener of this.writable) listener();
  }
  get events(): OutboundEvent[] {
    return this.writes.flat();
  }
  get deliveries(): Delivery[] {
    return this.events.flatMap((e) => (e.kind === 'delivery' ? [e.delivery] : []));
  }
  texts(): string[] {
    return this.deliveries.map((d) => Buffer.from(d.message.payload).toString());
  }
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets queued microtasks (session flushes) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
