/**
 * transport-a2a over HTTPS with mutual TLS from the auth plugin (`tls: true`): the client
 * certificate is the identity (SPIFFE id), checked by the same policy as gRPC; the card advertises
 * the mTLS scheme; a client without a certificate does not get past the handshake.
 */
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, type Gateway } from '../../index';
import { createCa, type CertificateAuthority, type Issued } from '../auth/pki';

interface Reply {
  status: number;
  body: any;
}

function request(url: string, options: { cert?: Issued; ca: Buffer; method?: string; body?: unknown }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        cert: options.cert?.cert,
        key: options.cert?.key,
        headers: { 'A2A-Version': '1.0', ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('transport-a2a with mTLS', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let client: Issued;
  let gateway: Gateway;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'a2a-mtls-'));
    ca = createCa(dir, 'ca');
    const server = ca.issue('server', {
      altNames: [
        ['DNS', 'localhost'],
        ['IP', '127.0.0.1'],
      ],
      serverAuth: true,
    });
    client = ca.issue('client', { altNames: [['URI', 'spiffe://example.org/agent/client-1']] });
    gateway = await startGateway({
      logLevel: 'silent',
      cwd: dir,
      config: {
        gateway: { dataDir: path.join(dir, 'data'), processMetrics: false },
        plugins: [
          'registry-memory',
          'router-embedded',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          { use: 'transport-a2a', options: { host: '127.0.0.1', port: 0, tls: true } },
          {
            use: 'auth-standard',
            options: {
              mtls: { certFile: server.certFile, keyFile: server.keyFile, caFile: ca.certFile, trustDomain: 'example.org' },
              policy: {
                identities: [{ id: 'spiffe://example.org/agent/client-1' }],
                rbac: {
                  roles: { user: [{ actions: ['request'], resources: ['mt-1'] }] },
                  bindings: [{ role: 'user', identities: ['spiffe://example.org/agent/client-1'] }],
                },
              },
            },
          },
        ],
      },
    });
    base = `https://${gateway.transports()[1].addresses()[0]}`;
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop('test finished');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the certificate is the identity: allowed where the policy allows, refused elsewhere', async () => {
    const card = await request(`${base}/.well-known/agent-card.json`, { cert: client, ca: ca.cert });
    expect(card.status).toBe(200);
    expect(card.body.securitySchemes.mtls).toEqual({ mtlsSecurityScheme: expect.objectContaining({ description: expect.any(String) }) });
    expect(card.body.securityRequirements).toEqual([{ schemes: { mtls: {} } }]);

    const allowed = await request(`${base}/agents/mt-1/`, {
      cert: client,
      ca: ca.cert,
      method: 'POST',
      body: { jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} },
    });
    expect(allowed.body.result).toMatchObject({ tasks: [] });
    const refused = await request(`${base}/agents/other-1/`, {
      cert: client,
      ca: ca.cert,
      method: 'POST',
      body: { jsonrpc: '2.0', id: 2, method: 'ListTasks', params: {} },
    });
    expect(refused.body.error).toMatchObject({
      code: -32057,
      message: expect.stringContaining('spiffe://example.org/agent/client-1" may not request "other-1"'),
    });
  });

  test('without a client certificate the TLS handshake is refused', async () => {
    await expect(request(`${base}/.well-known/agent-card.json`, { ca: ca.cert })).rejects.toThrow();
  });
});
