/**
 * sandbox-bubblewrap inside a real gateway: a sandboxed agent without network registers over the
 * gateway's Unix socket with real gRPC; the plugin refuses to start when bwrap creates no
 * namespaces; a spawn whose sandbox shares the gateway's namespaces is refused and killed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { SandboxService } from '../../kernel';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { outputOf } from './plugin-context';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/sandbox');

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Pids whose command line contains `text` (a unique marker in an agent's arguments). */
function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('sandbox-bubblewrap in a gateway', () => {
  let gw: TestGateway;
  let sandbox: SandboxService;

  beforeAll(async () => {
    gw = await startTestGateway({ extraPlugins: ['sandbox-bubblewrap'] });
    sandbox = gw.gateway.service('sandbox')!;
  });
  afterAll(() => gw.stop());

  const grpcAgent = (agentId: string, network: boolean) =>
    sandbox.spawn({
      agentId,
      command: process.execPath,
      args: [path.join(fixtures, 'grpc-agent.js')],
      env: { PROTO_ROOT: path.join(root, 'proto'), OPENCLAW_AGENT_ID: agentId, TCP_TARGET: gw.address },
      profile: {
        // The agent's code, its dependencies and the proto: nothing else of the repository.
        readOnlyPaths: [fixtures, path.join(root, 'node_modules'), path.join(root, 'proto')],
        readWritePaths: [],
        network,
        envAllowList: [],
        limits: { memoryBytes: 1024 * 1024 * 1024, openFiles: 256 },
      },
      gatewaySocket: gw.socketPath,
    });

  it('registers over the bound Unix socket with real gRPC while TCP to the same gateway fails', async () => {
    const out = await outputOf(await grpcAgent('sandboxed-offline', false));
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      socket: '/run/openclaw/gateway.sock',
      tcp: 'failed: UNAVAILABLE',
      registered: 'sandboxed-offline',
      health: 'STATUS_SERVING',
    });
  });

  it('reaches the gateway over TCP too when the profile grants network', async () => {
    const out = await outputOf(await grpcAgent('sandboxed-online', true));
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ tcp: 'reached', registered: 'sandboxed-online', health: 'STATUS_SERVING' });
  });
});

describe('sandbox-bubblewrap without namespaces', () => {
  const fakeBwrap = path.join(fixtures, 'fake-bwrap.sh');

  it('refuses to start, naming the namespaces that were not created', async () => {
    const started = startTestGateway({ extraPlugins: [{ use: 'sandbox-bubblewrap', options: { bwrapPath: fakeBwrap } }] });
    await expect(started).rejects.toMatchObject({ code: 'GW_PLUGIN_START_FAILED' });
    await expect(started).rejects.toThrow(/did not create the user, pid, ipc, uts, mnt, net namespace\(s\)/);
  });

  it('refuses and kills an agent whose sandbox shares the gateway namespaces (self-check off)', async () => {
    const gw = await startTestGateway({
      extraPlugins: [{ use: 'sandbox-bubblewrap', options: { bwrapPath: fakeBwrap, verifyNamespaces: false, setupTimeoutMs: 2000 } }],
    });
    const marker = `unconfined-agent-${process.pid}-${Date.now()}`;
    try {
      const spawned = gw.gateway.service('sandbox')!.spawn({
        agentId: 'unconfined',
        command: process.execPath,
        args: ['-e', `setInterval(() => {}, 1000) // ${marker}`],
        env: {},
        profile: { readOnlyPaths: [], readWritePaths: [], network: true, envAllowList: [], limits: {} },
      });
      await expect(spawned).rejects.toMatchObject({ code: 'GW_FAILED_PRECONDITION', details: { reason: 'namespaces' } });
      await expect(spawned).rejects.toThrow(/shares the gateway's user, pid, ipc, uts, mnt namespace/);
      await waitUntil(() => processesWith(marker).length === 0, 'the refused agent is gone');
      const metrics = await gw.gateway.metrics.registry.metrics();
      expect(metrics).toContain('openclaw_sandbox_spawn_failures_total{sandbox="sandbox-bubblewrap",reason="namespaces"} 1');
    } finally {
      await gw.stop();
    }
  });
});
