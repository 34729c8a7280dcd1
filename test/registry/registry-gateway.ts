/**
 * Starts a real gateway around the real `registry-memory` and `router-embedded` plugins. Auth and
 * transport are small open/listener-less inline plugins: the registry tests call the registry
 * service directly, so no listener is needed, but the kernel requires the kinds.
 */
import fs from 'node:fs';
import { tempDir } from '../helpers/temp-dir';
import {
  definePlugin,
  startGateway,
  type AgentInfo,
  type AuthService,
  type Gateway,
  type LimitEvent,
  type PluginEntry,
  type RegistryService,
  type TransportService,
} from '../../index';

function openAuth() {
  return definePlugin<Record<string, unknown>, AuthService>({
    name: 'auth-open-test',
    kind: 'auth',
    version: '1.0.0',
    schema: { type: 'object' },
    setup() {
      return {
        service: {
          authenticate: async () => ({ id: 'anonymous', method: 'open', claims: {} }),
          authorize: () => ({ allowed: true, reason: 'open' }),
          serverTls: () => undefined,
          loopbackOnly: () => true,
          onPolicyChange: () => () => undefined,
        },
      };
    },
  });
}

function listenerlessTransport() {
  return definePlugin<Record<string, unknown>, TransportService>({
    name: 'transport-none-test',
    kind: 'transport',
    version: '1.0.0',
    schema: { type: 'object' },
    dependencies: [{ kind: 'registry' }, { kind: 'router' }, { kind: 'auth' }],
    setup() {
      return { service: { addresses: () => [], unixSocketPath: () => undefined } };
    },
  });
}

export interface RegistryGateway {
  gateway: Gateway;
  registry: RegistryService;
  limits: LimitEvent[];
  close(): Promise<void>;
}

export async function startRegistryGateway(
  options: Record<string, unknown> = {},
  extraPlugins: PluginEntry[] = [],
): Promise<RegistryGateway> {
  // tempDir: also removed after the file when a test never calls close().
  const dataDir = tempDir('openclaw-registry-');
  const gateway = await startGateway({
    logLevel: 'silent',
    cwd: dataDir,
    config: {
      gateway: { dataDir, processMetrics: false },
      plugins: [{ use: 'registry-memory', options }, 'router-embedded', openAuth(), listenerlessTransport(), ...extraPlugins],
    },
  });
  const limits: LimitEvent[] = [];
  gateway.hooks.limitReached.tap('registry-test', (event) => void limits.push(event));
  return {
    gateway,
    registry: gateway.service('registry')!,
    limits,
    async close() {
      await gateway.stop('test over');
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function agentInfo(agentId: string, service: string, version = '1.0.0', extra: Partial<AgentInfo> = {}): AgentInfo {
  return { agentId, service, version, tags: {}, capabilities: [], leaseTtlMs: 0, ...extra };
}

export function identity(id: string) {
  return { id, method: 'test', claims: {} };
}

/** Resolves when `check` holds, polling; fails the test with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The value of a metric series from the gateway's own prom-client registry. */
export async function metricValue(gateway: Gateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = gateway.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const series = values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted));
  return series?.value ?? 0;
}
