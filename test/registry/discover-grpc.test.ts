/**
 * Discover over real gRPC with 10,000 registered agents (some deregistered again, some degraded):
 * queries by service + semver range + tags, as the router and clients ask them, give exactly the
 * agents a filter over what was registered gives, and a tag query answers the same agents, in the
 * same order, as the tag-less query filtered by hand (a scan of the service's versions). Covers the
 * tag index's two ways of answering: from the rarest tag's agents and by scanning the versions.
 */
import { credentials } from '@grpc/grpc-js';
import semver from 'semver';
import {
  AgentHealth,
  AgentInfo,
  DiscoverRequest,
  GatewayServiceClient,
  type AgentRecord,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from '../transport/grpc-call';

const AGENTS = 10_000;
const SERVICES = ['planner', 'summarizer', 'translator', 'vision', 'speech'];
const VERSIONS = ['1.0.0', '1.1.0', '1.2.3', '2.0.0', '2.1.0-beta.1', '2.1.0', '3.0.0'];
const ZONES = ['eu', 'us', 'ap'];

interface Registered {
  agentId: string;
  service: string;
  version: string;
  tags: Record<string, string>;
  capabilities: string[];
  degraded: boolean;
}

function describeAgent(i: number): Registered {
  const tags: Record<string, string> = { zone: ZONES[Math.floor(i / 5) % ZONES.length], shard: String(i % 50) };
  // A rare tag (2 in 250), carried by translator and vision agents only.
  if (i % 250 === 7 || i % 250 === 8) tags.canary = 'yes';
  // Rarer still: about 10 vision agents.
  if (i % 1_000 === 8) tags.pinned = 'yes';
  if (i % 5 === 0) tags.tier = 'gold';
  return {
    agentId: `disc-${i}`,
    service: SERVICES[i % SERVICES.length],
    version: VERSIONS[(i * 7 + (i >> 3)) % VERSIONS.length],
    tags,
    capabilities: i % 3 === 0 ? ['ocr', 'gpu'] : ['ocr'],
    degraded: false,
  };
}

describe('registry-memory: Discover over gRPC with 10,000 agents', () => {
  let gw: TestGateway;
  let client: GatewayServiceClient;
  const registered = new Map<string, Registered>();

  beforeAll(async () => {
    gw = await startTestGateway({
      plugins: { registry: { use: 'registry-memory', options: { maxDiscoverResults: 5_000, maxLeaseTtlMs: 600_000 } } },
      transport: { quotas: { agentsPerIdentity: AGENTS + 100 } },
    });
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    const infos = Array.from({ length: AGENTS }, (_, i) => describeAgent(i));
    for (let i = 0; i < infos.length; i += 100) {
      await Promise.all(
        infos.slice(i, i + 100).map(async (agent) => {
          const { agentId, service, version, tags, capabilities } = agent;
          await unary(
            client,
            'registerAgent',
            AgentInfo.fromPartial({ agentId, service, version, tags, capabilities, leaseTtlMs: 600_000 }),
          );
          registered.set(agentId, agent);
        }),
      );
    }
    // Churn: removals reorder the index (swap-remove) and empty some tag values.
    for (let i = 0; i < AGENTS; i += 11) {
      await unary(client, 'deregisterAgent', { agentId: `disc-${i}`, reason: 'churn' });
      registered.delete(`disc-${i}`);
    }
    const registry = gw.gateway.service('registry')!;
    for (let i = 3; i < AGENTS; i += 17) {
      if (!registered.has(`disc-${i}`)) continue;
      registry.setHealth(`disc-${i}`, 'degraded', 'test');
      registered.get(`disc-${i}`)!.degraded = true;
    }
  }, 180_000);

  afterAll(async () => {
    client?.close();
    await gw?.stop();
  });

  const discover = async (query: Partial<DiscoverRequest>): Promise<AgentRecord[]> =>
    (await unary(client, 'discover', DiscoverRequest.fromPartial(query))).agents;
  const ids = (records: AgentRecord[]) => records.map((record) => record.info!.agentId);

  function reference(query: Partial<DiscoverRequest>): string[] {
    return [...registered.values()]
      .filter(
        (agent) =>
          (!query.service || agent.service === query.service) &&
          (!query.versionRange || semver.satisfies(agent.version, query.versionRange)) &&
          Object.entries(query.tags ?? {}).every(([key, value]) => agent.tags[key] === value) &&
          (query.capabilities ?? []).every((capability) => agent.capabilities.includes(capability)) &&
          (!query.routableOnly || !agent.degraded),
      )
      .map((agent) => agent.agentId)
      .sort();
  }

  const queries: Array<[string, Partial<DiscoverRequest>]> = [
    ['service + range + common tag', { service: 'summarizer', versionRange: '^1.0.0', tags: { zone: 'eu' } }],
    ['service + range + rare tag', { service: 'vision', versionRange: '>=1 <3', tags: { canary: 'yes' } }],
    ['service + tag no agent of it carries', { service: 'planner', tags: { canary: 'no' } }],
    [
      'service + two tags + capability, routable',
      { service: 'speech', tags: { zone: 'us', shard: '4' }, capabilities: ['gpu'], routableOnly: true },
    ],
    ['service + range + tag key nobody has', { service: 'translator', versionRange: '^2', tags: { region: 'eu' } }],
    ['no service, rare tag', { tags: { canary: 'yes' }, routableOnly: true }],
    ['no service, tag + range', { versionRange: '2.1.0-beta.1', tags: { tier: 'gold' } }],
  ];

  test.each(queries)('%s: exactly the matching agents', async (label, query) => {
    const want = reference(query);
    expect(want.length).toBeLessThan(5_000);
    if (!label.includes('no agent') && !label.includes('nobody')) expect(want.length).toBeGreaterThan(0);
    expect(ids(await discover(query)).sort()).toEqual(want);
  });

  test.each([
    ['common tag, limit 10', { service: 'summarizer', versionRange: '^1.0.0', tags: { zone: 'eu' }, limit: 10 }],
    ['rare-ish tag, limit 3', { service: 'vision', versionRange: '>=1', tags: { shard: '13' }, limit: 3 }],
    ['two tags, limit 5', { service: 'planner', tags: { zone: 'ap', tier: 'gold' }, limit: 5 }],
    ['rare tag, limit 1', { service: 'vision', tags: { canary: 'yes' }, limit: 1 }],
    ['rare tag, limit 5', { service: 'vision', versionRange: '>=1', tags: { canary: 'yes' }, limit: 5 }],
    ['very rare tag, limit 2', { service: 'vision', tags: { pinned: 'yes' }, limit: 2 }],
  ] as Array<[string, Partial<DiscoverRequest>]>)(
    '%s: the same agents in the same order as scanning the service and filtering by tag',
    async (_label, query) => {
      const { tags, limit, ...untagged } = query;
      const scanned = (await discover({ ...untagged, limit: 5_000 })).filter((record) =>
        Object.entries(tags!).every(([key, value]) => record.info!.tags[key] === value),
      );
      const found = await discover(query);
      expect(found.length).toBe(Math.min(limit!, reference(query).length));
      expect(found.length).toBeGreaterThan(0);
      expect(ids(found)).toEqual(ids(scanned).slice(0, limit));
      for (const record of found) expect(record.health).not.toBe(AgentHealth.AGENT_HEALTH_UNHEALTHY);
    },
  );
});
