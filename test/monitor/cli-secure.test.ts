/**
 * `openclaw-gateway status` / `agents` against a gateway that requires credentials: TLS with the
 * operator's CA file, a JWT bearer token or an mTLS client certificate, RBAC deciding the admin
 * permission. Real certificates (openssl), real tokens (jose), the real CLI process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, type KeyLike } from 'jose';
import { writeJwks } from '../auth/jwks';
import { startGateway, type Gateway } from '../../index';
import { createCa, type CertificateAuthority } from '../auth/pki';
import { tempDir } from '../auth/harness';
import { runCli } from '../helpers/cli';

const OPERATOR_CERT_ID = 'spiffe://example.org/operator/alice';

describe('CLI against a gateway with TLS, JWT and RBAC', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let privateKey: KeyLike;
  let gateway: Gateway;
  let target: string;

  const sign = (subject: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'cli' })
      .setSubject(subject)
      .setIssuer('https://idp.test')
      .setAudience('openclaw')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(privateKey);

  let server: { certFile: string; keyFile: string };
  let mtlsOnly: Gateway | undefined;

  /** A gateway on TLS; `requireClientCert` also makes the server ask for (and verify) client certificates. */
  async function startSecured(requireClientCert: boolean): Promise<Gateway> {
    return startGateway({
      logLevel: 'silent',
      cwd: dir,
      config: {
        gateway: { dataDir: path.join(dir, `data-${requireClientCert}`), processMetrics: false },
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
                requireClientCert,
              },
              jwt: { jwksFile: 'jwks.json', issuer: 'https://idp.test', audience: 'openclaw', algorithms: ['ES256'] },
              policy: {
                identities: [{ id: 'ops-cli' }, { id: 'intern' }, { id: OPERATOR_CERT_ID }],
                rbac: {
                  roles: { operator: [{ actions: ['*'], resources: ['>'] }] },
                  bindings: [{ role: 'operator', identities: ['ops-cli', OPERATOR_CERT_ID] }],
                },
              },
            },
          },
        ],
      },
    });
  }

  beforeAll(async () => {
    dir = tempDir('monitor-cli-secure-');
    ca = createCa(dir, 'ca');
    server = ca.issue('server', {
      altNames: [
        ['DNS', 'localhost'],
        ['IP', '127.0.0.1'],
      ],
      serverAuth: true,
    });
    privateKey = await writeJwks(dir, 'ES256', 'cli');
    gateway = await startSecured(false);
    target = gateway.transports()[0].addresses()[0]!;
  });

  afterAll(async () => {
    await gateway?.stop();
    await mtlsOnly?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('--ca and --token: the operator sees the status', async () => {
    const result = await runCli(['status', '--json', '--target', target, '--ca', ca.certFile, '--token', await sign('ops-cli')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ gatewayId: gateway.info.id, stage: 'ready' });
  });

  test('the token may come from OPENCLAW_TOKEN', async () => {
    const result = await runCli(['agents', '--target', target, '--ca', ca.certFile], { env: { OPENCLAW_TOKEN: await sign('ops-cli') } });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('no agents');
  });

  test('--cert and --key: an mTLS client certificate bound to the operator role', async () => {
    // grpc-js asks for client certificates only when it also requires them.
    mtlsOnly = await startSecured(true);
    const mtlsTarget = mtlsOnly.transports()[0].addresses()[0];
    const client = ca.issue('alice', { altNames: [['URI', OPERATOR_CERT_ID]] });
    const result = await runCli([
      'status',
      '--target',
      mtlsTarget,
      '--ca',
      ca.certFile,
      '--cert',
      client.certFile,
      '--key',
      client.keyFile,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(mtlsOnly.info.id);
  });

  test("no credentials, no admin role, or no TLS: the gateway's reason and exit 1", async () => {
    const anonymous = await runCli(['status', '--target', target, '--ca', ca.certFile]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^error: GatewayStatus failed: UNAUTHENTICATED GW_UNAUTHENTICATED: /);

    const intern = await runCli(['agents', '--target', target, '--ca', ca.certFile, '--token', await sign('intern')]);
    expect(intern.code).toBe(1);
    expect(intern.stderr).toMatch(/^error: ListAgents failed: PERMISSION_DENIED GW_PERMISSION_DENIED: .*"intern" may not admin/);

    const plaintext = await runCli(['status', '--target', target, '--token', await sign('ops-cli'), '--timeout', '3000']);
    expect(plaintext.code).toBe(1);
    expect(plaintext.stderr).toMatch(/^error: GatewayStatus failed: (UNAVAILABLE|DEADLINE_EXCEEDED)/);

    const missingCa = await runCli(['status', '--target', target, '--ca', path.join(dir, 'no-such-ca.pem')]);
    expect(missingCa.code).toBe(1);
    expect(missingCa.stderr).toContain(`--ca ${path.join(dir, 'no-such-ca.pem')}: ENOENT`);
  });
});
