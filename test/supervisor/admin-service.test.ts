/**
 * Operator actions over real gRPC (AdminService): ListAgents, DrainAgent, StartAgent,
 * RestartAgent, StopAgent, UpgradeAgent, and the refusal of an illegal transition. Every
 * transition is also watched as a registry event on a Subscribe stream, as a client sees it.
 */
import { credentials, status as GrpcStatus, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  AdminServiceClient,
  AgentState,
  GatewayServiceClient,
  RegistryEvent_Kind,
  type Event,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { unary } from '../transport/grpc-call';
import { alive, fixtureAgent, routable, startSupervised, waitUntil, type SupervisedGateway } from './harness';

function stateName(state: AgentState): string {
  return AgentState[state].replace('AGENT_STATE_', '').toLowerCase();
}

describe('AdminService over gRPC with the supervisor', () => {
  let gw: SupervisedGateway;
  let admin: AdminServiceClient;
  let client: GatewayServiceClient;
  let watch: ClientReadableStream<Event>;
  /** `agentId from→to` of every KIND_STATE_CHANGED registry event seen on the Subscribe stream. */
  const watched: string[] = [];

  beforeAll(async () => {
    gw = await startSupervised({
      agents: [fixtureAgent('ops', 'well'), fixtureAgent('stubborn', 'ignore-sigterm', { stopTimeoutMs: 300 })],
    });
    admin = new AdminServiceClient(gw.address, credentials.createInsecure());
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    watch = client.subscribe({ agentId: '', topics: [], registryEvents: true, maxBatch: 0 });
    watch.on('data', (event: Event) => {
      if (event.kind?.$case !== 'registry') return;
      const registry = event.kind.value;
      if (registry.kind === RegistryEvent_Kind.KIND_STATE_CHANGED) {
        watched.push(`${registry.agent?.info?.agentId} ${stateName(registry.fromState)}→${stateName(registry.toState)}`);
      }
    });
    watch.on('error', () => undefined);
    await gw.events.waitFor((e) => e.kind === 'state' && e.agentId === 'ops-1' && e.to === 'running', 'ops-1 running');
    await gw.events.waitFor((e) => e.kind === 'state' && e.agentId === 'stubborn-1' && e.to === 'running', 'stubborn-1 running');
  });

  afterAll(async () => {
    watch?.cancel();
    admin?.close();
    client?.close();
    await gw?.stop();
  });

  it('ListAgents lists the managed instances with their state', async () => {
    const all = await unary(admin, 'listAgents', { managedOnly: true });
    const byId = Object.fromEntries(all.agents.map((agent) => [agent.info!.agentId, agent]));
    expect(Object.keys(byId).sort()).toEqual(['ops-1', 'stubborn-1']);
    expect(byId['ops-1']).toMatchObject({ state: AgentState.AGENT_STATE_RUNNING, managed: true });
  });

  it('DrainAgent: maintenance, out of routing, the process keeps running; StartAgent brings it back', async () => {
    const pid = gw.supervisor.status('ops-1')[0].pid!;
    await unary(admin, 'drainAgent', { agentId: 'ops' });
    expect(gw.registry.get('ops-1')!.state).toBe('maintenance');
    expect(routable(gw.registry, 'ops')).toEqual([]);
    expect(alive(pid)).toBe(true);
    await unary(admin, 'startAgent', { agentId: 'ops-1' });
    expect(gw.registry.get('ops-1')!.state).toBe('running');
    expect(routable(gw.registry, 'ops')).toHaveLength(1);
    await waitUntil(() => watched.includes('ops-1 maintenance→running'), 'the registry events on the Subscribe stream');
    expect(watched).toEqual(expect.arrayContaining(['ops-1 running→maintenance', 'ops-1 maintenance→running']));
  });

  it('RestartAgent: running → initializing → running with a new process; resolves once running', async () => {
    const before = gw.supervisor.status('ops-1')[0].pid!;
    await unary(admin, 'restartAgent', { agentId: 'ops-1' });
    const [after] = gw.supervisor.status('ops-1');
    expect(after).toMatchObject({ state: 'running', restarts: 1 });
    expect(after.pid).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(gw.events.states('ops-1').slice(-2)).toEqual(['running→initializing', 'initializing→running']);
  });

  it('StopAgent: drained, SIGTERM, terminated, no restart; an agent ignoring SIGTERM is killed after stopTimeoutMs', async () => {
    const pid = gw.supervisor.status('stubborn-1')[0].pid!;
    await unary(admin, 'stopAgent', { agentId: 'stubborn' });
    expect(gw.supervisor.status('stubborn-1')[0]).toMatchObject({ state: 'terminated', pid: undefined });
    expect(alive(pid)).toBe(false);
    expect(gw.events.states('stubborn-1')).toEqual([
      'created→initializing',
      'initializing→running',
      'running→maintenance',
      'maintenance→terminated',
    ]);
    expect(gw.registry.get('stubborn-1')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(gw.supervisor.status('stubborn-1')[0].state).toBe('terminated');
  });

  it('an illegal transition is refused: DrainAgent of a terminated agent is FAILED_PRECONDITION', async () => {
    const error = (await unary(admin, 'drainAgent', { agentId: 'stubborn-1' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(error.details).toMatch(/^GW_FAILED_PRECONDITION: .*terminated→maintenance/);
    const restart = (await unary(admin, 'restartAgent', { agentId: 'stubborn-1' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(restart.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    const unknown = (await unary(admin, 'stopAgent', { agentId: 'nobody' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(unknown.code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('StartAgent of a terminated agent: a new incarnation, created → initializing → running', async () => {
    await unary(admin, 'startAgent', { agentId: 'stubborn-1' });
    expect(gw.supervisor.status('stubborn-1')[0].state).toBe('running');
    expect(gw.events.states('stubborn-1').slice(-2)).toEqual(['created→initializing', 'initializing→running']);
  });

  it('UpgradeAgent: the new version runs on a new instance, the old one goes running → upgrade → terminated and is gone', async () => {
    const result = await unary(admin, 'upgradeAgent', { agentId: 'ops', command: '', args: [], version: '1.1.0' });
    expect(result.ok).toBe(true);
    const status = gw.supervisor.status('ops');
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ agentId: 'ops-2', state: 'running', version: '1.1.0' });
    expect(gw.events.states('ops-1').slice(-2)).toEqual(['running→upgrade', 'upgrade→terminated']);
    expect(routable(gw.registry, 'ops').map((agent) => `${agent.agentId}@${agent.version}`)).toEqual(['ops-2@1.1.0']);
    const bad = (await unary(admin, 'upgradeAgent', { agentId: 'ops', command: '', args: [], version: 'not-semver' }).catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
  });
});
