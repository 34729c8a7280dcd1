/**
 * The gateway under test, in its own process: the real kernel (`startGateway`) with the built-in
 * registry, router, auth and gRPC transport plugins, listening on a loopback port. It reports its
 * address when ready and its own CPU time and RSS on request (see server-ipc.ts).
 *
 * argv[2] is a JSON {@link GatewayProcessConfig}; scenarios raise the limits they need (10,000
 * sessions, 100,000 pending durable messages) and nothing else, so the numbers are the defaults'.
 */
import type { GatewayConfig, startGateway as StartGateway } from '../index';
import { failStartup, serveHarness } from './server-ipc';

export interface GatewayProcessConfig {
  dataDir: string;
  host?: string;
  registry?: Record<string, unknown>;
  router?: Record<string, unknown>;
  transport?: Record<string, unknown>;
  /** Adds monitor-prometheus (its metrics endpoint on an ephemeral port). */
  monitor?: boolean;
}

export function gatewayConfig(options: GatewayProcessConfig): GatewayConfig {
  return {
    gateway: { dataDir: options.dataDir, logLevel: 'error', logFormat: 'json', drainTimeoutMs: 5_000 },
    plugins: [
      { use: 'registry-memory', options: options.registry ?? {} },
      { use: 'router-embedded', options: options.router ?? {} },
      'auth-standard',
      {
        use: 'transport-grpc',
        options: {
          listen: [{ host: options.host ?? '127.0.0.1', port: 0 }],
          health: false,
          reflection: false,
          ...options.transport,
        },
      },
      ...(options.monitor ? [{ use: 'monitor-prometheus', options: { listen: { host: '127.0.0.1', port: 0 } } }] : []),
    ],
  };
}

/**
 * `BENCH_GATEWAY_BUILD=1` runs the gateway from the compiled build (`npm run build` → dist/)
 * instead of through tsx: tsx's transforms (`__name` wrappers on closures, getters for
 * re-exports) cost the gateway's own code more than the raw baseline's, so this tells how much of
 * a ratio is the loader. The bench entry itself is still loaded by tsx.
 */
function loadStartGateway(): typeof StartGateway {
  if (process.env.BENCH_GATEWAY_BUILD === '1') return (require('../dist/index') as { startGateway: typeof StartGateway }).startGateway;
  return (require('../index') as { startGateway: typeof StartGateway }).startGateway;
}

async function main(): Promise<void> {
  const startGateway = loadStartGateway();
  const options = JSON.parse(process.argv[2] ?? '{}') as GatewayProcessConfig;
  const started = performance.now();
  const gateway = await startGateway({ config: gatewayConfig(options), cwd: options.dataDir, logLevel: 'error' });
  const startMs = performance.now() - started;
  const address = gateway.transports()[0]?.addresses()[0];
  if (!address) throw new Error('the gateway started without a listening transport address');
  serveHarness({ address: address.replace(/^(dns|ipv4|ipv6):(\/\/\/)?/, ''), startMs }, () => gateway.stop('benchmark finished'));
}

main().catch(failStartup);
