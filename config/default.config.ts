/**
 * The embedded defaults: what `npm start` runs when no gateway.config.* is found. Everything is
 * in-process and needs no external server: in-memory registry, embedded router with an lmdb store
 * under ./data, open auth (loopback only, with a warning), gRPC on 127.0.0.1:7400 and a Unix
 * socket, and the monitor on 127.0.0.1:9464 (/metrics, /healthz, /readyz, dashboard at /).
 */
import path from 'node:path';
import { defineConfig } from '../kernel/config/types';

// Relative to where the operator runs the gateway, not to this file inside the package.
const dataDir = path.resolve(process.env.OPENCLAW_DATA_DIR ?? 'data');

export default defineConfig({
  gateway: {
    dataDir,
    drainTimeoutMs: 10_000,
  },
  plugins: [
    'registry-memory',
    'router-embedded',
    { use: 'auth-standard', options: {} },
    {
      use: 'transport-grpc',
      options: {
        listen: [
          { host: '127.0.0.1', port: Number(process.env.OPENCLAW_GRPC_PORT ?? 7400) },
          { socket: path.resolve(process.env.OPENCLAW_SOCKET ?? path.join(dataDir, 'gateway.sock')) },
        ],
      },
    },
    { use: 'monitor-prometheus', options: { host: '127.0.0.1', port: Number(process.env.OPENCLAW_MONITOR_PORT ?? 9464) } },
  ],
});
