import type { AgentRecord } from '../../kernel';
import { agentInfo, startRegistryGateway, type RegistryGateway } from './registry-gateway';

/**
 * 10,000 instances across services, versions, zones and capabilities; every query's answer is
 * checked against a plain filter over what was registered (correctness only, no timing).
 */
const SERVICES = ['planner', 'summarizer', 'translator', 'vision', 'speech'];
const VERSIONS = ['1.0.0', '1.1.0', '1.2.3', '2.0.0', '2.1.0-beta.1', '2.1.0', '3.0.0'];
const ZONES = ['eu', 'us', 'ap'];
const CAPABILITIES = ['summarize', 'tool:web', 'ocr', 'gpu'];

describe('registry-memory: discovery over 10,000 instances', () => {
  let env: RegistryGateway;
  const expected = new Map<string, AgentRecord>();

  beforeAll(async () => {
    env = await startRegistryGateway({ maxDiscoverResults: 20_000, defaultLeaseTtlMs: 300_000, maxLeaseTtlMs: 300_000 });
    for (let i = 0; i < 10_000; i++) {
      const info = agentInfo(`agent-${i}`, SERVICES[i % SERVICES.length], VERSIONS[(i * 7 + (i >> 3)) % VERSIONS.length], {
        tags: { zone: ZONES[i % ZONES.length], shard: String(i % 10) },
        capabilities: CAPABILITIES.filter((_, c) => (i >> c) % 2 === 1),
      });
      const { record } = await env.registry.register(info, {});
      expected.set(record.agentId, record);
    }
    // Some churn, so the swap-remove index is exercised: every 13th agent leaves, every 17th degrades,
    // every 19th goes into maintenance.
    for (let i = 0; i < 10_000; i += 13) {
      await env.registry.deregister(`agent-${i}`, 'churn');
      expected.delete(`agent-${i}`);
    }
    for (let i = 1; i < 10_000; i += 17)
      if (expected.has(`agent-${i}`)) expected.set(`agent-${i}`, env.registry.setHealth(`agent-${i}`, 'degraded', 'test'));
    for (let i = 2; i < 10_000; i += 19)
      if (expected.has(`agent-${i}`)) expected.set(`agent-${i}`, env.registry.setState(`agent-${i}`, 'maintenance', 'test'));
  }, 120_000);
  afterAll(() => env.close());

  function reference(filter: (record: AgentRecord) => boolean): string[] {
    return [...expected.values()]
      .filter(filter)
      .map((record) => record.agentId)
      .sort();
  }
  function ids(records: AgentRecord[]): string[] {
    return records.map((record) => record.agentId).sort();
  }
  const routable = (r: AgentRecord) => r.state === 'running' && (r.health === 'healthy' || r.health === 'unknown');

  test('the registry holds exactly what is left after churn', () => {
    expect(env.registry.size()).toBe(expected.size);
    expect(ids(env.registry.discover({}))).toEqual(reference(() => true));
  });

  test.each([
    ['planner', '', false],
    ['summarizer', '^1.1.0', false],
    ['translator', '>=2.0.0 <3', true],
    ['vision', '2.1.0-beta.1', false],
    ['speech', '^2.1.0-beta.0', true],
    ['planner', '3.x', true],
  ])('service %s range "%s" routableOnly=%s', (service, range, routableOnly) => {
    const found = env.registry.discover({ service, versionRange: range, routableOnly });
    const satisfies = (version: string) => (range === '' ? true : require('semver').satisfies(version, range));
    const want = reference((r) => r.service === service && satisfies(r.version) && (!routableOnly || routable(r)));
    expect(want.length).toBeGreaterThan(0);
    expect(ids(found)).toEqual(want);
  });

  test('tags and capabilities narrow the answer exactly', () => {
    const found = env.registry.discover({
      service: 'vision',
      tags: { zone: 'eu', shard: '3' },
      capabilities: ['ocr', 'gpu'],
      routableOnly: true,
    });
    const want = reference(
      (r) =>
        r.service === 'vision' &&
        r.tags.zone === 'eu' &&
        r.tags.shard === '3' &&
        r.capabilities.includes('ocr') &&
        r.capabilities.includes('gpu') &&
        routable(r),
    );
    expect(want.length).toBeGreaterThan(0);
    expect(ids(found)).toEqual(want);
    expect(ids(env.registry.discover({ capabilities: ['tool:web'], tags: { zone: 'ap' } }))).toEqual(
      reference((r) => r.capabilities.includes('tool:web') && r.tags.zone === 'ap'),
    );
  });

  test('a limit returns that many matching instances', () => {
    const found = env.registry.discover({ service: 'summarizer', versionRange: '^2', limit: 25 });
    expect(found).toHaveLength(25);
    for (const record of found) {
      expect(record.service).toBe('summarizer');
      expect(record.version.startsWith('2.')).toBe(true);
    }
  });

  test('records returned are the current ones', () => {
    for (const record of env.registry.discover({ service: 'translator' })) expect(record).toBe(env.registry.get(record.agentId));
  });
});
