/**
 * The `AuthService` of auth-standard: picks the credential a call carries (bearer token, client
 * certificate, or none in open mode), applies the per-address failure limit, and answers
 * authorization questions from the live policy through the decision cache.
 */
import type { Logger } from 'pino';
import {
  GatewayError,
  isGatewayError,
  type AuthAction,
  type AuthRequest,
  type AuthScheme,
  type AuthService,
  type AuthzDecision,
  type AuthzRequest,
  type GatewayHooks,
  type Identity,
  type MetricsFactory,
  type ServerTlsSettings,
} from '../../kernel';
import { DecisionCache } from './decision-cache';
import { FailureLimiter, peerAddress } from './failure-limiter';
import type { JwtVerifier } from './jwt-verifier';
import { bearerToken } from './jwt-verifier';
import type { MtlsIdentityVerifier } from './mtls-identity';
import type { CompiledPolicy } from './policy';
import type { PolicyStore } from './policy-store';
import { AUTH_ACTIONS, type AuthStandardOptions } from './schema';

/** The caller in open mode: one frozen object, so its roles are computed once per policy. */
const AUTH_METHODS = ['none', 'jwt', 'mtls', 'open'] as const;
type AuthMethod = (typeof AUTH_METHODS)[number];
const AUTH_OUTCOMES = ['ok', 'failed', 'locked'] as const;
/** Series keys of `auth_authentications_total`, built once (no string built per call). */
const OK_KEYS = Object.fromEntries(AUTH_METHODS.map((method) => [method, `${method}:ok`])) as Record<AuthMethod, string>;
const FAILED_KEYS = Object.fromEntries(AUTH_METHODS.map((method) => [method, `${method}:failed`])) as Record<AuthMethod, string>;

const OPEN_IDENTITY: Identity = Object.freeze({ id: 'anonymous', method: 'open', claims: Object.freeze({}) });

export interface AuthServiceParts {
  name: string;
  options: AuthStandardOptions;
  hooks: GatewayHooks;
  metrics: MetricsFactory;
  logger: Logger;
  tls?: ServerTlsSettings;
  mtls?: MtlsIdentityVerifier;
  jwt?: JwtVerifier;
  /** Called when a bounded structure dropped an entry; rate-limits `limitReached` itself. */
  limitHit(limit: string, policy: string, detail?: string): void;
}

export class StandardAuthService implements AuthService {
  private readonly decisions: DecisionCache;
  private readonly failures: FailureLimiter;
  private readonly listeners = new Set<() => void>();
  private readonly decisionCounters = new Map<AuthAction, { allowed: string; denied: string; counts: Record<string, number> }>();
  private readonly authCounter: Record<string, number>;
  private policies?: PolicyStore;
  private readonly jwtGraceMs: number;

  constructor(private readonly parts: AuthServiceParts) {
    const { options, metrics } = parts;
    this.jwtGraceMs = (options.jwt?.clockToleranceSec ?? 0) * 1000;
    this.decisions = new DecisionCache(options.decisionCache.maxEntriesPerIdentity, options.decisionCache.maxIdentities, (limit) =>
      parts.limitHit(`auth.decisionCache.${limit}`, 'evict-oldest'),
    );
    this.failures = new FailureLimiter(
      options.failureLimit,
      () => parts.limitHit('auth.failureLimit.maxPeers', 'evict-oldest'),
      (address, until) => {
        lockouts.inc();
        parts.logger.warn(
          { peer: address, until: new Date(until).toISOString() },
          'peer locked out after repeated authentication failures',
        );
      },
    );
    const lockouts = metrics.counter({
      name: 'auth_lockouts_total',
      help: 'Peer addresses locked out after repeated authentication failures.',
    });
    // Plain numbers: every call authenticates, so no label hashing per call.
    const authSeries: Record<string, Record<string, string>> = {};
    for (const method of AUTH_METHODS) for (const outcome of AUTH_OUTCOMES) authSeries[`${method}:${outcome}`] = { method, outcome };
    this.authCounter = metrics.fastCounter({
      name: 'auth_authentications_total',
      help: 'Authentications by credential method and outcome (ok, failed, locked).',
      labelNames: ['method', 'outcome'],
      series: authSeries,
    });
    // Plain numbers on the authorize hot path, published at scrape time.
    const series: Record<string, Record<string, string>> = {};
    for (const action of AUTH_ACTIONS) {
      series[`${action}:allowed`] = { action, outcome: 'allowed' };
      series[`${action}:denied`] = { action, outcome: 'denied' };
    }
    const decisions = metrics.fastCounter({
      name: 'auth_decisions_total',
      help: 'Authorization decisions by action and outcome.',
      labelNames: ['action', 'outcome'],
      series,
    });
    for (const action of AUTH_ACTIONS)
      this.decisionCounters.set(action, { allowed: `${action}:allowed`, denied: `${action}:denied`, counts: decisions });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the gauge as `this`
    const service = this;
    metrics.gauge({
      name: 'auth_cache_entries',
      help: 'Entries in the auth plugin bounded caches (token, certificate, decision, failure_peers).',
      labelNames: ['cache'] as const,
      collect() {
        this.set({ cache: 'token' }, parts.jwt?.size() ?? 0);
        this.set({ cache: 'certificate' }, parts.mtls?.size() ?? 0);
        this.set({ cache: 'decision' }, service.decisions.size());
        this.set({ cache: 'failure_peers' }, service.failures.size());
      },
    });
  }

  isOpenMode(): boolean {
    return !this.parts.options.mtls && !this.parts.options.jwt;
  }

  async authenticate(request: AuthRequest): Promise<Identity> {
    const address = peerAddress(request.peer);
    const lockedUntil = this.failures.lockedUntil(address);
    if (lockedUntil > 0) {
      const seconds = Math.ceil((lockedUntil - Date.now()) / 1000);
      const reason = `too many failed authentications from ${address}; retry after ${new Date(lockedUntil).toISOString()} (in ${seconds} s)`;
      this.authCounter['none:locked']++;
      this.parts.hooks.authFailed.call({ stage: 'authenticate', reason, peer: request.peer });
      throw new GatewayError('GW_RESOURCE_EXHAUSTED', reason, { details: { retryAfterMs: lockedUntil - Date.now() } });
    }
    let method: AuthMethod = 'none';
    try {
      const token = this.parts.jwt ? bearerToken(request.metadata) : undefined;
      let identity: Identity;
      if (token !== undefined) {
        method = 'jwt';
        identity = await this.parts.jwt!.verify(token);
      } else if (this.parts.mtls && request.peerCertificates && request.peerCertificates.length > 0) {
        method = 'mtls';
        identity = this.parts.mtls.identify(request.peerCertificates);
      } else if (this.isOpenMode()) {
        method = 'open';
        identity = OPEN_IDENTITY;
      } else {
        throw new GatewayError('GW_UNAUTHENTICATED', this.missingCredentialsMessage());
      }
      this.failures.recordSuccess(address);
      // The allow-list is also enforced here, so a transport that never asks about `connect` still
      // keeps unlisted identities out of every call.
      const admission = this.decisions.decide(this.policy(), identity, 'connect', '*');
      if (!admission.allowed) throw new GatewayError('GW_PERMISSION_DENIED', admission.reason);
      this.authCounter[OK_KEYS[method]]++;
      return identity;
    } catch (error) {
      const failure = isGatewayError(error) ? error : new GatewayError('GW_UNAUTHENTICATED', String(error), { cause: error });
      // Only the caller's own bad credentials count towards a lockout, not our key set being unavailable.
      if (failure.code === 'GW_UNAUTHENTICATED') this.failures.recordFailure(address);
      this.authCounter[FAILED_KEYS[method]]++;
      this.parts.hooks.authFailed.call({ stage: 'authenticate', reason: failure.message, peer: request.peer });
      throw failure;
    }
  }

  authorize(request: AuthzRequest): AuthzDecision {
    const { identity, action, resource } = request;
    const policy = this.policy();
    let decision: AuthzDecision;
    // JWT clock tolerance applies here too: a token authenticate accepted is not denied a moment later.
    const grace = identity.method === 'jwt' ? this.jwtGraceMs : 0;
    if (identity.expiresAt !== undefined && identity.expiresAt + grace <= Date.now()) {
      decision = { allowed: false, reason: `the credential of "${identity.id}" expired at ${new Date(identity.expiresAt).toISOString()}` };
    } else {
      decision = this.decisions.decide(policy, identity, action, resource);
    }
    const counters = this.decisionCounters.get(action);
    if (counters) counters.counts[decision.allowed ? counters.allowed : counters.denied]++;
    if (!decision.allowed) {
      this.parts.hooks.authFailed.call({ stage: 'authorize', reason: decision.reason, peer: '', identity: identity.id, action, resource });
    }
    if (action === 'admin') {
      this.parts.hooks.audit.call({
        actor: identity.id,
        action: 'admin.authorize',
        target: resource,
        outcome: decision.allowed ? 'ok' : 'denied',
        detail: decision.reason,
        at: Date.now(),
      });
    }
    return decision;
  }

  serverTls(): ServerTlsSettings | undefined {
    return this.parts.tls;
  }

  loopbackOnly(): boolean {
    return this.isOpenMode();
  }

  schemes(): AuthScheme[] {
    const schemes: AuthScheme[] = [];
    if (this.parts.options.mtls) schemes.push('mtls');
    if (this.parts.options.jwt) schemes.push('bearer-jwt');
    return schemes;
  }

  onPolicyChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async pushPolicy(json: string, actor: string): Promise<{ version: string }> {
    if (typeof json !== 'string' || json.length === 0) {
      throw new GatewayError('GW_INVALID_ARGUMENT', 'json: must be the policy document as JSON text', { field: 'json' });
    }
    const compiled = await this.policies!.push(json, actor);
    return { version: compiled.version };
  }

  /** The policy store is opened after the service exists (its swap callback calls back in here). */
  attachPolicies(policies: PolicyStore): void {
    this.policies = policies;
  }

  /** Called by the policy store after it swapped the policy in. */
  policySwapped(policy: CompiledPolicy): void {
    // Drop cached decisions before anyone re-checks, so re-checks see the new policy.
    this.decisions.clear();
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.parts.logger.error({ err: error, policy: policy.version }, 'a policy-change listener failed');
      }
    }
  }

  sweep(): void {
    this.failures.sweep();
  }

  private policy(): CompiledPolicy {
    return this.policies!.current();
  }

  private missingCredentialsMessage(): string {
    const accepted: string[] = [];
    if (this.parts.jwt) accepted.push('an "authorization: Bearer <token>" metadata entry');
    if (this.parts.mtls) accepted.push('a client certificate (mTLS)');
    return `no credentials: present ${accepted.join(' or ')}`;
  }
}
