/**
 * Issue #17.5: discovery is access-controlled. With RBAC on, `discover` is an action on the service
 * (or agent id) resource, denied unless granted: Discover, GetAgentStatus and registry events on
 * Subscribe show only what the caller may discover; ListAgents stays `admin`. Real gRPC, JWT
 * identities, one of them a Python grpcio client.
 */
import { status } from '@grpc/grpc-js';
import type { AgentStatus, DiscoverResult, Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { AdminServiceClient, ListAgentsRequest } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { credentials, Metadata } from '@grpc/grpc-js';
import { collect, eventually, failure, runPython, startSecuredGateway, type SecuredGateway } from './harness';

const POLICY = {
  version: 'discovery-test',
  rbac: {
    roles: {
      ops: [{ actions: ['*'], resources: ['>'] }],
      billingWatcher: [{ actions: ['discover'], resources: ['billing'] }],
    },
    bindings: [
      { role: 'ops', identities: ['ops'] },
      { role: 'billingWatcher', identities: ['watcher'] },
    ],
  },
};

const registryEvents = (events: Event[]) => events.flatMap((event) => (event.kind?.$case === 'registry' ? [event.kind.value] : []));

describe('discovery is an RBAC action', () => {
  let gw: SecuredGateway;
  beforeAll(async () => {
    gw = await startSecuredGateway({ policy: POLICY });
    const ops = await gw.client('ops');
    await ops.call('registerAgent', { agentId: 'billing-1', service: 'billing', version: '1.0.0' });
    await ops.call('registerAgent', { agentId: 'secret-1', service: 'secret', version: '1.0.0' });
  }, 30_000);
  afterAll(() => gw?.close());

  test('an identity with no role: Discover, GetAgentStatus and ListAgents reveal nothing (from Python)', async () => {
    const result = await runPython(
      `
channel = grpc.insecure_channel(ARGS["target"])
stub = pb_grpc.GatewayServiceStub(channel)
admin = pb_grpc.AdminServiceStub(channel)
md = [("authorization", "Bearer " + ARGS["token"])]
out = {}
def attempt(name, fn):
    try:
        out[name] = fn()
    except grpc.RpcError as error:
        out[name] = error.code().name + " " + error.details()
attempt("all", lambda: [a.info.agent_id for a in stub.Discover(pb.DiscoverRequest(), metadata=md, timeout=10).agents])
attempt("billing", lambda: [a.info.agent_id for a in stub.Discover(pb.DiscoverRequest(service="billing"), metadata=md, timeout=10).agents])
attempt("status", lambda: stub.GetAgentStatus(pb.AgentStatusRequest(agent_id="billing-1"), metadata=md, timeout=10).agent.info.agent_id)
attempt("missing", lambda: stub.GetAgentStatus(pb.AgentStatusRequest(agent_id="no-such-agent"), metadata=md, timeout=10).agent.info.agent_id)
attempt("health", lambda: stub.HealthCheck(pb.HealthRequest(agent_id="billing-1"), metadata=md, timeout=10).agent_state)
attempt("list", lambda: [a.info.agent_id for a in admin.ListAgents(pb.ListAgentsRequest(), metadata=md, timeout=10).agents])
print(json.dumps(out))
`,
      { target: gw.address, token: await gw.token('nobody') },
    );
    expect(result.all).toEqual([]);
    expect(result.billing).toMatch(
      /^PERMISSION_DENIED GW_PERMISSION_DENIED: service: "nobody" may not discover "billing": identity "nobody" has no role/,
    );
    expect(result.status).toMatch(/^PERMISSION_DENIED .*agent_id: "nobody" may not discover "billing-1"/);
    // An unknown id is refused the same way: no telling registered from unregistered ids.
    expect(result.missing).toMatch(/^PERMISSION_DENIED .*agent_id: "nobody" may not discover "no-such-agent"/);
    expect(result.health).toMatch(/^PERMISSION_DENIED .*agent_id: "nobody" may not discover "billing-1"/);
    expect(result.list).toMatch(/^PERMISSION_DENIED .*may not admin/);
  }, 60_000);

  test('a grant on one service shows that service only', async () => {
    const watcher = await gw.client('watcher');
    expect((await watcher.call<DiscoverResult>('discover', {})).agents.map((agent) => agent.info?.agentId)).toEqual(['billing-1']);
    expect((await watcher.call<DiscoverResult>('discover', { service: 'billing' })).agents.map((agent) => agent.info?.agentId)).toEqual([
      'billing-1',
    ]);
    expect((await failure(watcher.call('discover', { service: 'secret' }))).code).toBe(status.PERMISSION_DENIED);
    expect((await watcher.call<AgentStatus>('getAgentStatus', { agentId: 'billing-1' })).agent!.info!.service).toBe('billing');
    expect((await failure(watcher.call('getAgentStatus', { agentId: 'secret-1' }))).code).toBe(status.PERMISSION_DENIED);
    // HealthCheck of an agent reveals its state too: the same rule; and only the agent's own
    // identity may answer its probes (else anybody could keep a hung agent in routing).
    expect((await watcher.call<{ agentState: number }>('healthCheck', { agentId: 'billing-1' })).agentState).toBeGreaterThan(0);
    expect((await failure(watcher.call('healthCheck', { agentId: 'secret-1' }))).code).toBe(status.PERMISSION_DENIED);
    const probe = await failure(watcher.call('healthCheck', { agentId: 'billing-1', probeId: 'p-1' }));
    expect(probe.code).toBe(status.PERMISSION_DENIED);
    expect(probe.details).toMatch(/probe_id: "watcher" may not answer the probes of "billing-1"/);
    // ops sees everything, ListAgents included.
    const ops = await gw.client('ops');
    expect((await ops.call<DiscoverResult>('discover', {})).agents.map((agent) => agent.info?.agentId).sort()).toEqual([
      'billing-1',
      'secret-1',
    ]);
    const admin = new AdminServiceClient(gw.address, credentials.createInsecure());
    try {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${await gw.token('ops')}`);
      const listed = await new Promise<string[]>((resolve, reject) =>
        admin.listAgents(ListAgentsRequest.fromPartial({}), metadata, (error, reply) =>
          error ? reject(error) : resolve(reply.agents.map((agent) => agent.info?.agentId ?? '')),
        ),
      );
      expect(listed.sort()).toEqual(['billing-1', 'secret-1']);
    } finally {
      admin.close();
    }
  });

  test('registry events carry only the services the watcher may discover', async () => {
    const watcher = await gw.client('watcher');
    const nobody = await gw.client('nobody');
    const watched = collect(watcher.subscribe({ registryEvents: true }));
    const blind = collect(nobody.subscribe({ registryEvents: true }));
    const all = collect((await gw.client('ops')).subscribe({ registryEvents: true }));
    await Promise.all([watched.live, blind.live, all.live]);
    const ops = await gw.client('ops');
    await ops.call('registerAgent', { agentId: 'secret-2', service: 'secret', version: '1.0.0' });
    await ops.call('registerAgent', { agentId: 'billing-2', service: 'billing', version: '1.0.0' });
    // One stream, in order: when billing-2's event arrived, secret-2's was already skipped.
    await eventually(
      () => registryEvents(watched.events).some((event) => event.agent?.info?.agentId === 'billing-2') || undefined,
      10_000,
      'billing-2 event',
    );
    expect(registryEvents(watched.events).map((event) => event.agent?.info?.agentId)).toEqual(['billing-2']);
    // ops (everything granted) got both, in order; by then the broadcast to `nobody` was decided too.
    await eventually(
      () => registryEvents(all.events).some((event) => event.agent?.info?.agentId === 'billing-2') || undefined,
      10_000,
      'ops events',
    );
    expect(registryEvents(all.events).map((event) => event.agent?.info?.agentId)).toEqual(['secret-2', 'billing-2']);
    expect(registryEvents(blind.events)).toEqual([]);
    for (const stream of [watched, blind, all]) stream.stream.cancel();
  });
});
