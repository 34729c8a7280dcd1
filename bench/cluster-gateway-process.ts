/**
 * One cluster gateway under test, in its own process: `registry-nats` + `router-nats` on a shared
 * NATS prefix, `auth-standard` (open) and `transport-grpc` on a loopback port. Like
 * gateway-process.ts it reports its address when ready and its own CPU time and RSS on request
 * (server-ipc.ts), so the cluster scenario can give CPU per message of the gateways alone and
 * `--profile` writes their V8 profiles.
 */
import { startGateway } from '../index';
import { failStartup, serveHarness } from './server-ipc';

export interface ClusterGatewayProcessConfig {
  natsUrl: string;
  prefix: string;
  gatewayId: string;
  dataDir: string;
  router?: Record<string, unknown>;
  transport?: Record<string, unknown>;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as ClusterGatewayProcessConfig;
  const nats = { servers: [options.natsUrl], prefix: options.prefix };
  const started = performance.now();
  const gateway = await startGateway({
    config: {
      gateway: { id: options.gatewayId, dataDir: options.dataDir, logLevel: 'error', drainTimeoutMs: 3_000, processMetrics: false },
      plugins: [
        { use: 'registry-nats', options: nats },
        { use: 'router-nats', options: { ...nats, ...options.router } },
        'auth-standard',
        {
          use: 'transport-grpc',
          options: { listen: [{ host: '127.0.0.1', port: 0 }], health: false, reflection: false, ...options.transport },
        },
      ],
    },
    cwd: options.dataDir,
    logLevel: 'error',
  });
  const startMs = performance.now() - started;
  const address = gateway
    .transports()[0]
    ?.addresses()
    .find((entry) => !entry.startsWith('unix:'));
  if (!address) throw new Error('the gateway started without a listening transport address');
  serveHarness({ address: address.replace(/^(dns|ipv4|ipv6):(\/\/\/)?/, ''), startMs }, () => gateway.stop('benchmark finished'));
}

main().catch(failStartup);
