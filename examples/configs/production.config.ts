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
 * - **Managed agents** under the `supervisor`, each in its own bubblewrap sandbox
 *   (`sandbox-bubblewrap`): no network (they reach the gateway over its Unix socket), only their
 *   own code and client certificate visible, memory/CPU/file limits, restarted with backoff,
 *   quarantined on a crash loop, upgraded one replica at a time (`docs/supervisor.md`).
 * - **Monitoring** on loopback (scrape it through a local agent or a reverse proxy).
 *
 * Paths are relative to this file unless absolute; set OPENCLAW_ETC to move them all.
 */
import path from 'node:path';
import { defineConfig } from 'openclaw-gateway';

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
        durable: { ackTimeoutMs: 30_000, maxAttempts: 8, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxStoreBytes: 8 * 1024 * 1024 * 1024 },
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
          { host: '0.0.0.0', port: Number(process.env.OPENCLAW_GRPC_PORT ?? 7400) },
          // Sandboxed agents without network reach the gateway here.
          { socket: process.env.OPENCLAW_SOCKET ?? '/run/openclaw/gateway.sock' },
        ],
        maxMessageBytes: 2 * 1024 * 1024,
        maxSubscribeStreams: 20_000,
      },
    },
    'sandbox-bubblewrap',
    {
      use: 'supervisor',
      options: {
        agents: [
          {
            id: 'summarizer',
            command: '/usr/bin/python3',
            args: ['/opt/agents/summarizer/main.py'],
            cwd: '/opt/agents/summarizer',
            version: '1.4.0',
            replicas: 3,
            capabilities: ['summarize'],
            // The agent's client certificate: its SPIFFE identity under mTLS on the socket too.
            env: {
              OPENCLAW_TLS_CERT: path.join(etc, 'agents/summarizer/cert.pem'),
              OPENCLAW_TLS_KEY: path.join(etc, 'agents/summarizer/key.pem'),
              OPENCLAW_TLS_CA: path.join(etc, 'tls/ca.pem'),
            },
            sandbox: {
              readOnlyPaths: ['/opt/agents/summarizer', path.join(etc, 'agents/summarizer'), path.join(etc, 'tls/ca.pem')],
              readWritePaths: [],
              network: false,
              envAllowList: ['LANG', 'TZ'],
              limits: { memoryBytes: 2 * 1024 ** 3, cpuSeconds: 3600, openFiles: 1024 },
            },
            restart: { policy: 'always', crashLoop: { maxRestarts: 5, windowMs: 60_000 } },
            health: { probeIntervalMs: 5_000, probeTimeoutMs: 2_000, failureThreshold: 3, maxRssBytes: 1536 * 1024 ** 2 },
            stopTimeoutMs: 20_000,
          },
        ],
      },
    },
    { use: 'monitor-prometheus', options: { host: '127.0.0.1', port: Number(process.env.OPENCLAW_MONITOR_PORT ?? 9464) } },
  ],
});
