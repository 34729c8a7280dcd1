/**
 * Auth is swappable: the example third-party package `@openclaw-examples/auth-apikey` is installed
 * into a temp project's node_modules (copied, as npm installs a tarball), referenced BY PACKAGE NAME
 * from that project's gateway.config.json, and exercised over real gRPC.
 */
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startGateway, type Gateway } from '../../index';
import { GatewayConnection, statusOf } from './grpc-client';
import { rejectionOf, tempDir } from './harness';

const repoRoot = path.resolve(__dirname, '../..');
const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * A temp project with the example package installed. Its peer dependency `openclaw-gateway` is this
 * repository: the built package when `dist/` exists, otherwise a one-line entry re-exporting the
 * kernel sources (what `main` points at once built), so the plugin and the gateway share one kernel.
 */
function projectWithPackage(): string {
  const project = tempDir('auth-apikey-');
  const scope = path.join(project, 'node_modules', '@openclaw-examples');
  mkdirSync(scope, { recursive: true });
  cpSync(path.join(repoRoot, 'examples', 'auth-apikey'), path.join(scope, 'auth-apikey'), { recursive: true });
  const gatewayPackage = path.join(project, 'node_modules', 'openclaw-gateway');
  if (existsSync(path.join(repoRoot, 'dist', 'kernel', 'index.js'))) {
    symlinkSync(repoRoot, gatewayPackage, 'dir');
  } else {
    mkdirSync(gatewayPackage);
    writeFileSync(path.join(gatewayPackage, 'package.json'), JSON.stringify({ name: 'openclaw-gateway', main: 'index.js' }));
    writeFileSync(path.join(gatewayPackage, 'index.js'), `module.exports = require(${JSON.stringify(path.join(repoRoot, 'kernel'))});\n`);
  }
  return project;
}

function metadataWithKey(key: string): Metadata {
  const metadata = new Metadata();
  metadata.set('x-api-key', key);
  return metadata;
}

describe('third-party auth plugin loaded by package name', () => {
  const builderKey = 'k-builder-7f3a1c';
  const watcherKey = 'k-watcher-90b2de';
  let project: string;
  let gateway: Gateway;
  let address: string;
  const connections: GatewayConnection[] = [];

  const connect = (key?: string): GatewayConnection => {
    const connection = new GatewayConnection(address, credentials.createInsecure(), key ? metadataWithKey(key) : new Metadata());
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    project = projectWithPackage();
    writeFileSync(
      path.join(project, 'gateway.config.json'),
      JSON.stringify({
        gateway: { dataDir: './data', processMetrics: false },
        plugins: [
          'registry-memory',
          'router-embedded',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          {
            use: '@openclaw-examples/auth-apikey',
            options: {
              keys: [
                {
                  id: 'builder',
                  sha256: sha256(builderKey),
                  services: ['builder'],
                  permissions: [{ actions: ['publish', 'subscribe'], resources: ['builds.>'] }],
                },
                { id: 'watcher', sha256: sha256(watcherKey), permissions: [{ actions: ['subscribe'], resources: ['builds.*'] }] },
              ],
            },
          },
        ],
      }),
    );
    gateway = await startGateway({ cwd: project, logLevel: 'silent' });
    address = gateway.transports()[0].addresses()[0]!;
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await gateway?.stop();
  });

  test('the package is resolved from the project by name and provides the auth service', () => {
    const summary = gateway.plugins().find((plugin) => plugin.kind === 'auth')!;
    expect(summary).toMatchObject({ name: 'auth-apikey', version: '1.0.0', source: 'npm:@openclaw-examples/auth-apikey' });
    expect(gateway.service('auth')!.loopbackOnly()).toBe(true);
  });

  test('a valid key registers its service and publishes within its grant', async () => {
    const builder = connect(builderKey);
    expect((await builder.register('builder-1', 'builder')).agentId).toBe('builder-1');
    await expect(builder.publish('builds.linux', 'ok')).resolves.toBeDefined();
  });

  test('refusals carry the plugin’s GatewayError codes through the transport', async () => {
    const missing = await statusOf(connect().register('x', 'builder'));
    expect(missing.code).toBe(status.UNAUTHENTICATED);
    expect(missing.details).toContain('metadata "x-api-key" is required');

    const unknown = await statusOf(connect('not-a-key').register('x', 'builder'));
    expect(unknown.code).toBe(status.UNAUTHENTICATED);
    expect(unknown.details).toContain('unknown API key');

    const spoof = await statusOf(connect(watcherKey).register('fake-builder', 'builder'));
    expect(spoof.code).toBe(status.PERMISSION_DENIED);
    expect(spoof.details).toContain('may not register as service "builder"');

    const publish = await statusOf(connect(watcherKey).publish('builds.linux', 'x'));
    expect(publish.code).toBe(status.PERMISSION_DENIED);
  });

  test('a malformed key hash in the options is reported against the package’s own schema', async () => {
    const other = projectWithPackage();
    const error = await rejectionOf(
      startGateway({
        cwd: other,
        logLevel: 'silent',
        config: {
          plugins: [
            'registry-memory',
            'router-embedded',
            { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
            { use: '@openclaw-examples/auth-apikey', options: { keys: [{ id: 'x', sha256: 'short' }] } },
          ],
        },
      }),
    );
    expect(error.code).toBe('GW_CONFIG_INVALID');
    expect(error.message).toContain('/plugins/3/options/keys/0/sha256');
  });
});
