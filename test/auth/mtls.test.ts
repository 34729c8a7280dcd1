import path from 'node:path';
import type { AuthService, Gateway } from '../../kernel';
import { createCa, opensslDate, type CertificateAuthority, type Issued } from './pki';
import { rejectionOf, startAuthOnly, tempDir } from './harness';

const call = (leaf: Issued | undefined, peer = 'ipv4:127.0.0.1:41000') => ({
  metadata: {},
  peer,
  method: '/openclaw.gateway.v1.GatewayService/RegisterAgent',
  peerCertificates: leaf ? [leaf.der] : undefined,
});

describe('auth-standard mTLS identities (SPIFFE)', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let server: Issued;
  let gateway: Gateway;
  let auth: AuthService;

  beforeAll(async () => {
    dir = tempDir();
    ca = createCa(dir, 'ca');
    otherCa = createCa(dir, 'other-ca');
    server = ca.issue('server', {
      altNames: [
        ['DNS', 'localhost'],
        ['IP', '127.0.0.1'],
      ],
      serverAuth: true,
    });
    ({ gateway, auth } = await startAuthOnly(
      {
        mtls: { certFile: server.certFile, keyFile: server.keyFile, caFile: path.relative(dir, ca.certFile), trustDomain: 'example.org' },
        failureLimit: { maxFailures: 1000 },
      },
      dir,
    ));
  });
  afterAll(() => gateway.stop());

  test('serverTls() hands the transport the server pair, the CA bundle and the client-cert requirement', () => {
    const tls = auth.serverTls()!;
    expect(tls.certChain.equals(server.cert)).toBe(true);
    expect(tls.privateKey.equals(server.key)).toBe(true);
    expect(tls.clientCa!.equals(ca.cert)).toBe(true);
    expect(tls.requireClientCert).toBe(true);
    expect(auth.loopbackOnly()).toBe(false);
  });

  test('exactly one SPIFFE URI SAN in the trust domain is the identity', async () => {
    const leaf = ca.issue('planner', {
      altNames: [
        ['URI', 'spiffe://example.org/agent/planner'],
        ['DNS', 'planner.local'],
      ],
    });
    const identity = await auth.authenticate(call(leaf));
    expect(identity).toMatchObject({ id: 'spiffe://example.org/agent/planner', method: 'mtls' });
    expect(identity.claims.subject).toContain('CN=planner');
    expect(identity.expiresAt).toBeGreaterThan(Date.now());
  });

  test.each<[string, () => Issued, string]>([
    [
      'two URI SANs',
      () =>
        ca.issue('two-uris', {
          altNames: [
            ['URI', 'spiffe://example.org/a'],
            ['URI', 'spiffe://example.org/b'],
          ],
        }),
      'exactly one URI SAN (a SPIFFE ID), found 2',
    ],
    ['no URI SAN', () => ca.issue('no-uri', { altNames: [['DNS', 'agent.local']] }), 'exactly one URI SAN (a SPIFFE ID), found 0'],
    ['no SAN at all', () => ca.issue('no-san', {}), 'found 0'],
    [
      'a foreign trust domain',
      () => ca.issue('foreign', { altNames: [['URI', 'spiffe://evil.org/agent/planner']] }),
      'trust domain "evil.org", expected "example.org"',
    ],
    ['a URI that is not SPIFFE', () => ca.issue('https-uri', { altNames: [['URI', 'https://example.org/agent']] }), 'is not a SPIFFE ID'],
    ['a trust-domain-only SPIFFE ID', () => ca.issue('td-only', { altNames: [['URI', 'spiffe://example.org']] }), 'has no workload path'],
    [
      'a SAN smuggling a second URI after a comma',
      () => ca.issue('smuggle', { altNames: [['URI', 'spiffe://example.org/a, URI:spiffe://example.org/b']] }),
      'invalid path',
    ],
    [
      'a CA certificate as leaf',
      () => ca.issue('ca-leaf', { ca: true, altNames: [['URI', 'spiffe://example.org/agent/ca']] }),
      'is a CA certificate',
    ],
    [
      'an expired certificate',
      () =>
        ca.issue('expired', {
          altNames: [['URI', 'spiffe://example.org/agent/old']],
          startDate: opensslDate(Date.now() - 10 * 86_400_000),
          endDate: opensslDate(Date.now() - 86_400_000),
        }),
      'expired at',
    ],
    [
      'a not-yet-valid certificate',
      () =>
        ca.issue('future', {
          altNames: [['URI', 'spiffe://example.org/agent/new']],
          startDate: opensslDate(Date.now() + 86_400_000),
          endDate: opensslDate(Date.now() + 10 * 86_400_000),
        }),
      'is not valid before',
    ],
    [
      'a certificate from another CA',
      () => otherCa.issue('stranger', { altNames: [['URI', 'spiffe://example.org/agent/planner']] }),
      'does not chain to a CA in mtls.caFile',
    ],
  ])('%s is refused with GW_UNAUTHENTICATED', async (_label, make, reason) => {
    const failures: string[] = [];
    gateway.hooks.authFailed.tap('mtls-test', (failure) => void failures.push(failure.reason));
    const leaf = make();
    const error = await rejectionOf(auth.authenticate(call(leaf)));
    expect(error.code).toBe('GW_UNAUTHENTICATED');
    expect(error.message).toContain(reason);
    expect(failures.at(-1)).toContain(reason);
    // Cached rejections answer the same way.
    expect((await rejectionOf(auth.authenticate(call(leaf)))).message).toContain(reason);
  });

  test('no client certificate and no token: refused, naming what to present', async () => {
    const error = await rejectionOf(auth.authenticate(call(undefined)));
    expect(error.code).toBe('GW_UNAUTHENTICATED');
    expect(error.message).toContain('a client certificate (mTLS)');
  });
});

describe('auth-standard mTLS configuration', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let server: Issued;

  beforeAll(() => {
    dir = tempDir();
    ca = createCa(dir, 'ca');
    server = ca.issue('server', { altNames: [['DNS', 'localhost']], serverAuth: true });
  });

  test('DNS identity mode is explicit and takes exactly one DNS SAN', async () => {
    const { gateway, auth } = await startAuthOnly(
      { mtls: { certFile: server.certFile, keyFile: server.keyFile, caFile: ca.certFile, identityMode: 'dns', requireClientCert: false } },
      dir,
    );
    try {
      expect(auth.serverTls()!.requireClientCert).toBe(false);
      const one = ca.issue('dns-one', {
        altNames: [
          ['DNS', 'worker-3.agents.internal'],
          ['URI', 'spiffe://example.org/x'],
        ],
      });
      expect((await auth.authenticate(call(one))).id).toBe('worker-3.agents.internal');
      const two = ca.issue('dns-two', {
        altNames: [
          ['DNS', 'a.internal'],
          ['DNS', 'b.internal'],
        ],
      });
      expect((await rejectionOf(auth.authenticate(call(two)))).message).toContain('exactly one DNS SAN, found 2');
    } finally {
      await gateway.stop();
    }
  });

  test('SPIFFE mode without a trust domain does not start, naming the option', async () => {
    const error = await rejectionOf(
      startAuthOnly({ mtls: { certFile: server.certFile, keyFile: server.keyFile, caFile: ca.certFile } }, dir),
    );
    expect(error.code).toBe('GW_PLUGIN_SETUP_FAILED');
    expect(error.message).toContain('mtls.trustDomain');
  });

  test('an unreadable certificate file is refused before start, naming the option and the file', async () => {
    const error = await rejectionOf(
      startAuthOnly({ mtls: { certFile: 'missing.pem', keyFile: server.keyFile, caFile: ca.certFile, trustDomain: 'example.org' } }, dir),
    );
    // Refused by the preflight, before any plugin is set up: the verdict `validate` gives too.
    expect(error.code).toBe('GW_CONFIG_INVALID');
    expect(error.message).toMatch(/options\/mtls\/certFile: cannot read "missing.pem"/);
  });
});
