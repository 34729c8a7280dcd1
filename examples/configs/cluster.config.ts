/**
 * One gateway of a cluster: every gateway runs this file (with its own OPENCLAW_GATEWAY_ID) and
 * they share the registry and the message flow through NATS with JetStream. An agent connects to
 * any gateway and reaches agents connected to the others; durable messages live in JetStream, so
 * a gateway can be replaced without losing them.
 *
 *     OPENCLAW_GATEWAY_ID=gw-a OPENCLAW_NATS=nats://10.0.0.5:4222 npx openclaw-gateway start -c examples/configs/cluster.config.ts
 *
 * NATS must run with JetStream enabled (`nats-server -js`); `replicas` should match the number of
 * NATS servers in a NATS cluster (1 for a single server). See `docs/cluster.md`.
 */
import { defineConfig } from 'openclaw-gateway';

const servers = (process.env.OPENCLAW_NATS ?? 'nats://127.0.0.1:4222').split(',');
const replicas = Number(process.env.OPENCLAW_NATS_REPLICAS ?? 1);
// Every gateway of one cluster uses the same prefix; another cluster on the same NATS uses its own.
const prefix = process.env.OPENCLAW_NATS_PREFIX ?? 'openclaw';

export default defineConfig({
  gateway: {
    id: process.env.OPENCLAW_GATEWAY_ID ?? 'gw-a',
    dataDir: process.env.OPENCLAW_DATA_DIR ?? './data',
    drainTimeoutMs: 15_000,
  },
  plugins: [
    { use: 'registry-nats', options: { servers, replicas, prefix } },
    { use: 'router-nats', options: { servers, prefix, durable: { replicas } } },
    'auth-standard',
    {
      use: 'transport-grpc',
      options: { listen: [{ host: '127.0.0.1', port: Number(process.env.OPENCLAW_GRPC_PORT ?? 7400) }] },
    },
    { use: 'monitor-prometheus', options: { host: '127.0.0.1', port: Number(process.env.OPENCLAW_MONITOR_PORT ?? 9464) } },
  ],
});
