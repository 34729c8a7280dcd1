/**
 * The embedded defaults: what `npm start` runs when no gateway.config.* is found. Everything is
 * in-process and needs no external server: in-memory registry, embedded router with an lmdb store
 * under ./data, open auth (loopback only, with a warning), gRPC on 127.0.0.1:7400 and a Unix
 * socket, A2A (Agent2Agent) on 127.0.0.1:7401, and the monitor on 127.0.0.1:9464 (/metrics, /healthz, /readyz, dashboard at /).
 *
 * Plus the demo (examples/demo): a planner, two load-balanced workers and a logger run as managed
 * agents under the supervisor, sandboxed with bubblewrap when it is installed. `OPENCLAW_DEMO=0`
 * leaves it out.
 */
import path from 'node:path';
import { defineConfig, type PluginEntry } from '../kernel/config/types';
import { BUILTIN_PLUGINS } from '../plugins';
import { demoAgents } from '../examples/demo/agents';

// Relative to where the operator runs the gateway, not to this file inside the package.
const dataDir = path.resolve(process.env.OPENCLAW_DATA_DIR ?? 'data');
const socketPath = path.resolve(process.env.OPENCLAW_SOCKET ?? path.join(dataDir, 'gateway.sock'));

/** The demo's sandbox and supervisor entries; none when turned off or the plugins are not installed. */
function demoPlugins(): PluginEntry[] {
  if (process.env.OPENCLAW_DEMO === '0') return [];
  const demo = demoAgents({ socketPath });
  if (!BUILTIN_PLUGINS.supervisor || !BUILTIN_PLUGINS[demo.sandbox]) return [];
  return [demo.sandbox, { use: 'supervisor', options: demo.supervisor }];
}

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
        listen: [{ host: '127.0.0.1', port: Number(process.env.OPENCLAW_GRPC_PORT ?? 7400) }, { socket: socketPath }],
      },
    },
    { use: 'transport-a2a', options: { host: '127.0.0.1', port: Number(process.env.OPENCLAW_A2A_PORT ?? 7401) } },
    { use: 'monitor-prometheus', options: { host: '127.0.0.1', port: Number(process.env.OPENCLAW_MONITOR_PORT ?? 9464) } },
    ...demoPlugins(),
  ],
});
