/**
 * Authorization decisions, cached per identity and dropped whole when the policy changes.
 *
 * A decision depends only on the identity id (allow-list), its roles, the action and the resource,
 * so the cache is keyed by `id + roles`: two tokens of one subject with the same claims share
 * entries, tokens that bind different roles do not. Roles are computed once per Identity object
 * (a WeakMap: transports reuse the object the auth service returned for a call or stream).
 * A cache hit allocates nothing: identity → action → resource are map lookups.
 */
import { LRUCache } from 'lru-cache';
import type { AuthAction, AuthzDecision, Identity } from '../../kernel';
import type { CompiledPolicy } from './policy';

interface IdentityDecisions {
  readonly roles: readonly string[];
  readonly byAction: Map<AuthAction, Map<string, AuthzDecision>>;
  size: number;
}

interface RoleBinding {
  policy: CompiledPolicy;
  key: string;
  roles: readonly string[];
}

export class DecisionCache {
  private readonly identities: LRUCache<string, IdentityDecisions>;
  private roleBindings = new WeakMap<Identity, RoleBinding>();
  /** The identity, policy and entry of the last decision (see `decide`). */
  private lastIdentity?: Identity;
  private lastPolicy?: CompiledPolicy;
  private lastEntry?: IdentityDecisions;

  constructor(
    private readonly maxEntriesPerIdentity: number,
    maxIdentities: number,
    private readonly onLimit: (limit: 'identities' | 'entriesPerIdentity') => void,
  ) {
    this.identities = new LRUCache({
      max: maxIdentities,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') onLimit('identities');
      },
    });
  }

  size(): number {
    return this.identities.size;
  }

  clear(): void {
    this.identities.clear();
    this.roleBindings = new WeakMap();
    this.lastIdentity = undefined;
    this.lastPolicy = undefined;
    this.lastEntry = undefined;
  }

  decide(policy: CompiledPolicy, identity: Identity, action: AuthAction, resource: string): AuthzDecision {
    let entry: IdentityDecisions | undefined;
    if (identity === this.lastIdentity && policy === this.lastPolicy && this.lastEntry !== undefined) {
      // The same caller as the last decision (a connection's calls share one Identity): its entry
      // is the LRU's most recent already, so neither the WeakMap nor the LRU is consulted.
      entry = this.lastEntry;
    } else {
      let binding = this.roleBindings.get(identity);
      if (binding === undefined || binding.policy !== policy) {
        const roles = policy.rolesFor(identity);
        binding = { policy, roles, key: `${identity.id}\u0000${roles.join('\u0000')}` };
        this.roleBindings.set(identity, binding);
      }
      entry = this.identities.get(binding.key);
      if (entry === undefined) {
        entry = { roles: binding.roles, byAction: new Map(), size: 0 };
        this.identities.set(binding.key, entry);
      }
      this.lastIdentity = identity;
      this.lastPolicy = policy;
      this.lastEntry = entry;
    }
    let byResource = entry.byAction.get(action);
    if (byResource === undefined) {
      byResource = new Map();
      entry.byAction.set(action, byResource);
    }
    const cached = byResource.get(resource);
    if (cached !== undefined) return cached;

    const decision = policy.decide(identity, entry.roles, action, resource);
    if (entry.size >= this.maxEntriesPerIdentity) {
      // Resources are client input: evict this action's oldest entry rather than grow.
      const oldest = byResource.keys().next();
      if (!oldest.done) {
        byResource.delete(oldest.value);
        entry.size--;
      } else {
        entry.byAction.clear();
        entry.byAction.set(action, byResource);
        entry.size = 0;
      }
      this.onLimit('entriesPerIdentity');
    }
    byResource.set(resource, decision);
    entry.size++;
    return decision;
  }
}
