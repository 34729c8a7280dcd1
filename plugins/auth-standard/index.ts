/**
 * # auth-standard
 *
 * The built-in `auth` plugin: who is calling (mTLS client certificates with SPIFFE IDs, JWT bearer
 * tokens) and what they may do (an identity allow-list with the service names each identity may
 * register, and RBAC roles over actions and resource patterns). The policy is a JSON file that is
 * watched and swapped live, or pushed through AdminService.PushPolicy; live streams are re-checked
 * after every swap. See `docs/auth.md` for the options, the policy format and the failure modes.
 *
 * ```json
 * { "use": "auth-standard", "options": {
 *     "mtls": { "certFile": "tls/server.pem", "keyFile": "tls/server.key", "caFile": "tls/ca.pem",
 *               "trustDomain": "example.org" },
 *     "jwt": { "jwksFile": "jwks.json", "issuer": "https://idp.example.org", "audience": "openclaw" },
 *     "policyFile": "policy.json", "auditFile": "audit.jsonl" } }
 * ```
 *
 * Without `mtls` and `jwt` the plugin runs in open mode for local development: every caller is
 * `anonymous`, and transports refuse non-loopback listeners (`loopbackOnly()`).
 *
 * Limits (each an option, each with a metric, each firing `limitReached` when hit):
 * - `jwt.cacheMaxEntries` verified tokens (LRU, evict least recently used)
 * - `mtls.cacheMaxEntries` verified client certificates (LRU)
 * - `decisionCache.maxIdentities` / `.maxEntriesPerIdentity` cached decisions (evict oldest)
 * - `failureLimit.maxPeers` tracked peer addresses (evict oldest); `maxFailures` per `windowMs`
 *   locks an address out for `lockoutMs` (GW_RESOURCE_EXHAUSTED, message says when to retry)
 * - `auditMaxBufferBytes` of unwritten audit lines (drop and count)
 * - `maxPolicyBytes`, `jwt.jwksMaxBytes` per document; key-set reloads at most one per `jwt.jwksCooldownMs`
 */
import path from 'node:path';
import { definePlugin, type AuthService } from '../../kernel';
import { AuditLog } from './audit-log';
import { StandardAuthService } from './auth-service';
import { JwksSource } from './jwks-source';
import { JwtVerifier } from './jwt-verifier';
import { loadServerTls, MtlsIdentityVerifier } from './mtls-identity';
import { PolicyStore } from './policy-store';
import { authPreflight } from './preflight';
import { authStandardSchema, type AuthStandardOptions } from './schema';

/** Hooks fire at most once per this interval per limit, so an eviction storm does not flood taps. */
const LIMIT_EVENT_INTERVAL_MS = 1000;

export default definePlugin<AuthStandardOptions, AuthService>({
  name: 'auth-standard',
  kind: 'auth',
  version: '0.1.0',
  description: 'mTLS (SPIFFE) and JWT authentication, identity allow-list, RBAC with a live policy file.',
  schema: authStandardSchema,
  preflight: authPreflight,
  async setup(ctx) {
    const { options, hooks, metrics, logger } = ctx;
    const resolvePath = (file: string): string => path.resolve(ctx.gateway.configDir, file);

    const limitEvictions = metrics.counter({
      name: 'auth_limit_hits_total',
      help: 'Times a bounded auth structure hit its limit, by limit name.',
      labelNames: ['limit'] as const,
    });
    const lastLimitEvent = new Map<string, number>();
    const limitHit = (limit: string, policy: string, detail?: string): void => {
      limitEvictions.inc({ limit });
      const now = Date.now();
      if (now - (lastLimitEvent.get(limit) ?? 0) < LIMIT_EVENT_INTERVAL_MS) return;
      lastLimitEvent.set(limit, now);
      hooks.limitReached.call({ limit, policy, plugin: ctx.name, detail });
    };

    const tls = options.mtls ? loadServerTls(options.mtls, resolvePath) : undefined;
    const mtls =
      options.mtls && tls
        ? new MtlsIdentityVerifier(options.mtls, tls.clientCa!, () => limitHit('auth.mtls.cacheMaxEntries', 'evict-lru'))
        : undefined;

    let jwt: JwtVerifier | undefined;
    let jwks: JwksSource | undefined;
    if (options.jwt) {
      const jwtOptions = options.jwt;
      const jwksLoads = metrics.counter({
        name: 'auth_jwks_loads_total',
        help: 'JWT key-set loads by outcome.',
        labelNames: ['outcome'] as const,
      });
      jwks = new JwksSource({
        file: jwtOptions.jwksFile ? resolvePath(jwtOptions.jwksFile) : undefined,
        url: jwtOptions.jwksUrl,
        cooldownMs: jwtOptions.jwksCooldownMs,
        refreshIntervalMs: jwtOptions.jwksFile
          ? Math.min(jwtOptions.jwksRefreshIntervalMs, options.statIntervalMs)
          : jwtOptions.jwksRefreshIntervalMs,
        timeoutMs: jwtOptions.jwksTimeoutMs,
        maxBytes: jwtOptions.jwksMaxBytes,
        signal: ctx.signal,
        onChange: () => {
          // A rotated-out key must stop working now, not when its tokens' exp passes.
          jwt?.clear();
          logger.info('JWT key set changed; verified-token cache cleared');
        },
        onReload: (outcome, error) => {
          jwksLoads.inc({ outcome });
          if (error) logger.error({ err: error }, 'GW_UNAVAILABLE: JWT key set could not be loaded; the previous keys stay in use');
        },
      });
      jwt = new JwtVerifier(jwtOptions, jwks, () => limitHit('auth.jwt.cacheMaxEntries', 'evict-lru'));
    }

    const auditDropped = metrics.counter({
      name: 'auth_audit_dropped_total',
      help: 'Audit lines not written (buffer full or file error).',
    });
    const audit = options.auditFile
      ? new AuditLog(
          resolvePath(options.auditFile),
          options.auditMaxBufferBytes,
          (reason) => {
            auditDropped.inc();
            limitHit('auth.auditMaxBufferBytes', 'drop', reason);
          },
          (error) => logger.error({ err: error }, 'audit file write failed; audit lines are dropped'),
        )
      : undefined;
    if (audit) hooks.audit.tap(ctx.name, (event) => audit.append(event));

    const service = new StandardAuthService({ name: ctx.name, options, hooks, metrics, logger, tls, mtls, jwt, limitHit });
    const policyUpdates = metrics.counter({
      name: 'auth_policy_updates_total',
      help: 'Policy updates by source (file, admin, startup) and outcome (applied, rejected).',
      labelNames: ['source', 'outcome'] as const,
    });
    const policyTarget = options.policyFile ? resolvePath(options.policyFile) : 'inline-policy';
    const policies = await PolicyStore.open({
      file: options.policyFile ? resolvePath(options.policyFile) : undefined,
      inline: options.policy,
      maxBytes: options.maxPolicyBytes,
      debounceMs: options.watchDebounceMs,
      statIntervalMs: options.statIntervalMs,
      persistPushed: options.persistPushedPolicy,
      signal: ctx.signal,
      onSwap: (policy, source, actor) => {
        policyUpdates.inc({ source, outcome: 'applied' });
        logger.info({ version: policy.version, source, actor }, 'auth policy swapped');
        service.policySwapped(policy);
        const at = Date.now();
        hooks.policyChanged.call({ source, version: policy.version, at });
        hooks.audit.call({
          actor,
          action: 'policy.change',
          target: policyTarget,
          outcome: 'ok',
          detail: `version ${policy.version} from ${source}`,
          at,
        });
      },
      onRejected: (source, error, actor) => {
        policyUpdates.inc({ source, outcome: 'rejected' });
        logger.error(
          { source, actor, code: error.code, field: error.field },
          `policy update rejected, the policy in force stays: ${error.message}`,
        );
        hooks.audit.call({
          actor,
          action: 'policy.change',
          target: policyTarget,
          outcome: 'failed',
          detail: error.message,
          at: Date.now(),
        });
      },
      onWatchError: (error) => logger.warn({ err: error }, 'policy file watch failed; relying on the periodic stat'),
    });
    service.attachPolicies(policies);

    let sweeper: NodeJS.Timeout | undefined;
    return {
      service,
      async start() {
        if (jwks) await jwks.start();
        policies.start();
        sweeper = setInterval(() => service.sweep(), Math.max(1000, options.failureLimit.windowMs));
        sweeper.unref();
        const initial = policies.current();
        hooks.policyChanged.call({ source: 'startup', version: initial.version, at: Date.now() });
        hooks.audit.call({
          actor: 'gateway',
          action: 'policy.load',
          target: policyTarget,
          outcome: 'ok',
          detail: `version ${initial.version}`,
          at: Date.now(),
        });
        if (service.isOpenMode()) {
          logger.warn(
            'auth-standard runs in OPEN MODE (no mtls or jwt configured): every caller is "anonymous" and only loopback listeners are allowed. Configure mtls or jwt before exposing the gateway.',
          );
        }
      },
      async stop() {
        clearInterval(sweeper);
        jwks?.stop();
        policies.stop();
        await policies.settled();
        await audit?.close();
      },
    };
  },
});
