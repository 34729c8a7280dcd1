/**
 * Register / discover / deregister over real gRPC, on loopback TCP and on the Unix socket, with
 * the built-in registry, router and auth plugins.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { GatewayServiceClient, type AgentInfo } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { AgentState } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from './grpc-call';

function agentInfo(agentId: string, service: string, version: string): AgentInfo {
  return { agentId, service, version, tags: { zone: 'a' }, capabilities: ['summarize'], leaseTtlMs: 30_000, profile: undefined };
}

describe.each([
  ['loopback TCP', (gw: TestGateway) => gw.address],
  ['Unix socket', (gw: TestGateway) => `unix:${gw.socketPath}`],
])('registry RPCs over %s', (_label, targetOf) => {
  let gw: TestGateway;
  let client: GatewayServiceClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    client = new GatewayServiceClient(targetOf(gw), credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await gw?.stop();
  });

  it('registers, discovers by service and version range, reports status, deregisters', async () => {
    const first = await unary(client, 'registerAgent', agentInfo('sum-1', 'summarizer', '1.2.0'));
    expect(first.agentId).toBe('sum-1');
    expect(first.replaced).toBe(false);
    expect(first.gatewayId).toBe(gw.gateway.info.id);
    expect(first.leaseExpiresAtMs).toBeGreaterThan(Date.now());
    await unary(client, 'registerAgent', agentInfo('sum-2', 'summarizer', '2.0.1'));
    await unary(client, 'registerAgent', agentInfo('tr-1', 'translator', '1.0.0'));

    const all = await unary(client, 'discover', {
      service: 'summarizer',
      versionRange: '',
      tags: {},
      capabilities: [],
      routableOnly: false,
      limit: 0,
    });
    expect(all.agents.map((a) => a.info?.agentId).sort()).toEqual(['sum-1', 'sum-2']);

    const v1 = await unary(client, 'discover', {
      service: 'summarizer',
      versionRange: '^1.0.0',
      tags: {},
      capabilities: [],
      routableOnly: false,
      limit: 0,
    });
    expect(v1.agents.map((a) => a.info?.agentId)).toEqual(['sum-1']);
    const v2 = await unary(client, 'discover', {
      service: 'summarizer',
      versionRange: '>=2 <3',
      tags: { zone: 'a' },
      capabilities: ['summarize'],
      routableOnly: false,
      limit: 0,
    });
    expect(v2.agents.map((a) => a.info?.version)).toEqual(['2.0.1']);
    const none = await unary(client, 'discover', {
      service: 'summarizer',
      versionRange: '^3',
      tags: {},
      capabilities: [],
      routableOnly: false,
      limit: 0,
    });
    expect(none.agents).toEqual([]);

    const status = await unary(client, 'getAgentStatus', { agentId: 'sum-1' });
    expect(status.agent?.info?.service).toBe('summarizer');
    expect(status.agent?.state).toBe(AgentState.AGENT_STATE_RUNNING);

    const beat = await unary(client, 'heartbeat', { agentId: 'sum-1' });
    expect(beat.leaseExpiresAtMs).toBeGreaterThan(Date.now());

    const again = await unary(client, 'registerAgent', agentInfo('sum-1', 'summarizer', '1.2.1'));
    expect(again.replaced).toBe(true);

    for (const agentId of ['sum-1', 'sum-2', 'tr-1']) {
      expect(await unary(client, 'deregisterAgent', { agentId, reason: 'test' })).toEqual({ removed: true });
    }
    const error = await unary(client, 'getAgentStatus', { agentId: 'sum-1' }).catch((e: ServiceError) => e);
    expect((error as ServiceError).code).toBe(5);
    expect((error as ServiceError).details).toMatch(/^GW_NOT_FOUND: agent_id/);
    expect((error as ServiceError).metadata.get('gw-error-code')).toEqual(['GW_NOT_FOUND']);
  });
});
