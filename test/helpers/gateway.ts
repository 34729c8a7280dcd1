/**
 * `startTestGateway()`: a real gateway for tests, with the gRPC transport on a loopback port
 * (port 0 unless given) and a Unix socket in a temp dir, and a temp dataDir.
 *
 * ```ts
 * const gw = await startTestGateway({ plugins: { auth: { use: 'auth-standard', options: {...} } } });
 * const client = new GatewayServiceClient(gw.address, credentials.createInsecure());
 * ...
 * await gw.stop(); // stops the gateway and removes the temp dirs it created
 * ```
 *
 * The registry, router and auth kinds use the built-ins (`registry-memory`, `router-embedded`,
 * `auth-standard` in open mode); override any kind with `plugins`, add more with `extraPlugins`.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startGateway, type Gateway, type GatewaySettings, type PluginEntry } from '../../index';
import { tempDir } from './temp-dir';

export type OverridableKind = 'registry' | 'router' | 'auth';

export interface TestGatewayOptions {
  /** Replace the plugin used for a kind (`false` leaves it out, e.g. to test a missing kind). */
  plugins?: Partial<Record<OverridableKind, PluginEntry | false>>;
  /** More plugins (supervisor, monitor...). */
  extraPlugins?: PluginEntry[];
  /** Options of transport-grpc, merged over the test defaults. */
  transport?: Record<string, unknown>;
  /** Reuse a dataDir (e.g. across a restart); a temp one otherwise. */
  dataDir?: string;
  /** Fixed TCP port (to restart a gateway on the same port); 0 by default. */
  port?: number;
  /** Fixed Unix socket path; a temp one otherwise. */
  socketPath?: string;
  gateway?: GatewaySettings;
}

export interface TestGateway {
  gateway: Gateway;
  /** `127.0.0.1:<port>`, ready for a grpc-js client. */
  address: string;
  port: number;
  /** Unix socket path; the grpc target is `unix:${socketPath}`. */
  socketPath: string;
  dataDir: string;
  stop(): Promise<void>;
}

const DEFAULT_PLUGINS: Record<OverridableKind, PluginEntry> = {
  registry: 'registry-memory',
  router: 'router-embedded',
  // No mtls/jwt options: open mode (anonymous identity, loopback listeners only).
  auth: 'auth-standard',
};

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const ownDataDir = options.dataDir === undefined;
  // Also removed after the test file when a test never calls stop() or the start fails.
  const dataDir = options.dataDir ?? tempDir('ocgw-data-');
  const socketDir = options.socketPath === undefined ? tempDir('ocgw-s-') : undefined;
  const socketPath = options.socketPath ?? path.join(socketDir!, 'gw.sock');

  const plugins: PluginEntry[] = [];
  for (const kind of ['registry', 'router', 'auth'] as const) {
    const override = options.plugins?.[kind];
    if (override === false) continue;
    plugins.push(override ?? DEFAULT_PLUGINS[kind]);
  }
  plugins.push({
    use: 'transport-grpc',
    options: {
      listen: [{ host: '127.0.0.1', port: options.port ?? 0 }, { socket: socketPath }],
      ...options.transport,
    },
  });
  plugins.push(...(options.extraPlugins ?? []));

  const gateway = await startGateway({
    config: { gateway: { dataDir, drainTimeoutMs: 3000, processMetrics: false, ...options.gateway }, plugins },
    logLevel: 'silent',
  });
  const tcp = gateway
    .transports()[0]
    .addresses()
    .find((address) => !address.startsWith('unix:'));
  if (!tcp) throw new Error('the transport reported no TCP address');
  const port = Number(tcp.slice(tcp.lastIndexOf(':') + 1));
  return {
    gateway,
    address: tcp,
    port,
    socketPath,
    dataDir,
    async stop() {
      await gateway.stop('test finished');
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
      if (socketDir) await rm(socketDir, { recursive: true, force: true });
    },
  };
}
