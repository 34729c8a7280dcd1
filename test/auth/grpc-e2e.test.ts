/**
 * End to end over real gRPC: the real gateway with registry-memory, router-embedded,
 * transport-grpc and auth-standard, real TLS handshakes with certificates made at test time, and a
 * real policy file edited while a subscription is open.
 */
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startGateway, type Gateway } from '../../index';
import type { Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { SignJWT, type KeyLike } from 'jose';
import { writeJwks } from './jwks';
import { bearer, GatewayConnection, mtlsCredentials, statusOf } from './grpc-client';
import { eventually, tempDir } from './harness';
import { createCa, opensslDate, type CertificateAuthority, type Issued } from './pki';

const PLANNER = 'spiffe://example.org/agent/planner';
const BILLING = 'spiffe://example.org/agent/billing';
const OPERATOR = 'spiffe://example.org/operator/alice';

function policy(plannerTopics: string[]): string {
  return JSON.stringify({
    version: `e2e-${plannerTopics.join('+') || 'none'}`,
    identities: [{ id: PLANNER, services: ['planner'] }, { id: BILLING, services: ['billing'] }, { id: OPERATOR }],
    rbac: {
      roles: {
        planner: [
          { actions: ['register'], resources: ['planner'] },
          { actions: ['publish', 'subscribe'], resources: plannerTopics.length > 0 ? plannerTopics : ['nothing.granted'] },
        ],
        billing: [
          { actions: ['register'], resources: ['billing'] },
          { actions: ['publish'], resources: ['tasks.>'] },
        ],
        operator: [{ actions: ['admin'], resources: ['>'] }],
      },
      bindings: [
        { role: 'planner', identities: [PLANNER] },
        { role: 'billing', identities: [BILLING] },
        { role: 'operator', identities: [OPERATOR] },
      ],
    },
  });
}

/** Collects a stream's events and its end (error status or end). */
function watch(stream: ClientReadableStream<Event>) {
  const events: Event[] = [];
  const ended: { code?: number; details?: string; done: boolean } = { done: false };
  stream.on('data', (event: Event) => void events.push(event));
  stream.on('error', (error: { code: number; details: string }) =>
    Object.assign(ended, { code: error.code, details: error.details, done: true }),
  );
  stream.on('end', () => (ended.done = true));
  return { events, ended };
}

describe('auth-standard over real gRPC with mTLS', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let gateway: Gateway;
  let address: string;
  const leaves: Record<string, Issued> = {};
  const connections: GatewayConnection[] = [];

  const connect = (client?: Issued): GatewayConnection => {
    const connection = new GatewayConnection(address, mtlsCredentials(ca.cert, client));
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    dir = tempDir('auth-e2e-');
    ca = createCa(dir, 'ca');
    otherCa = createCa(dir, 'other-ca');
    const server = ca.issue('server', {
      altNames: [
        ['DNS', 'localhost'],
        ['IP', '127.0.0.1'],
      ],
      serverAuth: true,
    });
    leaves.planner = ca.issue('planner', { altNames: [['URI', PLANNER]] });
    leaves.billing = ca.issue('billing', { altNames: [['URI', BILLING]] });
    leaves.operator = ca.issue('operator', { altNames: [['URI', OPERATOR]] });
    leaves.stranger = ca.issue('stranger', { altNames: [['URI', 'spiffe://example.org/agent/stranger']] });
    leaves.twoUris = ca.issue('two-uris', {
      altNames: [
        ['URI', PLANNER],
        ['URI', BILLING],
      ],
    });
    leaves.foreign = ca.issue('foreign', { altNames: [['URI', 'spiffe://evil.org/agent/planner']] });
    leaves.caLeaf = ca.issue('ca-leaf', { ca: true, altNames: [['URI', PLANNER]] });
    leaves.expired = ca.issue('expired', {
      altNames: [['URI', PLANNER]],
      startDate: opensslDate(Date.now() - 10 * 86_400_000),
      endDate: opensslDate(Date.now() - 86_400_000),
    });
    leaves.wrongCa = otherCa.issue('wrong-ca', { altNames: [['URI', PLANNER]] });
    writeFileSync(path.join(dir, 'policy.json'), policy(['tasks.>']));

    gateway = await startGateway({
      logLevel: 'silent',
      cwd: dir,
      config: {
        gateway: { dataDir: path.join(dir, 'data'), processMetrics: false },
        plugins: [
          'registry-memory',
          'router-embedded',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          {
            use: 'auth-standard',
            options: {
              mtls: { certFile: server.certFile, keyFile: server.keyFile, caFile: ca.certFile, trustDomain: 'example.org' },
              policyFile: 'policy.json',
              watchDebounceMs: 50,
              failureLimit: { maxFailures: 1000 },
            },
          },
        ],
      },
    });
    address = gateway.transports()[0].addresses()[0]!;
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await gateway?.stop();
  });

  test('an allow-listed SPIFFE identity registers its own service', async () => {
    const result = await connect(leaves.planner).register('planner-1', 'planner');
    expect(result.agentId).toBe('planner-1');
  });

  /** authFailed events fired while `run` goes, so a test sees how often one refusal is reported. */
  async function authFailures(run: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const tap = {
      name: `count-${Math.random()}`,
      fn: (failure: { stage: string; reason: string }) => void seen.push(`${failure.stage}: ${failure.reason}`),
    };
    gateway.hooks.authFailed.tap(tap.name, tap.fn);
    try {
      await run();
    } finally {
      gateway.hooks.authFailed.taps.splice(
        gateway.hooks.authFailed.taps.findIndex((t) => t.name === tap.name),
        1,
      );
    }
    return seen;
  }

  test('registering as another identity’s service is refused with PERMISSION_DENIED, reported once', async () => {
    let refused!: Awaited<ReturnType<typeof statusOf>>;
    const failures = await authFailures(async () => {
      refused = await statusOf(connect(leaves.planner).register('fake-billing', 'billing'));
    });
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.details).toContain('may not register as service "billing"');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^authorize: /);
  });

  test('an identity missing from the allow-list cannot call at all: PERMISSION_DENIED, reported once', async () => {
    let refused!: Awaited<ReturnType<typeof statusOf>>;
    const failures = await authFailures(async () => {
      refused = await statusOf(connect(leaves.stranger).register('stranger-1', 'stranger'));
    });
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.details).toContain("not in the policy's identity allow-list");
    expect(failures).toEqual([expect.stringMatching(/^authenticate: .*allow-list/)]);
  });

  test.each([
    ['two URI SANs', 'twoUris', 'found 2'],
    ['a foreign trust domain', 'foreign', 'trust domain "evil.org"'],
    ['a CA:true leaf', 'caLeaf', 'CA certificate'],
  ])('a client certificate with %s passes TLS but is refused with UNAUTHENTICATED', async (_label, leaf, reason) => {
    const refused = await statusOf(connect(leaves[leaf]).register('x-1', 'planner'));
    expect(refused.code).toBe(status.UNAUTHENTICATED);
    expect(refused.details).toContain(reason);
  });

  test.each([
    ['signed by another CA', 'wrongCa'],
    ['expired', 'expired'],
    ['absent', undefined],
  ])('a client certificate %s fails the TLS handshake', async (_label, leaf) => {
    const refused = await statusOf(connect(leaf ? leaves[leaf] : undefined).register('x-2', 'planner'));
    expect(refused.code).toBe(status.UNAVAILABLE);
  });

  test('a live policy edit revokes an open subscription (PERMISSION_DENIED)', async () => {
    const planner = connect(leaves.planner);
    const billing = connect(leaves.billing);
    const subscription = watch(planner.subscribe(['tasks.>']));
    // Proves the subscription is live: a message published to it arrives.
    await eventually(
      async () => {
        await billing.publish('tasks.eu', 'before');
        expect(subscription.events.length).toBeGreaterThan(0);
      },
      10_000,
      200,
    );

    // How fast is the watcher's debounce plus one re-check; measured there, not asserted here.
    writeFileSync(path.join(dir, 'policy.json'), policy(['reports.>']));
    await eventually(() => expect(subscription.ended.done).toBe(true), 10_000, 10);
    expect(subscription.ended.code).toBe(status.PERMISSION_DENIED);
    // New subscriptions to the revoked topics are refused too.
    const again = watch(planner.subscribe(['tasks.>']));
    await eventually(() => expect(again.ended.done).toBe(true), 10_000, 20);
    expect(again.ended.code).toBe(status.PERMISSION_DENIED);
    writeFileSync(path.join(dir, 'policy.json'), policy(['tasks.>']));
    // Wait until the restored policy is in force, so its reload cannot land in the next test.
    await eventually(() => planner.publish('tasks.eu', 'restored'), 10_000, 20);
  });

  test('AdminService.PushPolicy: refused without admin, applied for an operator, invalid documents named', async () => {
    const denied = await statusOf(connect(leaves.planner).pushPolicy(policy([])));
    expect(denied.code).toBe(status.PERMISSION_DENIED);

    const operator = connect(leaves.operator);
    const invalid = await statusOf(operator.pushPolicy('{"rbac": {"roles": {}, "bindings": [{"role": "ghost", "identities": ["x"]}]}}'));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toContain('policy/rbac/bindings/0/role');

    const result = await operator.pushPolicy(policy(['pushed.>']));
    expect(result.ok).toBe(true);
    const planner = connect(leaves.planner);
    const refused = await statusOf(planner.publish('tasks.eu', 'x'));
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    await eventually(() => planner.publish('pushed.eu', 'x'));
  });
});

describe('auth-standard over real gRPC with TLS and JWT bearer tokens', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let gateway: Gateway;
  let address: string;
  let privateKey: KeyLike;
  const connections: GatewayConnection[] = [];

  const connect = (token: string): GatewayConnection => {
    const connection = new GatewayConnection(address, mtlsCredentials(ca.cert), bearer(token));
    connections.push(connection);
    return connection;
  };
  const sign = (sub: string, expiresInSec: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'e2e' })
      .setSubject(sub)
      .setIssuer('https://idp.test')
      .setAudience('openclaw')
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
      .sign(privateKey);

  beforeAll(async () => {
    dir = tempDir('auth-jwt-e2e-');
    ca = createCa(dir, 'ca');
    const server = ca.issue('server', {
      altNames: [
        ['DNS', 'localhost'],
        ['IP', '127.0.0.1'],
      ],
      serverAuth: true,
    });
    privateKey = await writeJwks(dir, 'ES256', 'e2e');
    gateway = await startGateway({
      logLevel: 'silent',
      cwd: dir,
      config: {
        gateway: { dataDir: path.join(dir, 'data'), processMetrics: false },
        plugins: [
          'registry-memory',
          'router-embedded',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          {
            use: 'auth-standard',
            options: {
              mtls: {
                certFile: server.certFile,
                keyFile: server.keyFile,
                caFile: ca.certFile,
                trustDomain: 'example.org',
                requireClientCert: false,
              },
              jwt: { jwksFile: 'jwks.json', issuer: 'https://idp.test', audience: 'openclaw', algorithms: ['ES256'] },
              policy: { identities: [{ id: 'svc-reporter', services: ['reporter'] }] },
            },
          },
        ],
      },
    });
    address = gateway.transports()[0].addresses()[0]!;
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await gateway?.stop();
  });

  test('a valid token registers its own service; its identity is recorded on the agent', async () => {
    expect((await connect(await sign('svc-reporter', 600)).register('reporter-1', 'reporter')).agentId).toBe('reporter-1');
    expect(gateway.service('registry')!.get('reporter-1')!.identity).toBe('svc-reporter');
  });

  test('an expired token and a foreign subject are refused', async () => {
    const expired = await statusOf(connect(await sign('svc-reporter', -600)).register('reporter-2', 'reporter'));
    expect(expired.code).toBe(status.UNAUTHENTICATED);
    expect(expired.details).toContain('bearer token expired');
    const stranger = await statusOf(connect(await sign('svc-unknown', 600)).register('x-3', 'reporter'));
    expect([status.PERMISSION_DENIED, status.UNAUTHENTICATED]).toContain(stranger.code);
    expect(stranger.details).toContain("not in the policy's identity allow-list");
  });
});
