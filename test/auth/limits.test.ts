import { writeFileSync } from 'node:fs';
import type { Identity, LimitEvent } from '../../kernel';
import { rejectionOf, startAuthOnly, tempDir } from './harness';

describe('auth-standard bounded structures', () => {
  test('the decision cache stays bounded, fire limitReached, and keep answering correctly', async () => {
    const { gateway, auth } = await startAuthOnly(
      {
        policy: {
          identities: [{ id: '*', services: ['svc.*'] }],
          rbac: {
            roles: {
              pub: [
                { actions: ['publish'], resources: ['t.*'] },
                { actions: ['register'], resources: ['>'] },
              ],
            },
            bindings: [{ role: 'pub', identities: ['*'] }],
          },
        },
        decisionCache: { maxIdentities: 2, maxEntriesPerIdentity: 2 },
        failureLimit: { maxPeers: 2, maxFailures: 100 },
      },
      tempDir(),
    );
    const limits: LimitEvent[] = [];
    gateway.hooks.limitReached.tap('limits-test', (event) => void limits.push(event));
    try {
      const identity: Identity = { id: 'a', method: 'mtls', claims: {} };
      for (const topic of ['t.1', 't.2', 't.3', 'u.1']) {
        expect(auth.authorize({ identity, action: 'publish', resource: topic }).allowed).toBe(topic.startsWith('t.'));
      }
      for (const id of ['b', 'c', 'd']) {
        expect(auth.authorize({ identity: { id, method: 'mtls', claims: {} }, action: 'register', resource: 'svc.x' }).allowed).toBe(true);
      }
      expect(limits.map((event) => `${event.limit}:${event.policy}:${event.plugin}`)).toEqual([
        'auth.decisionCache.entriesPerIdentity:evict-oldest:auth-standard',
        'auth.decisionCache.identities:evict-oldest:auth-standard',
      ]);
      const metrics = await gateway.metrics.registry.getSingleMetricAsString('openclaw_auth_limit_hits_total');
      expect(metrics).toContain('limit="auth.decisionCache.entriesPerIdentity"');
      const caches = await gateway.metrics.registry.getSingleMetricAsString('openclaw_auth_cache_entries');
      expect(caches).toContain('openclaw_auth_cache_entries{cache="decision"} 2');
    } finally {
      await gateway.stop();
    }
  });

  test('tracked peer addresses are capped; the oldest is forgotten', async () => {
    const dir = tempDir();
    writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [] }));
    const { gateway, auth } = await startAuthOnly(
      { jwt: { jwksFile: 'jwks.json', issuer: 'i', audience: 'a' }, failureLimit: { maxPeers: 2, maxFailures: 2, lockoutMs: 60_000 } },
      dir,
    );
    const limits: string[] = [];
    gateway.hooks.limitReached.tap('limits-test', (event) => void limits.push(event.limit));
    const attempt = (peer: string) => rejectionOf(auth.authenticate({ metadata: { authorization: 'Bearer x.y.z' }, peer, method: '/m' }));
    try {
      await attempt('ipv4:10.0.0.1:1');
      await attempt('ipv4:10.0.0.2:1');
      await attempt('ipv4:10.0.0.3:1'); // evicts 10.0.0.1
      expect(limits).toEqual(['auth.failureLimit.maxPeers']);
      // 10.0.0.1 starts over: one more failure does not lock it out yet.
      expect((await attempt('ipv4:10.0.0.1:2')).code).toBe('GW_UNAUTHENTICATED');
      expect((await attempt('ipv4:10.0.0.1:3')).code).toBe('GW_UNAUTHENTICATED');
      expect((await attempt('ipv4:10.0.0.1:4')).code).toBe('GW_RESOURCE_EXHAUSTED');
    } finally {
      await gateway.stop();
    }
  });
});
