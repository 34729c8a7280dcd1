import type { AuthAction, AuthService, Gateway, Identity } from '../../kernel';
import { matchesPattern, patternProblem } from '../../plugins/auth-standard/resource-pattern';
import { rejectionOf, startAuthOnly, tempDir } from './harness';

const planner: Identity = { id: 'spiffe://example.org/agent/planner', method: 'mtls', claims: {} };
const billing: Identity = { id: 'spiffe://example.org/agent/billing', method: 'mtls', claims: {} };
const operator: Identity = { id: 'alice', method: 'jwt', claims: { groups: ['staff', 'ops'] }, expiresAt: Date.now() + 3_600_000 };
const stranger: Identity = { id: 'spiffe://example.org/agent/stranger', method: 'mtls', claims: {} };

const policy = {
  version: 'rbac-test-1',
  identities: [{ id: planner.id, services: ['planner', 'planner.*'] }, { id: billing.id, services: ['billing'] }, { id: 'alice' }],
  rbac: {
    roles: {
      agent: [
        { actions: ['register'], resources: ['>'] },
        { actions: ['publish', 'subscribe'], resources: ['tasks.>'] },
        { actions: ['send', 'request'], resources: ['billing', 'planner'] },
      ],
      reader: [{ actions: ['subscribe'], resources: ['metrics.*'] }],
      admin: [{ actions: ['*'], resources: ['>'] }],
    },
    bindings: [
      { role: 'agent', identities: [planner.id, billing.id] },
      { role: 'reader', identities: [billing.id] },
      { role: 'admin', claims: { groups: 'ops' } },
    ],
  },
};

describe('auth-standard RBAC and identity allow-list', () => {
  let gateway: Gateway;
  let auth: AuthService;

  beforeAll(async () => {
    ({ gateway, auth } = await startAuthOnly({ policy }, tempDir()));
  });
  afterAll(() => gateway.stop());

  const decide = (identity: Identity, action: AuthAction, resource: string) => auth.authorize({ identity, action, resource });

  test.each<[string, Identity, AuthAction, string, boolean]>([
    ['connect: allow-listed identity', planner, 'connect', '*', true],
    ['connect: identity not in the allow-list', stranger, 'connect', '*', false],
    ['register: own service', planner, 'register', 'planner', true],
    ['register: own service pattern', planner, 'register', 'planner.eu', true],
    ['register: another identity’s service is refused (spoofing)', planner, 'register', 'billing', false],
    ['register: billing cannot pose as planner', billing, 'register', 'planner', false],
    ['register: identity without services may register nothing', operator, 'register', 'alice', false],
    ['publish: granted topic', planner, 'publish', 'tasks.eu.new', true],
    ['publish: topic outside the grant', planner, 'publish', 'payments.eu', false],
    ['subscribe: granted by a second role', billing, 'subscribe', 'metrics.cpu', true],
    ['subscribe: `*` matches exactly one token', billing, 'subscribe', 'metrics.cpu.total', false],
    ['subscribe: not granted', planner, 'subscribe', 'metrics.cpu', false],
    ['send: granted service', planner, 'send', 'billing', true],
    ['send: other service', planner, 'send', 'ledger', false],
    ['request: granted service', billing, 'request', 'planner', true],
    ['request: other service', billing, 'request', 'ledger', false],
    ['admin: role bound through a JWT claim', operator, 'admin', '*', true],
    ['admin: agent role has no admin permission', planner, 'admin', '*', false],
    ['any action: not allow-listed', stranger, 'publish', 'tasks.x', false],
  ])('%s', (_label, identity, action, resource, allowed) => {
    const decision = decide(identity, action, resource);
    expect(decision.allowed).toBe(allowed);
    expect(decision.reason.length).toBeGreaterThan(0);
  });

  test('denials say why, naming the identity and the resource', () => {
    expect(decide(planner, 'register', 'billing').reason).toContain('may not register as service "billing"');
    expect(decide(stranger, 'connect', '*').reason).toContain("not in the policy's identity allow-list");
    expect(decide(planner, 'publish', 'payments.eu').reason).toContain('publish on "payments.eu"');
  });

  test('an expired credential is denied whatever the policy says', () => {
    const expired: Identity = { ...operator, expiresAt: Date.now() - 1 };
    const decision = decide(expired, 'admin', '*');
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toContain('expired');
  });

  test('every denial fires authFailed with the reason; admin decisions are audited', () => {
    const failures: string[] = [];
    const audits: string[] = [];
    gateway.hooks.authFailed.tap('rbac-test', (failure) => void failures.push(`${failure.stage}:${failure.action}:${failure.resource}`));
    gateway.hooks.audit.tap('rbac-test', (event) => void audits.push(`${event.actor}:${event.action}:${event.outcome}`));
    decide(planner, 'send', 'ledger');
    decide(operator, 'admin', 'agent-7');
    decide(planner, 'admin', 'agent-7');
    expect(failures).toEqual(['authorize:send:ledger', 'authorize:admin:agent-7']);
    expect(audits).toEqual(['alice:admin.authorize:ok', `${planner.id}:admin.authorize:denied`]);
  });

  test('a pushed policy replaces cached decisions at once', async () => {
    expect(decide(planner, 'publish', 'tasks.a').allowed).toBe(true);
    let notified = 0;
    const unsubscribe = auth.onPolicyChange(() => {
      notified++;
      // Listeners re-check live streams: they must already see the new policy.
      expect(decide(planner, 'publish', 'tasks.a').allowed).toBe(false);
    });
    const changed = { ...policy, version: 'rbac-test-2', rbac: { ...policy.rbac, bindings: policy.rbac.bindings.slice(1) } };
    const result = await auth.pushPolicy!(JSON.stringify(changed), 'alice');
    expect(result.version).toBe('rbac-test-2');
    expect(notified).toBe(1);
    expect(decide(planner, 'publish', 'tasks.a').reason).toContain('has no role');
    unsubscribe();
    await auth.pushPolicy!(JSON.stringify(policy), 'alice');
    expect(notified).toBe(1);
    expect(decide(planner, 'publish', 'tasks.a').allowed).toBe(true);
  });

  test.each([
    ['not JSON', '{"rbac": ', 'policy/: is not valid JSON'],
    ['unknown property', '{"rbak": {}}', 'policy/rbak: unknown property'],
    [
      'unknown action',
      '{"rbac": {"roles": {"r": [{"actions": ["fly"], "resources": [">"]}]}, "bindings": []}}',
      'policy/rbac/roles/r/0/actions/0',
    ],
    [
      'binding of an undefined role',
      '{"rbac": {"roles": {}, "bindings": [{"role": "ghost", "identities": ["x"]}]}}',
      'policy/rbac/bindings/0/role: binds unknown role "ghost"',
    ],
    ['malformed pattern', '{"identities": [{"id": "a", "services": ["a.>.b"]}]}', 'policy/identities/0/services/0: pattern "a.>.b"'],
  ])(
    'an invalid pushed policy (%s) is refused with GW_INVALID_ARGUMENT naming the path; the old one stays',
    async (_label, json, message) => {
      const error = await rejectionOf(auth.pushPolicy!(json, 'alice'));
      expect(error.code).toBe('GW_INVALID_ARGUMENT');
      expect(error.message).toContain(message);
      expect(decide(planner, 'publish', 'tasks.a').allowed).toBe(true);
    },
  );

  test('with RBAC disabled every allow-listed identity may act, but the service allow-list still holds', async () => {
    await auth.pushPolicy!(JSON.stringify({ ...policy, rbac: { ...policy.rbac, enabled: false } }), 'alice');
    expect(decide(planner, 'admin', '*').allowed).toBe(true);
    expect(decide(planner, 'register', 'billing').allowed).toBe(false);
    expect(decide(stranger, 'publish', 'x').allowed).toBe(false);
    await auth.pushPolicy!(JSON.stringify(policy), 'alice');
  });
});

describe('resource patterns', () => {
  test.each([
    ['tasks.>', 'tasks.a', true],
    ['tasks.>', 'tasks.a.b.c', true],
    ['tasks.>', 'tasks', false],
    ['tasks.*', 'tasks.a', true],
    ['tasks.*', 'tasks.a.b', false],
    ['*.b', 'a.b', true],
    ['*', '*', true],
    ['>', 'anything.at.all', true],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bc', false],
    ['a.b', 'a', false],
    ['a', 'a.b', false],
    ['*', '', false],
    ['a.*', 'a.', false],
  ])('%s matches %s: %s', (pattern, resource, expected) => {
    expect(matchesPattern(pattern, resource)).toBe(expected);
  });

  test('malformed patterns are described', () => {
    expect(patternProblem('a..b')).toContain('empty tokens');
    expect(patternProblem('>.a')).toContain('last token');
    expect(patternProblem('a*')).toContain('whole tokens');
    expect(patternProblem('a.*.>')).toBeUndefined();
  });
});
