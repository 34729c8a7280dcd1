/**
 * The decision cache answers from the last caller's entry without looking it up again; a new
 * policy, a cleared cache or another identity must still get their own answers.
 */
import type { Identity } from '../../kernel';
import { DecisionCache } from '../../plugins/auth-standard/decision-cache';
import { compilePolicy } from '../../plugins/auth-standard/policy';

const identity = (id: string): Identity => ({ id, roles: [], method: 'jwt' }) as unknown as Identity;

function policy(version: string, aliceTopics: string[]) {
  return compilePolicy(
    JSON.stringify({
      version,
      identities: [{ id: 'alice' }, { id: 'bob' }],
      rbac: {
        roles: { writer: [{ actions: ['publish'], resources: aliceTopics }], reader: [{ actions: ['subscribe'], resources: ['>'] }] },
        bindings: [
          { role: 'writer', identities: ['alice'] },
          { role: 'reader', identities: ['bob'] },
        ],
      },
    }),
    64 * 1024,
  );
}

describe('auth decision cache', () => {
  test('the same Identity object under a new policy (the cache cleared, as the auth service does) gets the new answer', () => {
    const cache = new DecisionCache(100, 100, () => undefined);
    const alice = identity('alice');
    const before = policy('v1', ['orders.>']);
    const after = policy('v2', ['invoices.>']);
    expect(cache.decide(before, alice, 'publish', 'orders.new').allowed).toBe(true);
    expect(cache.decide(before, alice, 'publish', 'orders.new').allowed).toBe(true);
    cache.clear();
    expect(cache.decide(after, alice, 'publish', 'orders.new').allowed).toBe(false);
    expect(cache.decide(after, alice, 'publish', 'invoices.new').allowed).toBe(true);
  });

  test('callers taking turns each keep their own answers; clear() forgets them', () => {
    const cache = new DecisionCache(100, 100, () => undefined);
    const current = policy('v1', ['orders.>']);
    const [alice, bob] = [identity('alice'), identity('bob')];
    for (let i = 0; i < 3; i++) {
      expect(cache.decide(current, alice, 'publish', 'orders.new').allowed).toBe(true);
      expect(cache.decide(current, bob, 'publish', 'orders.new').allowed).toBe(false);
      expect(cache.decide(current, bob, 'subscribe', 'orders.new').allowed).toBe(true);
      expect(cache.decide(current, alice, 'subscribe', 'orders.new').allowed).toBe(false);
    }
    expect(cache.size()).toBe(2);
    cache.clear();
    expect(cache.size()).toBe(0);
    expect(cache.decide(current, alice, 'publish', 'orders.new').allowed).toBe(true);
    expect(cache.size()).toBe(1);
  });

  test('an identity evicted at maxIdentities is looked up afresh and counted again', () => {
    let evictions = 0;
    const cache = new DecisionCache(100, 1, (limit) => {
      if (limit === 'identities') evictions++;
    });
    const current = policy('v1', ['orders.>']);
    const [alice, bob] = [identity('alice'), identity('bob')];
    cache.decide(current, alice, 'publish', 'orders.new');
    cache.decide(current, bob, 'publish', 'orders.new');
    expect(cache.decide(current, alice, 'publish', 'orders.new').allowed).toBe(true);
    expect(evictions).toBe(2);
    expect(cache.size()).toBe(1);
  });
});
