/**
 * A single production gateway:
 *
 * - **mTLS** on every listener: clients present a certificate chaining to the CA, their identity is
 *   the certificate's SPIFFE URI SAN in `example.org`.
 * - **RBAC** from a policy file, watched and swapped live (`docs/auth.md`); admin actions, policy
 *   changes and pushes are written to an audit log.
 * - **Durable router**: at-least-once messages in lmdb under `<dataDir>/router-embedded/`, synced
 *   before the publisher's call returns; least-in-flight balancing; tight limits with explicit
 *   overflow policies (`docs/router.md`, backups in `docs/operations.md`).
 * - **Sandbox**: managed agents run in bubblewrap namespaces (`sandbox-bubblewrap`).
 * - **Monitoring** on loopback (scrape it through a local agent or a reverse proxy).
 *
 * Paths are relative to this file unless absolute; set OPENCLAW_ETC to move them all.
 */
import path from 'node:path';
import { defineConfig } from '../../kernel';

const etc = process.env.OPENCLAW_ETC ?? '/etc/openclaw';

export default defineConfig({
  gateway: {
    id: process.env.OPENCLAW_GATEWAY_ID ?? 'gw-prod-1',
    dataDir: process.env.OPENCLAW_DATA_DIR ?? '/var/lib/openclaw',
    // Long enough for in-flight requests to finish and durable messages to be acked on shutdown.
    drainTimeoutMs: 30_000,
    logLevel: 'info',
    logFormat: 'json',
  },
  plugins: [
    { use: 'registry-memory', options: { defaultLeaseTtlMs: 15_000, maxInstances: 50_000 } },
    {
      use: 'router-embedded',
      options: {
        strategy: 'least-in-flight',
        maxPayloadBytes: 1024 * 1024,
        subscriberQueue: { maxEvents: 2048, policy: 'disconnect' },
        durable: { ackTimeoutMs: 30_000, maxAttempts: 8, backoffBaseMs: 1000, backoffMaxMs: 60_000 },
        offlineInbox: { maxMessages: 50_000, maxBytes: 256 * 1024 * 1024, policy: 'reject' },
        dedupe: { windowMs: 15 * 60_000 },
        storeMapSizeBytes: 8 * 1024 * 1024 * 1024,
      },
    },
    {
      use: 'auth-standard',
      options: {
        mtls: {
          certFile: path.join(etc, 'tls/server.pem'),
          keyFile: path.join(etc, 'tls/server.key'),
          caFile: path.join(etc, 'tls/ca.pem'),
          requireClientCert: true,
          identityMode: 'spiffe',
          trustDomain: 'example.org',
        },
        policyFile: path.join(etc, 'policy.json'),
        auditFile: process.env.OPENCLAW_AUDIT_FILE ?? '/var/log/openclaw/audit.jsonl',
        failureLimit: { maxFailures: 10, windowMs: 60_000, lockoutMs: 300_000 },
      },
    },
    {
      use: 'transport-grpc',
      options: {
        listen: [
          { host: '0.0.0.0', port: 7400 },
          // Sandboxed agents without network reach the gateway here.
          { socket: '/run/openclaw/gateway.sock' },
        ],
        maxMessageBytes: 2 * 1024 * 1024,
        maxSubscribeStreams: 20_000,
      },
    },
    'sandbox-bubblewrap',
    { use: 'monitor-prometheus', options: { host: '127.0.0.1', port: 9464 } },
  ],
});
